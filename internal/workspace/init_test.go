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

// TestDiscoverNamesLikeInit: repos found by a discover glob get the names
// init would write (made valid, numbered when taken, declared names kept),
// not their raw directory names ("my repo", "-x", an escape sequence).
func TestDiscoverNamesLikeInit(t *testing.T) {
	dir := t.TempDir()
	for _, r := range []string{"a/api", "b/api", "c/my repo", "c/über-db", "c/-opt", "c/x\x1b[31m", "c/api", "c/ok"} {
		gitInit(t, filepath.Join(dir, r))
	}
	file := filepath.Join(dir, FileName)
	data := "repos:\n  - path: ./a/api\n  - path: ./b/api\n    name: ok\ndiscover: [\"./c/*\"]\n"
	if err := WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range ws.Repos {
		rel, _ := filepath.Rel(dir, r.Path)
		got[rel] = r.Name
	}
	want := map[string]string{"a/api": "api", "b/api": "ok", "c/-opt": "opt", "c/api": "api-2", "c/my repo": "my-repo",
		"c/ok": "ok-2", "c/x\x1b[31m": "x-31m", "c/über-db": "ber-db"}
	if diff := cmp.Diff(want, got); diff != "" {
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
