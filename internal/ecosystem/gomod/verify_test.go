package gomod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/ecosystem"
	"github.com/cascade-dev/cascade/internal/sandbox"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestChanges(t *testing.T) {
	// The repo at the base: a root module ex.com/db with packages, and a
	// nested module in tools/.
	base := fstest.MapFS{
		"go.mod":                     file("module ex.com/db\n"),
		"doc.go":                     file("package db\n"),
		"README.md":                  file("db\n"),
		"query/query.go":             file("package query\n"),
		"query/testdata/x.json":      file("{}\n"),
		"gone/gone.go":               file("package gone\n"),
		"a/b/b.go":                   file("package b\n"),
		"a/b/testdata/c/d.txt":       file("d\n"),
		"assets/assets.go":           file("package assets\n\nimport _ \"embed\"\n\n//go:embed static/*\nvar Static string\n"),
		"assets/static/css/site.css": file("body{}\n"),
		"assets/plain/plain.go":      file("package plain\n"),
		"assets/plain/data/x.txt":    file("x\n"),
		"schemas/where.json":         file("{}\n"),
		"tools/go.mod":               file("module ex.com/db/tools\n"),
		"tools/gen/main.go":          file("package main\n"),
	}
	cand := fstest.MapFS{}
	for k, v := range base {
		if !strings.HasPrefix(k, "gone/") {
			cand[k] = v
		}
	}
	cand["added/added.go"] = file("package added\n")
	root := ecosystem.Module{Name: "ex.com/db", Dir: "."}
	nested := []string{".", "tools"}
	tests := []struct {
		name  string
		files []string
		want  map[string]bool
		all   bool
	}{
		{"a Go file changes its package", []string{"query/query.go"}, map[string]bool{"ex.com/db/query": true}, false},
		{"a deleted package is changed", []string{"gone/gone.go"}, map[string]bool{"ex.com/db/gone": true}, false},
		{"an added package is changed", []string{"added/added.go"}, map[string]bool{"ex.com/db/added": true}, false},
		{"testdata belongs to its package", []string{"query/testdata/x.json", "a/b/testdata/c/d.txt"},
			map[string]bool{"ex.com/db/query": true, "ex.com/db/a/b": true}, false},
		// Data may be read from anywhere in the module (embedded, or found
		// through runtime.Caller): the whole module.
		{"an embedded file in a directory without Go files", []string{"assets/static/css/site.css"}, nil, true},
		{"a data file", []string{"assets/plain/data/x.txt"}, nil, true},
		// Documentation can only be embedded: the enclosing package and the
		// packages above it that embed.
		{"documentation in a directory without Go files", []string{"assets/plain/data/NOTES.md"},
			map[string]bool{"ex.com/db/assets/plain": true, "ex.com/db/assets": true}, false},
		{"the root package encloses a README", []string{"README.md"}, map[string]bool{"ex.com/db": true}, false},
		{"go.mod changes everything", []string{"query/query.go", "go.sum"}, nil, true},
		{"a nested module's files are its own", []string{"tools/gen/main.go", "tools/go.mod"}, map[string]bool{}, false},
	}
	for _, tt := range tests {
		got, all, why := Go{}.Changes(root, nested, tt.files, base, cand)
		if all != tt.all || (all && why == "") {
			t.Errorf("%s: all = %v (%q), want %v", tt.name, all, why, tt.all)
			continue
		}
		if diff := cmp.Diff(tt.want, got); !all && diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	got, all, _ := Go{}.Changes(ecosystem.Module{Name: "ex.com/db/tools", Dir: "tools"}, nested, []string{"tools/gen/main.go", "query/query.go"}, base, cand)
	if diff := cmp.Diff(map[string]bool{"ex.com/db/tools/gen": true}, got); diff != "" || all {
		t.Errorf("nested module: all=%v, mismatch (-want +got):\n%s", all, diff)
	}
}

func TestChangesOutsideEveryPackage(t *testing.T) {
	// A schema beside the packages may be read at run time (runtime.Caller),
	// a header included through cgo: no package can be named, so the whole
	// module counts; so does a README no package encloses.
	plain := fstest.MapFS{
		"go.mod":             file("module ex.com/api\n"),
		"client/client.go":   file("package client\n"),
		"schemas/where.json": file("{}\n"),
		"include/val.h":      file("#define VAL 1\n"),
		"docs/guide.md":      file("# guide\n"),
	}
	m := ecosystem.Module{Name: "ex.com/api", Dir: "."}
	for _, f := range []string{"schemas/where.json", "include/val.h", "docs/guide.md"} {
		_, all, why := Go{}.Changes(m, []string{"."}, []string{f}, plain, plain)
		if !all || !strings.HasPrefix(why, f+" changed") {
			t.Errorf("%s: all=%v, why=%q", f, all, why)
		}
	}
}

func stream(t *testing.T, root string, chunks ...string) ecosystem.Results {
	t.Helper()
	s := NewTestStream(root)
	for _, c := range chunks {
		// Odd-sized writes: lines arrive split.
		for len(c) > 0 {
			n := min(len(c), 7)
			if _, err := s.Write([]byte(c[:n])); err != nil {
				t.Fatal(err)
			}
			c = c[n:]
		}
	}
	return s.Finish()
}

func TestTestStream(t *testing.T) {
	out := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- FAIL: TestA\n"}
{"Action":"output","Package":"p","Test":"TestA/sub","Output":"    a_test.go:3: /tmp/tree/p/a.go: wrong\n"}
{"Action":"fail","Package":"p","Test":"TestA/sub"}
{"Action":"fail","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestB","Output":"ok B\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- PASS: TestB (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestB"}
{"Action":"fail","Package":"p"}
# q
q/q_test.go:3:1: syntax error
{"Action":"fail","Package":"q"}
{"Action":"output","Package":"r","Output":"ok\n"}
`
	r := stream(t, "/tmp/tree", out)
	if diff := cmp.Diff([]string{"p.TestA/sub", "q"}, r.Failed); diff != "" || !r.Named {
		t.Errorf("named=%v, failed mismatch (-want +got):\n%s", r.Named, diff)
	}
	// The failing tests' output is kept, a passing test's is not, and the
	// tree's path is taken out.
	if !strings.Contains(r.Log, "a_test.go:3: p/a.go: wrong") || strings.Contains(r.Log, "ok B") || !strings.Contains(r.Log, "q/q_test.go:3:1: syntax error") {
		t.Errorf("log = %q", r.Log)
	}
	// The same failure in another tree has the same signature.
	r2 := stream(t, "/var/other", strings.ReplaceAll(out, "/tmp/tree", "/var/other"))
	if r.Signature != r2.Signature {
		t.Errorf("signatures differ across trees: %s, %s", r.Signature, r2.Signature)
	}
}

func TestTestStreamBuildFailure(t *testing.T) {
	out := `{"ImportPath":"ex.com/api/client","Action":"build-output","Output":"client/c.go:3:12: undefined: query.Find\n"}
{"ImportPath":"ex.com/api/client","Action":"build-fail"}
{"Action":"output","Package":"ex.com/sync","Output":"FAIL\tex.com/sync [build failed]\n"}
{"Action":"fail","Package":"ex.com/sync","FailedBuild":"ex.com/api/client"}
`
	r := stream(t, "/t", out)
	// The package under test failed because a package it imports did not
	// compile: a build failure of the package under test.
	if diff := cmp.Diff([]string{"ex.com/sync"}, r.BuildFailed); diff != "" || len(r.Failed) != 1 {
		t.Errorf("failed=%v, build failed mismatch (-want +got):\n%s", r.Failed, diff)
	}
	if !strings.HasPrefix(r.Log, "# ex.com/api/client\nclient/c.go:3:12: undefined: query.Find\n") {
		t.Errorf("log = %q", r.Log)
	}
}

// A failure early in a large output is found: every event is read,
// whatever comes after it; only the kept log is bounded.
func TestTestStreamLargeOutput(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Action":"output","Package":"p","Test":"TestEarly","Output":"early failure\n"}` + "\n")
	b.WriteString(`{"Action":"fail","Package":"p","Test":"TestEarly"}` + "\n")
	line := strings.Repeat("x", 200)
	for i := 0; b.Len() < 8<<20; i++ {
		fmt.Fprintf(&b, `{"Action":"output","Package":"p","Test":"TestNoisy","Output":"%d %s\n"}`+"\n", i, line)
	}
	b.WriteString(`{"Action":"output","Package":"p","Test":"TestNoisy","Output":"--- PASS: TestNoisy (0.01s)\n"}` + "\n")
	b.WriteString(`{"Action":"pass","Package":"p","Test":"TestNoisy"}` + "\n")
	// A line far longer than any event is text, not a lost event.
	b.WriteString(strings.Repeat("y", 5<<20) + "\n")
	b.WriteString(`{"Action":"output","Package":"p","Test":"TestLate","Output":"late failure\n"}` + "\n")
	b.WriteString(`{"Action":"fail","Package":"p","Test":"TestLate"}` + "\n")
	r := stream(t, "/t", b.String())
	if diff := cmp.Diff([]string{"p.TestEarly", "p.TestLate"}, r.Failed); diff != "" {
		t.Errorf("failed mismatch (-want +got):\n%s", diff)
	}
	if len(r.Log) > 2*maxLog || !strings.Contains(r.Log, "early failure") {
		t.Errorf("log of %d bytes; early failure kept: %v", len(r.Log), strings.Contains(r.Log, "early failure"))
	}
}

