package gitrepo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/sandbox"
)

// craftedCommit makes a commit whose tree holds a link zz -> target and a
// directory zz/ with a file in it: a tree git itself never writes, which
// a naive extraction follows out of its directory.
func craftedCommit(t *testing.T, dir, target string) string {
	t.Helper()
	git := func(stdin string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	link := git(target, "hash-object", "-w", "--stdin")
	file := git("pwned\n", "hash-object", "-w", "--stdin")
	sub := git("100644 blob "+file+"\tpwned\n", "mktree")
	tree := git("120000 blob "+link+"\tzz\n040000 tree "+sub+"\tzz\n100644 blob "+file+"\tREADME\n", "mktree", "--missing")
	return git("", "commit-tree", tree, "-m", "crafted")
}

func TestExtractCraftedTreeWritesNothingOutside(t *testing.T) {
	w := newRepo(t, map[string]string{"README": "hi\n"})
	outside := t.TempDir()
	commit := craftedCommit(t, w.Repo.Dir(), outside)
	dst := filepath.Join(t.TempDir(), "tree")
	err := w.Repo.Extract(context.Background(), commit, dst)
	if !errors.Is(err, sandbox.ErrUnsafeTree) {
		t.Errorf("Extract = %v, want an unsafe-tree error", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("Extract wrote %s outside its tree", entries[0].Name())
	}
}
