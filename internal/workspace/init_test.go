package workspace

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInitWritesAcceptedNames: init finds repos whose directory names
// cascade would refuse or that clash; what it writes, Load reads back, with
// every name valid and none twice.
func TestInitWritesAcceptedNames(t *testing.T) {
	dir := t.TempDir()
	for _, r := range []string{"a/api", "b/api", "c/my repo", "d/über-db", "e/_private", "f/api-2", "g/x:y"} {
		gitInit(t, filepath.Join(dir, r))
	}
	repos, err := FindRepos([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, FileName)
	if err := WriteFile(file, Render(dir, repos), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := Load(file)
	if err != nil {
		t.Fatalf("Load(what init wrote): %v", err)
	}
	var names []string
	for _, r := range ws.Repos {
		names = append(names, r.Name)
	}
	want := []string{"api", "api-3", "my-repo", "ber-db", "private", "api-2", "x-y"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("names mismatch (-want +got):\n%s", diff)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"clever-db": "clever-db", "My Repo!": "My-Repo", "...": "repo", "-x-": "x", "a..b": "a..b", "日本": "repo"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
