package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/sandbox"
)

// Extract writes the tree of commit into dst (which must not exist yet),
// as plain files without a .git directory: `git archive` streamed into
// sandbox.ExtractTar, so the repository itself is left untouched and
// nothing is written outside dst, whatever the tree holds.
func (r *Repo) Extract(ctx context.Context, commit, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", commit)
	cmd.Dir = r.Dir()
	cmd.Env = baseEnv(nil)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := cmd.Start(); err != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("cannot run git archive in %s: %w", r.Dir(), err))
	}
	xerr := sandbox.ExtractTar(out, dst, sandbox.Limits{})
	if xerr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	if werr != nil {
		return errkind.Wrap(errkind.Infra, &CommandError{Args: cmd.Args, Dir: r.Dir(), Stderr: strings.TrimSpace(stderr.String()), Err: werr})
	}
	if xerr != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("extracting %s of %s: %w", commit, r.Dir(), xerr))
	}
	return nil
}

// ChangedFiles lists the paths that differ between two commits.
func (r *Repo) ChangedFiles(ctx context.Context, from, to string) ([]string, error) {
	out, err := r.Git(ctx, "diff", "--name-only", "--no-renames", "-z", from, to, "--")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range strings.Split(out, "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return files, nil
}

// MergeBase returns the best common ancestor of two commits, or "" when
// they share none.
func (r *Repo) MergeBase(ctx context.Context, a, b string) (string, error) {
	out, err := git(ctx, r.Dir(), nil, "merge-base", a, b)
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && len(out) == 0 {
			return "", nil
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// CommitTime returns the committer time of commit as a Unix timestamp.
func (r *Repo) CommitTime(ctx context.Context, commit string) (int64, error) {
	out, err := r.Git(ctx, "show", "-s", "--format=%ct", commit)
	if err != nil {
		return 0, err
	}
	var t int64
	_, err = fmt.Sscan(out, &t)
	return t, err
}
