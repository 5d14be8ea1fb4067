package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplaceOthersStaysInTheTree: the performance gate rewrites the
// go.mod files of a head's tree before it benchmarks it, outside the
// sandbox. A go.mod that is a link out of the tree (or a pipe) is an
// error, and the file it points at is left as it was.
func TestReplaceOthersStaysInTheTree(t *testing.T) {
	base := t.TempDir()
	victim := filepath.Join(base, "victim", "go.mod")
	const orig = "module    example.com/victim\n\ngo    1.22\n"
	if err := os.MkdirAll(filepath.Dir(victim), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(base, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "go.mod"), []byte("module example.com/head\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../victim/go.mod", filepath.Join(tree, "x", "go.mod")); err != nil {
		t.Fatal(err)
	}
	err := replaceOthers(tree, "head", []withModule{{repo: "other", path: "example.com/other", dir: "/slot/other"}})
	if err == nil || !strings.Contains(err.Error(), "x/go.mod") {
		t.Errorf("replaceOthers = %v, want an error naming x/go.mod", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != orig {
		t.Errorf("the file outside the tree was rewritten:\n%s", b)
	}
}
