// Package gitrepo is the only part of cascade that runs git. It opens local
// repositories in place, mirrors remote ones into a cache, resolves refs to
// commit ids (reading ref files directly where it safely can) and reads
// objects through one long-lived `git cat-file --batch-command` per
// repository, so that nothing needs a checkout.
//
// Every git command line is built by newCommand: values from users and
// files (refs, commit ids, paths, URLs) are checked first (CheckRev,
// CheckCommitID, CheckPath, CheckURL) and placed after --end-of-options, so
// none can become an option. Files are read from git objects by path,
// through the trees, without following symbolic links.
package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/trace"
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

// allowedProtocols are the transports git may use to clone or fetch: not
// ext:: or fd::, which run commands.
const allowedProtocols = "GIT_ALLOW_PROTOCOL=file:git:http:https:ssh"

// baseEnv is the environment for every git command cascade runs: the user's
// own (git may need their credentials to fetch a mirror), with prompts off,
// messages in a stable language and only the ordinary transports allowed.
func baseEnv(extra []string) []string {
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_OPTIONAL_LOCKS=0", allowedProtocols)
	return append(env, extra...)
}

// execCmd is the process for c, run in dir; every git process cascade
// starts is made here.
func execCmd(ctx context.Context, dir string, extraEnv []string, c command) *exec.Cmd {
	trace.Command(ctx, dir, append([]string{"git"}, c.args...)...)
	cmd := exec.CommandContext(ctx, "git", c.args...)
	cmd.Dir = dir
	cmd.Env = baseEnv(extraEnv)
	return cmd
}

// run runs c in dir and returns its stdout.
func run(ctx context.Context, dir string, extraEnv []string, c command) ([]byte, error) {
	args := c.args
	cmd := execCmd(ctx, dir, extraEnv, c)
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

// git builds the command (see newCommand) and runs it in dir.
func git(ctx context.Context, dir string, extraEnv []string, sub string, opts, operands []string) ([]byte, error) {
	c, err := newCommand(sub, opts, operands, nil)
	if err != nil {
		return nil, err
	}
	return run(ctx, dir, extraEnv, c)
}
