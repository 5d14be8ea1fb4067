// Package gitrepo is the only part of cascade that runs git. It opens local
// repositories in place, mirrors remote ones into a cache, resolves refs to
// commit ids (reading ref files directly where it safely can) and reads
// objects through one long-lived `git cat-file --batch` per repository, so
// that nothing needs a checkout.
package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// CommandError is a git command that failed: its argv, directory and the
// tail of what it wrote to stderr.
type CommandError struct {
	Args   []string
	Dir    string
	Stderr string
	Err    error
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("%s (in %s): %v", strings.Join(e.Args, " "), e.Dir, e.Err)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }

const stderrTail = 2000

// baseEnv is the environment for every git command cascade runs: the user's
// own (git may need their credentials to fetch a mirror), with prompts off
// and messages in a stable language.
func baseEnv(extra []string) []string {
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_OPTIONAL_LOCKS=0")
	return append(env, extra...)
}

// git runs git with args in dir and returns its stdout.
func git(ctx context.Context, dir string, extraEnv []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = baseEnv(extraEnv)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tail := strings.TrimSpace(stderr.String())
		if len(tail) > stderrTail {
			tail = "..." + tail[len(tail)-stderrTail:]
		}
		cerr := &CommandError{Args: append([]string{"git"}, args...), Dir: dir, Stderr: tail, Err: err}
		if _, ok := err.(*exec.ExitError); !ok {
			return nil, errkind.Wrap(errkind.Infra, fmt.Errorf("cannot run git; is it installed and on PATH? %w", cerr))
		}
		return stdout.Bytes(), errkind.Wrap(errkind.Infra, cerr)
	}
	return stdout.Bytes(), nil
}
