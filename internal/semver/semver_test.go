package semver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// apiCases are packages at the base release and at the head, each showing
// one kind of change apidiff knows, with what the change means: "major"
// (incompatible), "minor" (compatible addition) or "none".
var apiCases = []struct {
	pkg, base, head, want string
}{
	{"funcremoved", "func A() {}\nfunc B() {}", "func A() {}", "major"},
	{"funcadded", "func A() {}", "func A() {}\nfunc B() {}", "minor"},
	{"signature", "func A(x int) {}", "func A(x int, y string) {}", "major"},
	{"resultchanged", "func A() int { return 0 }", "func A() int64 { return 0 }", "major"},
	{"methodadded", "type T struct{}\nfunc (T) M() {}", "type T struct{}\nfunc (T) M() {}\nfunc (T) N() {}", "minor"},
	{"methodremoved", "type T struct{}\nfunc (T) M() {}\nfunc (T) N() {}", "type T struct{}\nfunc (T) M() {}", "major"},
	{"ifacemethodadded", "type I interface{ M() }", "type I interface{ M(); N() }", "major"},
	{"ifacemethodremoved", "type I interface{ M(); N() }", "type I interface{ M() }", "major"},
	{"fieldadded", "type S struct{ A int }", "type S struct{ A int; B string }", "minor"},
	{"fieldremoved", "type S struct{ A int; B string }", "type S struct{ A int }", "major"},
	{"fieldtype", "type S struct{ A int }", "type S struct{ A string }", "major"},
	{"constvalue", "const C = 1", "const C = 2", "major"},
	{"constadded", "const C = 1", "const C = 1\nconst D = 2", "minor"},
	{"varadded", "var V int", "var V int\nvar W string", "minor"},
	{"typeparam", "func F[T any](t T) {}", "func F[T comparable](t T) {}", "major"},
	// apidiff counts any change to a type parameter list as incompatible.
	{"typeparamloosened", "func F[T comparable](t T) {}", "func F[T any](t T) {}", "major"},
	{"unexported", "func A() {}\nfunc b() {}", "func A() {}\nfunc b() int { return 1 }", "none"},
	{"methodset", "type T struct{}\nfunc (*T) M() {}", "type T struct{}\nfunc (T) M() {}", "minor"},
}

