package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/workspace"
)

var when = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func commit(t *testing.T, w *gitrepo.Writer, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(w.Repo.WorkDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, err := w.CommitAll(context.Background(), when, "change")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func setup(t *testing.T) (*workspace.Workspace, *gitrepo.Writer) {
	t.Helper()
	dir := t.TempDir()
	w, err := gitrepo.Init(context.Background(), filepath.Join(dir, "lib"), "main", gitrepo.Author{Name: "T", Email: "t@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, w, map[string]string{
		"go.mod":              "module example.com/lib\n\ngo 1.22\n\nrequire example.com/base v1.0.0 // indirect\n",
		"tools/go.mod":        "module example.com/lib/tools\n\ngo 1.22\n",
		"js/package.json":     `{"name": "@o/lib", "version": "1.0.0", "dependencies": {"@o/base": "file:../../base", "x": "npm:@o/real@^1"}}`,
		"_old/go.mod":         "module example.com/ignored\n",
		"node_modules/p.json": "{}",
		"README.md":           "the working tree's uncommitted files are not read",
	})
	if err := w.Tag(context.Background(), when, "v1.1.0", "r"); err != nil {
		t.Fatal(err)
	}
	if err := w.Tag(context.Background(), when, "tools/v0.3.0", "r"); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Parse(filepath.Join(dir, workspace.FileName), []byte("repos:\n  - path: ./lib\n"))
	if err != nil {
		t.Fatal(err)
	}
	return ws, w
}

func TestScanReadsCommittedManifests(t *testing.T) {
	ws, w := setup(t)
	// An uncommitted change is not part of the graph.
	os.WriteFile(filepath.Join(w.Repo.WorkDir, "go.mod"), []byte("module example.com/changed\n"), 0o644)
	repos, err := Workspace(context.Background(), ws, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := repos[0]
	want := []Module{
		{Name: "example.com/lib", Ecosystem: Go, Dir: ".", Version: "v1.1.0", Requires: []Requirement{{Module: "example.com/base", Version: "v1.0.0", Indirect: true, Kind: "require"}}},
		{Name: "@o/lib", Ecosystem: NPM, Dir: "js", Version: "1.0.0", Requires: []Requirement{
			{Module: "@o/base", Version: "file:../../base", Kind: "dependencies", PathHint: "../base"},
			{Module: "@o/real", Version: "npm:@o/real@^1", Kind: "dependencies"},
		}},
		{Name: "example.com/lib/tools", Ecosystem: Go, Dir: "tools", Version: "v0.3.0"},
	}
	if diff := cmp.Diff(want, r.Modules); diff != "" {
		t.Errorf("modules mismatch (-want +got):\n%s", diff)
	}
	if r.Branch != "main" || r.Commit == "" || r.Cached {
		t.Errorf("repo = %+v", r)
	}
}

func TestScanCachesByCommit(t *testing.T) {
	ctx := context.Background()
	ws, w := setup(t)
	cache := t.TempDir()
	first, err := Workspace(ctx, ws, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Workspace(ctx, ws, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if !second[0].Cached {
		t.Fatal("an unchanged repo was read again instead of coming from the cache")
	}
	if diff := cmp.Diff(first[0].Content, second[0].Content); diff != "" {
		t.Errorf("cached content differs (-read +cached):\n%s", diff)
	}
	noCache, _ := Workspace(ctx, ws, Options{CacheDir: cache, NoCache: true})
	if noCache[0].Cached {
		t.Error("NoCache used the cache")
	}

	// A new commit is read afresh.
	commit(t, w, map[string]string{"go.mod": "module example.com/lib/v2\n\ngo 1.22\n"})
	third, _ := Workspace(ctx, ws, Options{CacheDir: cache})
	if third[0].Cached || third[0].Modules[0].Name != "example.com/lib/v2" {
		t.Errorf("after a commit: cached=%v modules=%v", third[0].Cached, third[0].Modules)
	}
	// A new tag changes versions, so it invalidates the cached entry too.
	if err := w.Tag(ctx, when, "v2.0.0", "r"); err != nil {
		t.Fatal(err)
	}
	fourth, _ := Workspace(ctx, ws, Options{CacheDir: cache})
	if fourth[0].Cached || fourth[0].Modules[0].Version != "v2.0.0" {
		t.Errorf("after a tag: cached=%v version=%q", fourth[0].Cached, fourth[0].Modules[0].Version)
	}
	// A corrupt cache entry is ignored, not trusted.
	entry := filepath.Join(cache, "scan", cacheVersion, fourth[0].Commit[:2], fourth[0].Commit+".json")
	if err := os.WriteFile(entry, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifth, err := Workspace(ctx, ws, Options{CacheDir: cache})
	if err != nil || fifth[0].Cached || len(fifth[0].Modules) != 3 {
		t.Errorf("corrupt cache: %v cached=%v", err, fifth[0].Cached)
	}
}

func TestScanWarnings(t *testing.T) {
	ws, w := setup(t)
	commit(t, w, map[string]string{
		"bad/go.mod":        "module example.com/bad\n\ngo 1.22\nrequire (\n",
		"web/package.json":  `{"name": "w", "dependencies": {"x": 1}}`,
		"catalog-info.yaml": "kind: Component\nmetadata: {name: lib\n",
	})
	repos, err := Workspace(context.Background(), ws, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(repos[0].Warnings, "\n")
	for _, want := range []string{
		"lib: bad/go.mod:5: syntax error (unterminated block started at bad/go.mod:4:1)",
		"lib: web/package.json: dependencies.x must be a string",
		"lib: catalog-info.yaml:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %q lack %q", got, want)
		}
	}
	if len(repos[0].Modules) != 3 {
		t.Errorf("the good modules are lost: %v", repos[0].Modules)
	}
}

func TestHighestTag(t *testing.T) {
	tags := []string{"v1.2.0", "v1.10.0", "v2.0.0-rc.1", "nonsense", "sub/v0.4.0", "sub/v0.10.1", "sub/deeper/v9.0.0", "v1.3"}
	for dir, want := range map[string]string{".": "v2.0.0-rc.1", "sub": "v0.10.1", "sub/deeper": "v9.0.0", "other": ""} {
		if got := HighestTag(tags, dir); got != want {
			t.Errorf("HighestTag(%q) = %q, want %q", dir, got, want)
		}
	}
}