func TestTestStreamStillRunning(t *testing.T) {
	r := stream(t, "/t", `{"Action":"run","Package":"p","Test":"TestWait"}
{"Action":"output","Package":"p","Test":"TestWait","Output":"=== RUN   TestWait\n"}
`)
	if !strings.Contains(r.Log, "p.TestWait was still running:\n=== RUN   TestWait") {
		t.Errorf("log = %q", r.Log)
	}
}

func TestServedVersion(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	tagged := map[string]string{"v1.2.0": "aaaa", "sub/v0.3.0": commit, "v2.0.0": "bbbb"}
	at := func(t string) string { return tagged[t] }
	when := mustTime(t, "2026-03-02T09:00:00Z")
	tests := []struct {
		m    ecosystem.Module
		tags []string
		want string
	}{
		// v2.0.0 does not serve a module whose path has no /v2.
		{ecosystem.Module{Name: "ex.com/m", Dir: "."}, []string{"v1.2.0", "v2.0.0"}, "v1.2.1-0.20260302090000-0123456789ab"},
		{ecosystem.Module{Name: "ex.com/m/sub", Dir: "sub"}, []string{"sub/v0.3.0", "v1.2.0"}, "v0.3.0"},
		{ecosystem.Module{Name: "ex.com/m/v3", Dir: "."}, []string{"v1.2.0"}, "v3.0.0-20260302090000-0123456789ab"},
		{ecosystem.Module{Name: "ex.com/m", Dir: "."}, nil, "v0.0.0-20260302090000-0123456789ab"},
	}
	for _, tt := range tests {
		if got := ServedVersion(tt.m, tt.tags, at, commit, when); got != tt.want {
			t.Errorf("ServedVersion(%s, %v) = %s, want %s", tt.m.Name, tt.tags, got, tt.want)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A test that never ends (it called os.Exit or log.Fatal, a goroutine
// panicked) failed when its package fails, even when another test of the
// package failed too.
func TestTestStreamUnfinishedTest(t *testing.T) {
	r := stream(t, "/t", `{"Action":"run","Package":"ex.com/api","Test":"TestEnv"}
{"Action":"fail","Package":"ex.com/api","Test":"TestEnv"}
{"Action":"run","Package":"ex.com/api","Test":"TestCheck"}
{"Action":"output","Package":"ex.com/api","Test":"TestCheck","Output":"check failed\n"}
{"Action":"output","Package":"ex.com/api","Output":"FAIL\tex.com/api\t0.01s\n"}
{"Action":"fail","Package":"ex.com/api"}
`)
	if diff := cmp.Diff([]string{"ex.com/api.TestCheck", "ex.com/api.TestEnv"}, r.Failed); diff != "" {
		t.Errorf("failed mismatch (-want +got):\n%s", diff)
	}
}

// Leaves are pruned within a package: a failing test of a sub-package
// never hides its parent package's failure.
func TestTestStreamSubPackages(t *testing.T) {
	r := stream(t, "/t", `{"Action":"fail","Package":"ex.com/api/sub","Test":"TestEnv"}
{"Action":"fail","Package":"ex.com/api/sub"}
{"Action":"fail","Package":"ex.com/api","FailedBuild":"ex.com/api"}
{"Action":"fail","Package":"ex.com/api/x","Test":"TestA/one"}
{"Action":"fail","Package":"ex.com/api/x","Test":"TestA"}
{"Action":"fail","Package":"ex.com/api/x","Test":"TestAB"}
`)
	if diff := cmp.Diff([]string{"ex.com/api", "ex.com/api/sub.TestEnv", "ex.com/api/x.TestA/one", "ex.com/api/x.TestAB"}, r.Failed); diff != "" {
		t.Errorf("failed mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ex.com/api"}, r.BuildFailed); diff != "" {
		t.Errorf("build failed mismatch (-want +got):\n%s", diff)
	}
}

// A changed module the downstream requires but imports no package of (a
// tools.go file behind a build tag, `go run` in a test) selects
// everything; a required module it does import is narrowed as usual.
func TestSelectRequiredButNotImported(t *testing.T) {
	list := `{"ImportPath": "ex.com/app/web", "Deps": ["ex.com/lib/plain", "fmt"], "GoFiles": ["w.go"]}
{"ImportPath": "ex.com/app/cli", "Deps": ["fmt"], "GoFiles": ["c.go"]}
`
	run := func(ctx context.Context, c sandbox.Cmd) (sandbox.Result, error) {
		return sandbox.Result{Output: list}, nil
	}
	m := ecosystem.Module{Name: "ex.com/app", Dir: ".", Requires: []string{"ex.com/lib", "ex.com/gen"}}
	sel, err := Go{}.Select(context.Background(), run, "/t", m, map[string]bool{"ex.com/lib/plain": true})
	if err != nil || sel.All || !slices.Equal(sel.Test, []string{"ex.com/app/web"}) {
		t.Errorf("imported module: %+v, %v", sel, err)
	}
	sel, err = Go{}.Select(context.Background(), run, "/t", m, map[string]bool{"ex.com/gen/cmd/gen": true})
	if err != nil || !sel.All {
		t.Errorf("required but not imported: %+v, %v; want all", sel, err)
	}
}

// A parent test that fails on its own, beside a failing subtest, is named
// too: the subtest's failure must not hide it.
func TestTestStreamParentsOwnFailure(t *testing.T) {
	r := stream(t, "/t", `{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB/over-network","Output":"    b_test.go:20: no network\n"}
{"Action":"fail","Package":"p","Test":"TestB/over-network"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:12: Greeting() = \"hi\", want hello\n"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"fail","Package":"p","Test":"TestC/sub"}
{"Action":"output","Package":"p","Test":"TestC","Output":"--- FAIL: TestC (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestC"}
`)
	if diff := cmp.Diff([]string{"p.TestB", "p.TestB/over-network", "p.TestC/sub"}, r.Failed); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// TestTestStreamExitZeroMidTest: code under test that ends the test binary
// with exit(0) in the middle of a test (syscall.Exit skips the testing
// package's own check) leaves go test reporting the package "ok": the
// tests that started and never ended failed, and so did the package. Real
// output of the go command.
func TestTestStreamExitZeroMidTest(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":    "module ex.com/app\n\ngo 1.22\n",
		"a_test.go": "package app\n\nimport (\n\t\"syscall\"\n\t\"testing\"\n)\n\nfunc TestFirst(t *testing.T) {}\n\nfunc TestExits(t *testing.T) {\n\tsyscall.Exit(0)\n\tt.Fatal(\"broken\")\n}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go test: %v (the go command says this package passed, exit 0, and the test relies on it)\n%s", err, out)
	}
	if !strings.Contains(string(out), `"Action":"pass","Package":"ex.com/app"`) {
		t.Fatalf("go test did not report the package as passed:\n%s", out)
	}
	r := stream(t, dir, string(out))
	if diff := cmp.Diff([]string{"ex.com/app.TestExits"}, r.Failed); diff != "" {
		t.Errorf("failed mismatch (-want +got):\n%s", diff)
	}
}
