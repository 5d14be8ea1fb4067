package gomod

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSameModule(t *testing.T) {
	for _, c := range []struct{ known, other, want string }{
		{"example.com/m", "example.com/m/v2", "example.com/m/v2"},
		{"example.com/m/v2", "example.com/m/v3", "example.com/m/v3"},
		{"example.com/m/v2", "example.com/m", "example.com/m"},
		{"example.com/m", "example.com/other/v2", "example.com/m"},
		{"example.com/m", "example.com/m/sub", "example.com/m"},
		{"gopkg.in/yaml.v2", "gopkg.in/yaml.v3", "gopkg.in/yaml.v2"},
	} {
		if got := SameModule(c.known, c.other); got != c.want {
			t.Errorf("SameModule(%q, %q) = %q, want %q", c.known, c.other, got, c.want)
		}
	}
}

func TestPathAt(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m/v2\n\ngo 1.22\n")
	write("sub/go.mod", "module example.com/elsewhere\n")
	if got := PathAt(root, ".", "example.com/m"); got != "example.com/m/v2" {
		t.Errorf("moved to v2: %q", got)
	}
	if got := PathAt(root, "sub", "example.com/m/sub"); got != "example.com/m/sub" {
		t.Errorf("renamed to another module: %q, want the known path", got)
	}
	if got := PathAt(root, "missing", "example.com/x"); got != "example.com/x" {
		t.Errorf("no go.mod: %q", got)
	}
	os.MkdirAll(filepath.Join(root, "l"), 0o755)
	os.Symlink(filepath.Join(root, "go.mod"), filepath.Join(root, "l", "go.mod"))
	if got := PathAt(root, "l", "example.com/m"); got != "example.com/m" {
		t.Errorf("a go.mod that is a link is followed: %q", got)
	}
}
