package gitrepo

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// Author is who a Writer records as author and committer.
type Author struct {
	Name  string
	Email string
}

// Writer makes commits in a work tree with a fixed identity and explicit
// dates, independent of the user's git configuration. cascade uses it to
// build the demo organisation and test fixtures.
type Writer struct {
	Repo   *Repo
	Author Author
}

func (w *Writer) env(when time.Time) []string {
	date := when.UTC().Format(time.RFC3339)
	return []string{
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_AUTHOR_NAME=" + w.Author.Name, "GIT_AUTHOR_EMAIL=" + w.Author.Email,
		"GIT_COMMITTER_NAME=" + w.Author.Name, "GIT_COMMITTER_EMAIL=" + w.Author.Email,
		"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date,
	}
}

// Init creates a git work tree at dir with branch as its initial branch.
func Init(ctx context.Context, dir, branch string, author Author) (*Writer, error) {
	if err := checkRefName("branch", branch); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	w := &Writer{Author: author}
	if _, err := git(ctx, dir, w.env(time.Unix(0, 0)), "init", []string{"--quiet", "--initial-branch=" + branch}, nil); err != nil {
		return nil, err
	}
	r, err := Open(dir)
	if err != nil {
		return nil, err
	}
	w.Repo = r
	return w, nil
}

func (w *Writer) git(ctx context.Context, when time.Time, sub string, opts, operands []string) (string, error) {
	out, err := git(ctx, w.Repo.Dir(), w.env(when), sub, opts, operands)
	return string(out), err
}

// CommitAll stages every change in the work tree and commits it at when,
// returning the new commit id.
func (w *Writer) CommitAll(ctx context.Context, when time.Time, message string) (string, error) {
	if _, err := w.git(ctx, when, "add", []string{"--all"}, nil); err != nil {
		return "", err
	}
	if _, err := w.git(ctx, when, "commit", []string{"--quiet", "--allow-empty", "--no-verify", "--message=" + message}, nil); err != nil {
		return "", err
	}
	return w.Repo.Resolve(ctx, "HEAD")
}

// Tag creates an annotated tag at HEAD.
func (w *Writer) Tag(ctx context.Context, when time.Time, name, message string) error {
	if err := checkRefName("tag", name); err != nil {
		return err
	}
	_, err := w.git(ctx, when, "tag", []string{"--annotate", "--message=" + message}, []string{name})
	return err
}

// Checkout switches the work tree to branch, creating it at HEAD when create is true.
func (w *Writer) Checkout(ctx context.Context, branch string, create bool) error {
	if err := checkRefName("branch", branch); err != nil {
		return err
	}
	var err error
	if create {
		_, err = w.git(ctx, time.Unix(0, 0), "switch", []string{"--quiet", "--create=" + branch}, nil)
	} else {
		_, err = w.git(ctx, time.Unix(0, 0), "switch", []string{"--quiet"}, []string{branch})
	}
	if err != nil {
		return fmt.Errorf("checkout %s: %w", branch, err)
	}
	return nil
}

// TagAt creates an annotated tag name at commit, recorded as by author. A
// tag that already points at commit is left as it is; one that points
// elsewhere is an error.
func (r *Repo) TagAt(ctx context.Context, name, commit, message string, author Author, when time.Time) error {
	if err := checkRefName("tag", name); err != nil {
		return err
	}
	if err := CheckCommitID(commit); err != nil {
		return err
	}
	if cur, err := r.Resolve(ctx, "refs/tags/"+name); err == nil {
		if cur == commit {
			return nil
		}
		return errkind.New(errkind.Conflict, "tag %s already exists at %s, not %s", name, cur[:12], commit[:12])
	}
	w := &Writer{Repo: r, Author: author}
	_, err := git(ctx, r.Dir(), w.env(when), "tag", []string{"--annotate", "--message=" + message}, []string{name, commit})
	return err
}
