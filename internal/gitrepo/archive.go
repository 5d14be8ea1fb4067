package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/sandbox"
)

// Extract writes the tree of commit into dst (which must not exist yet),
// as plain files without a .git directory: `git archive` streamed into
// sandbox.ExtractTar, so the repository itself is left untouched and
// nothing is written outside dst, whatever the tree holds. A tree with a
// manifest over MaxManifest bytes is refused before anything is extracted
// (see CheckManifests): what reads the tree afterwards (cascade, the go
// command, npm) would read it whole.
func (r *Repo) Extract(ctx context.Context, commit, dst string) error {
	if err := CheckRev(commit); err != nil {
		return err
	}
	if err := r.CheckManifests(ctx, commit); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return errkind.Wrap(errkind.Invalid, fmt.Errorf("repository %s: %w", r.Dir(), err))
		}
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	c, err := newCommand("archive", []string{"--format=tar"}, []string{commit}, nil)
	if err != nil {
		return err
	}
	xerr, err := r.streamOut(ctx, c, func(out io.Reader) error {
		return sandbox.ExtractTar(out, dst, sandbox.Limits{})
	})
	if err != nil {
		return err
	}
	if errors.Is(xerr, sandbox.ErrUnsafeTree) {
		// The repository's content is hostile or broken, not the machine:
		// bad input (exit 2), with the entry it refused.
		return errkind.Wrap(errkind.Invalid, fmt.Errorf("extracting %s of %s: %w", commit, r.Dir(), xerr))
	}
	if xerr != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("extracting %s of %s: %w", commit, r.Dir(), xerr))
	}
	return nil
}

// ChangedFiles lists the paths that differ between two commits (full
// commit ids).
func (r *Repo) ChangedFiles(ctx context.Context, from, to string) ([]string, error) {
	if err := checkCommitIDs(from, to); err != nil {
		return nil, err
	}
	c, err := newCommand("diff", []string{"--name-only", "--no-renames", "-z"}, []string{from, to}, []string{})
	if err != nil {
		return nil, err
	}
	raw, err := run(ctx, r.Dir(), nil, c)
	out := strings.TrimSpace(string(raw))
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

// MergeBase returns the best common ancestor of two commits (full commit
// ids), or "" when they share none.
func (r *Repo) MergeBase(ctx context.Context, a, b string) (string, error) {
	if err := checkCommitIDs(a, b); err != nil {
		return "", err
	}
	out, err := git(ctx, r.Dir(), nil, "merge-base", nil, []string{a, b})
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && len(out) == 0 {
			return "", nil
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// CommitTime returns the committer time of commit (a full commit id) as a
// Unix timestamp.
func (r *Repo) CommitTime(ctx context.Context, commit string) (int64, error) {
	if err := CheckCommitID(commit); err != nil {
		return 0, err
	}
	out, err := r.git(ctx, "show", []string{"-s", "--format=%ct"}, []string{commit})
	if err != nil {
		return 0, err
	}
	var t int64
	_, err = fmt.Sscan(out, &t)
	return t, err
}