func buildRepo(t *testing.T, base, head map[string]string) (*graph.Workspace, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	w, err := gitrepo.Init(ctx, filepath.Join(dir, "lib"), "main", gitrepo.Author{Name: "T", Email: "t@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	write := func(files map[string]string) {
		for name, content := range files {
			p := filepath.Join(w.Repo.WorkDir, name)
			if content == "" {
				os.Remove(p)
				continue
			}
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	when := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	write(base)
	if _, err := w.CommitAll(ctx, when, "base"); err != nil {
		t.Fatal(err)
	}
	if err := w.Tag(ctx, when, "v1.0.0", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	write(head)
	if _, err := w.CommitAll(ctx, when.Add(time.Hour), "head"); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Parse(filepath.Join(dir, workspace.FileName), []byte("repos:\n  - path: ./lib\n"))
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	t.Cleanup(func() { chmodAll(cache) })
	repos, err := scan.Workspace(ctx, ws, scan.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOPROXY", "off")
	return graph.Build(repos), cache
}

func chmodAll(dir string) {
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// TestGoAPIChanges checks, for every kind of change, that the verdict
// matches apidiff's meaning of it.
func TestGoAPIChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	base := map[string]string{"go.mod": "module example.com/lib\n\ngo 1.22\n"}
	head := map[string]string{}
	for _, c := range apiCases {
		base[c.pkg+"/p.go"] = "package " + c.pkg + "\n\n" + c.base + "\n"
		head[c.pkg+"/p.go"] = "package " + c.pkg + "\n\n" + c.head + "\n"
	}
	base["gone/p.go"] = "package gone\n\nfunc X() {}\n"
	head["gone/p.go"] = ""
	head["fresh/p.go"] = "package fresh\n\nfunc X() {}\n"
	base["internal/x/p.go"] = "package x\n\nfunc X() {}\n"
	head["internal/x/p.go"] = "package x\n\nfunc Y() {}\n"
	base["cmd/tool/main.go"] = "package main\n\nfunc Exported() {}\n\nfunc main() {}\n"
	head["cmd/tool/main.go"] = "package main\n\nfunc main() {}\n"
	g, cache := buildRepo(t, base, head)
	rep, err := Check(context.Background(), g, Options{Repo: "lib", CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Modules[0]
	got := map[string]string{}
	for _, c := range m.Changes {
		pkg := strings.TrimPrefix(c.Package, "example.com/lib/")
		b := "minor"
		if !c.Compatible {
			b = "major"
		}
		if got[pkg] != "major" {
			got[pkg] = b
		}
	}
	want := map[string]string{"gone": "major", "fresh": "minor"}
	for _, c := range apiCases {
		if c.want != "none" {
			want[c.pkg] = c.want
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bump per package mismatch (-want +got):\n%s\nchanges: %+v", diff, m.Changes)
	}
	if m.Required != Major || m.Suggested != "v2.0.0" || m.Base != "v1.0.0" {
		t.Errorf("module verdict = %s %s (base %s)", m.Required, m.Suggested, m.Base)
	}
}

func TestDecide(t *testing.T) {
	compat := []Change{{Kind: GoAPI, Compatible: true}}
	breaking := []Change{{Kind: GoAPI, Compatible: false}}
	tests := []struct {
		name, base, proposed, module string
		changes                      []Change
		wantRequired, wantSuggested  string
		wantOK                       bool
	}{
		{"breaking needs major", "v1.4.0", "v1.5.0", "ex.com/db", breaking, Major, "v2.0.0", false},
		{"major without /v2 path", "v1.4.0", "v2.0.0", "ex.com/db", breaking, Major, "v2.0.0", false},
		{"major with /v2 path", "v1.4.0", "v2.0.0", "ex.com/db/v2", breaking, Major, "v2.0.0", true},
		{"compatible minor", "v1.2.0", "v1.3.0", "ex.com/c", compat, Minor, "v1.3.0", true},
		{"compatible under-bumped", "v1.2.0", "v1.2.1", "ex.com/c", compat, Minor, "v1.3.0", false},
		{"over-bump is allowed", "v1.2.0", "v1.3.0", "ex.com/c", nil, Patch, "v1.2.1", true},
		{"below v1 breaking needs minor", "v0.3.1", "v0.4.0", "ex.com/c", breaking, Minor, "v0.4.0", true},
		{"not above base", "v1.2.0", "v1.1.0", "ex.com/c", compat, Minor, "v1.3.0", false},
		{"no base", "", "", "ex.com/c", compat, Minor, "v0.1.0", true},
	}
	for _, tt := range tests {
		m := Module{Module: tt.module, Changes: tt.changes, Proposed: tt.proposed, BaseCommit: "b", HeadCommit: "h"}
		if tt.base == "" {
			m.BaseCommit = ""
		}
		decide(&m, tt.base)
		if m.Required != tt.wantRequired || m.Suggested != tt.wantSuggested || m.OK != tt.wantOK {
			t.Errorf("%s: got %s %s ok=%v, want %s %s ok=%v (notes %q)", tt.name, m.Required, m.Suggested, m.OK, tt.wantRequired, tt.wantSuggested, tt.wantOK, m.Notes)
		}
	}
}

// TestRequirementChanges checks the requirement rule: a new requirement, a
// raised major.minor or a raised go directive needs a minor release; a
// patch-level raise, a lowered or a removed requirement does not.
func TestRequirementChanges(t *testing.T) {
	const mod = "example.com/m"
	gomod := func(goVersion string, reqs ...string) string {
		s := "module " + mod + "\n\ngo " + goVersion + "\n"
		for _, r := range reqs {
			s += "require " + r + "\n"
		}
		return s
	}
	tests := []struct {
		name      string
		base, new string
		want      []string
	}{
		{"patch raise", gomod("1.22", "example.com/md2man/v2 v2.0.3"), gomod("1.22", "example.com/md2man/v2 v2.0.4"), nil},
		{"minor raise", gomod("1.22", "example.com/a v1.2.9"), gomod("1.22", "example.com/a v1.3.0"),
			[]string{"requirement raised: example.com/a v1.2.9 => v1.3.0"}},
		{"major raise", gomod("1.22", "example.com/a v0.9.0"), gomod("1.22", "example.com/a v1.0.0"),
			[]string{"requirement raised: example.com/a v0.9.0 => v1.0.0"}},
		{"incompatible patch raise", gomod("1.22", "example.com/a v2.0.0+incompatible"), gomod("1.22", "example.com/a v2.0.1+incompatible"), nil},
		{"pseudo-version within v0.0", gomod("1.22", "example.com/a v0.0.0-20240101000000-aaaaaaaaaaaa"), gomod("1.22", "example.com/a v0.0.0-20250101000000-bbbbbbbbbbbb"), nil},
		{"pseudo-version to a new minor", gomod("1.22", "example.com/a v1.2.3"), gomod("1.22", "example.com/a v1.3.0-0.20250101000000-bbbbbbbbbbbb"),
			[]string{"requirement raised: example.com/a v1.2.3 => v1.3.0-0.20250101000000-bbbbbbbbbbbb"}},
		{"added", gomod("1.22"), gomod("1.22", "example.com/a v1.0.0"), []string{"requirement added: example.com/a v1.0.0"}},
		{"added indirect", gomod("1.22"), gomod("1.22", "example.com/a v1.0.0 // indirect"), []string{"requirement added: example.com/a v1.0.0"}},
		{"removed", gomod("1.22", "example.com/a v1.0.0"), gomod("1.22"), nil},
		{"lowered", gomod("1.22", "example.com/a v1.3.0"), gomod("1.22", "example.com/a v1.2.0"), nil},
		{"go raised", gomod("1.21"), gomod("1.22"), []string{"go directive raised: 1.21 => 1.22"}},
		{"go raised past 1.9", gomod("1.9"), gomod("1.10"), []string{"go directive raised: 1.9 => 1.10"}},
		{"go release candidate to release", gomod("1.21rc1"), gomod("1.21.0"), []string{"go directive raised: 1.21rc1 => 1.21.0"}},
		{"go release candidates", gomod("1.21rc1"), gomod("1.21rc2"), []string{"go directive raised: 1.21rc1 => 1.21rc2"}},
		{"go patch written out", gomod("1.22"), gomod("1.22.0"), nil},
		{"go lowered", gomod("1.22"), gomod("1.21"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, err := modfile.ParseLax("base/go.mod", []byte(tt.base), nil)
			if err != nil {
				t.Fatal(err)
			}
			head, err := modfile.ParseLax("head/go.mod", []byte(tt.new), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range requirementChanges(base, head, mod, false) {
				if c.Kind != GoMod || c.Package != mod || !c.Compatible {
					t.Errorf("change %+v: want a compatible %s change of %s", c, GoMod, mod)
				}
				got = append(got, c.Message)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("requirement changes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBaseOwner(t *testing.T) {
	mod := func(name, dir string) apiModule {
		return apiModule{Module: scan.Module{Name: name, Ecosystem: scan.Go, Dir: dir}}
	}
	nested := []apiModule{mod("ex.com/cast", "."), mod("ex.com/cast/generator", "generator"), mod("ex.com/cast/x/y", "x/y")}
	noRoot := []apiModule{mod("ex.com/a", "a"), mod("ex.com/b", "b")}
	tests := []struct {
		name    string
		given   string
		mods    []apiModule
		owner   int
		tag     string
		wantErr string
	}{
		{"root", "v1.8.0", nested, 0, "v1.8.0", ""},
		{"nested", "generator/v0.1.0", nested, 1, "generator/v0.1.0", ""},
		{"deeply nested", "x/y/v2.0.0", nested, 2, "x/y/v2.0.0", ""},
		{"only module in a subdirectory", "v1.2.0", []apiModule{mod("ex.com/go", "go")}, 0, "go/v1.2.0", ""},
		{"no module at root", "v1.2.0", noRoot, 0, "", "--base v1.2.0 names a release of the root module, but repo r has none at its root; name a module's tag, such as a/v1.2.0"},
		{"unknown dir", "nosuch/v1.0.0", nested, 0, "", `--base "nosuch/v1.0.0": repo r has no module in nosuch`},
		{"not a version", "1.8", nested, 0, "", `--base "1.8" is not a release tag such as v1.2.0 (or dir/v1.2.0 for the module in dir)`},
		{"option-like", "--output=x", nested, 0, "", `--base "--output=x" is not a release tag such as v1.2.0 (or dir/v1.2.0 for the module in dir)`},
	}
	for _, tt := range tests {
		owner, tag, err := baseOwner(tt.given, tt.mods, "r")
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if diff := cmp.Diff([]any{tt.owner, tt.tag, tt.wantErr}, []any{owner, tag, gotErr}); diff != "" {
			t.Errorf("%s: baseOwner(%q) mismatch (-want +got):\n%s", tt.name, tt.given, diff)
		}
	}
}

func TestReleaseBelow(t *testing.T) {
	tags := []string{"v1.0.5", "v1.0.6", "v1.1.0-rc.1", "v1.1.0", "v2.0.0-beta", "gen/v0.1.0", "gen/v0.2.0", "nonsense", "v1.0"}
	tests := []struct {
		dir, at, below, above string
	}{
		{".", "v1.1.0", "v1.0.6", "v2.0.0-beta"},
		{".", "v1.1.0-rc.1", "v1.0.6", "v2.0.0-beta"},
		{".", "v1.0.6", "v1.0.5", "v2.0.0-beta"},
		{".", "v1.0.5", "", "v2.0.0-beta"},
		{".", "v2.0.0", "v1.1.0", ""},
		{"gen", "v0.2.0", "v0.1.0", "v0.2.0"},
		{"gen", "v0.3.0", "v0.2.0", ""},
		{"gen", "v0.1.0", "", "v0.2.0"},
	}
	for _, tt := range tests {
		below, above := releaseBelow(tags, tt.dir, tt.at)
		if below != tt.below || above != tt.above {
			t.Errorf("releaseBelow(%s, %s) = %q, %q; want %q, %q", tt.dir, tt.at, below, above, tt.below, tt.above)
		}
	}
}
