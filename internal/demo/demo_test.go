package demo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// goModules are the demo's Go repos.
var goModules = []string{"json-schema-converter", "clever-db", "clever-api", "clever-jobs", "district-sync", "flaky-reports"}

func build(t *testing.T) (string, *workspace.Workspace) {
	t.Helper()
	dir := t.TempDir()
	file, err := Build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return dir, ws
}

func TestBuildIsDeterministic(t *testing.T) {
	ctx := context.Background()
	heads := func() map[string]string {
		dir, _ := build(t)
		out := map[string]string{}
		for _, name := range Repos {
			r, err := gitrepo.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range []string{"refs/heads/master", "strict-where", "adapt-strict-where"} {
				if id, err := r.Resolve(ctx, ref); err == nil {
					out[name+" "+ref] = id
				}
			}
		}
		return out
	}
	a, b := heads(), heads()
	if len(a) != len(Repos)+3 {
		t.Errorf("refs = %v; want every master plus three branches", a)
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s differs between two builds: %s vs %s", k, v, b[k])
		}
	}
	if _, err := Build(ctx, filepath.Dir(filepath.Dir(t.TempDir()))); err == nil {
		t.Error("Build into a non-empty directory succeeded")
	}
}

func TestGraphTellsTheStory(t *testing.T) {
	_, ws := build(t)
	repos, err := scan.Workspace(context.Background(), ws, scan.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	g := graph.Build(repos)
	if len(g.Warnings) != 0 {
		t.Errorf("warnings: %q", g.Warnings)
	}
	depth := func(of string, down bool) map[string]int {
		i, err := g.Lookup(of)
		if err != nil {
			t.Fatal(err)
		}
		r := g.Upstream(i, false)
		if down {
			r = g.Downstream(i, false)
		}
		out := map[string]int{}
		for _, it := range r.Items {
			out[g.Name(it.Node)] = it.Depth
		}
		return out
	}
	check := func(name string, got, want map[string]int) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
	}
	check("downstream clever-db", depth("clever-db", true), map[string]int{"clever-api": 1, "clever-jobs": 1, "flaky-reports": 1, "district-sync": 2})
	check("upstream district-sync", depth("district-sync", false), map[string]int{"clever-api": 1, "clever-db": 2, "json-schema-converter": 3})
	check("downstream clever-schemas", depth("clever-schemas", true), map[string]int{"clever-js": 1})
}

// goEnv is an offline Go environment that resolves every workspace module
// from the go.work file work.
func goEnv(work string) []string {
	env := []string{"GOWORK=" + work, "GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly", "GOSUMDB=off"}
	return append(os.Environ(), env...)
}

// checkout makes a worktree of repo at ref under dir and returns its path.
func checkout(t *testing.T, dir, repo, ref string) string {
	t.Helper()
	r, err := gitrepo.Open(filepath.Join(dir, repo))
	if err != nil {
		t.Fatal(err)
	}
	wt := filepath.Join(t.TempDir(), repo)
	if out, err := exec.Command("git", "-C", r.Dir(), "worktree", "add", "--quiet", "--detach", wt, ref).CombinedOutput(); err != nil {
		t.Fatalf("git worktree add %s: %v\n%s", ref, err, out)
	}
	return wt
}

// state writes a go.work that uses the given module directories.
func state(t *testing.T, dirs map[string]string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), "go.work")
	s := "go 1.22\n\nuse (\n"
	for _, m := range goModules {
		s += "\t" + dirs[m] + "\n"
	}
	s += ")\n"
	if err := os.WriteFile(work, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return work
}

func goRun(dir, work string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv(work)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDemoBuildsOffline builds and tests every demo Go module offline, with
// only the standard library and the workspace's own modules, in the three
// states of the story: today's masters; clever-db's strict-where alone
// (clever-api and district-sync break, clever-jobs does not); and
// strict-where together with clever-api's adapt-strict-where (all pass).
func TestDemoBuildsOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go code; skipped with -short")
	}
	dir, _ := build(t)
	master := map[string]string{}
	for _, m := range goModules {
		master[m] = filepath.Join(dir, m)
	}
	work := state(t, master)
	for _, m := range goModules {
		out, err := goRun(master[m], work, "build", "./...")
		if err != nil {
			t.Fatalf("%s@master does not build: %v\n%s", m, err, out)
		}
		out, err = goRun(master[m], work, "test", "-count=1", "./...")
		if m == "flaky-reports" {
			if err == nil || !strings.Contains(out, "cache was cold") {
				t.Errorf("flaky-reports passed its first run:\n%s", out)
			}
			out, err = goRun(master[m], work, "test", "-count=1", "./...")
		}
		if err != nil {
			t.Errorf("%s@master tests fail: %v\n%s", m, err, out)
		}
	}

	alone := map[string]string{}
	for k, v := range master {
		alone[k] = v
	}
	alone["clever-db"] = checkout(t, dir, "clever-db", "strict-where")
	work = state(t, alone)
	for m, wantOK := range map[string]bool{"clever-db": true, "clever-api": false, "district-sync": false, "clever-jobs": true} {
		out, err := goRun(alone[m], work, "build", "./...")
		if (err == nil) != wantOK {
			t.Errorf("with clever-db@strict-where alone, %s builds = %v, want %v\n%s", m, err == nil, wantOK, out)
		}
		if !wantOK && !strings.Contains(out, "not enough arguments in call to query.Find") {
			t.Errorf("%s fails for another reason than the signature change:\n%s", m, out)
		}
	}

	set := map[string]string{}
	for k, v := range alone {
		set[k] = v
	}
	set["clever-api"] = checkout(t, dir, "clever-api", "adapt-strict-where")
	set["json-schema-converter"] = checkout(t, dir, "json-schema-converter", "strict-where")
	work = state(t, set)
	for _, m := range []string{"json-schema-converter", "clever-db", "clever-api", "district-sync", "clever-jobs"} {
		if out, err := goRun(set[m], work, "test", "-count=1", "./..."); err != nil {
			t.Errorf("in the change set, %s fails: %v\n%s", m, err, out)
		}
	}
}

// TestDemoNodePackages runs the npm packages' tests where Node.js is present.
func TestDemoNodePackages(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	dir, _ := build(t)
	cmd := exec.Command("node", "--test")
	cmd.Dir = filepath.Join(dir, "clever-schemas")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("clever-schemas tests fail: %v\n%s", err, out)
	}
	// clever-js resolves @clever/schemas from node_modules, as npm would
	// install it.
	js := filepath.Join(dir, "clever-js")
	link := filepath.Join(js, "node_modules", "@clever", "schemas")
	os.MkdirAll(filepath.Dir(link), 0o755)
	if err := os.Symlink(filepath.Join(dir, "clever-schemas"), link); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("node", "--test")
	cmd.Dir = js
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("clever-js tests fail: %v\n%s", err, out)
	}
}

// TestV2ChangeSetBuildsOffline: after MoveToV2, clever-db@strict-where is
// the module example.com/clever/clever-db/v2 and clever-api@adapt-strict-where
// (example.com/clever/clever-api/v2) imports it; the change set builds and
// passes its tests next to the masters, which keep using v1.
func TestV2ChangeSetBuildsOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go code; skipped with -short")
	}
	dir, _ := build(t)
	ctx := context.Background()
	if _, _, err := MoveToV2(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := PushQuickFix(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := RevertQuickFix(ctx, dir); err != nil {
		t.Fatal(err)
	}
	db := checkout(t, dir, "clever-db", "strict-where")
	api := checkout(t, dir, "clever-api", "adapt-strict-where")
	for repo, want := range map[string]string{db: "module example.com/clever/clever-db/v2\n", api: "module example.com/clever/clever-api/v2\n"} {
		data, err := os.ReadFile(filepath.Join(repo, "go.mod"))
		if err != nil || !strings.HasPrefix(string(data), want) {
			t.Errorf("%s/go.mod = %q, %v; want %q", repo, data, err, want)
		}
	}
	client, err := os.ReadFile(filepath.Join(api, "client", "client.go"))
	if err != nil || !strings.Contains(string(client), `"example.com/clever/clever-db/v2/query"`) || strings.Contains(string(client), "time.Sleep") {
		t.Errorf("clever-api's client after the revert:\n%s", client)
	}
	dirs := map[string]string{}
	for _, m := range goModules {
		dirs[m] = filepath.Join(dir, m)
	}
	work := state(t, dirs)
	data, err := os.ReadFile(work)
	if err != nil {
		t.Fatal(err)
	}
	// Both majors side by side: the masters use v1, the change set v2.
	if err := os.WriteFile(work, []byte(strings.Replace(string(data), "use (\n", "use (\n\t"+db+"\n\t"+api+"\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{db, api, dirs["clever-api"], dirs["district-sync"], dirs["clever-jobs"]} {
		if out, err := goRun(d, work, "test", "-count=1", "./..."); err != nil {
			t.Errorf("%s fails: %v\n%s", d, err, out)
		}
	}
}

// TestKillRunnerMidStepNeedsTheStep: a runner that ends before the step
// runs is an error, never a crash the demo did not cause.
func TestKillRunnerMidStepNeedsTheStep(t *testing.T) {
	dir := t.TempDir()
	_, err := KillRunnerMidStep(context.Background(), dir, exec.Command("true"), "p", 7)
	if err == nil || !strings.Contains(err.Error(), "before step 7 of p started; nothing to kill") {
		t.Fatalf("err = %v", err)
	}
}

// TestWindowsCoverTheWalkThrough: the demo's policy keeps its window open
// for hours after the demo is built, also when they cross midnight (a
// walk-through started at 23:50 on a Friday releases on the Saturday), and
// the Friday it checks the plan at is outside every window.
func TestWindowsCoverTheWalkThrough(t *testing.T) {
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := build(t)
	for _, now := range []time.Time{
		time.Date(2026, 11, 27, 23, 50, 0, 0, loc), // Friday, before midnight
		time.Date(2026, 11, 28, 21, 10, 0, 0, loc), // Saturday evening
		time.Date(2026, 11, 25, 10, 0, 0, 0, loc),  // Wednesday morning
		time.Date(2026, 11, 27, 10, 30, 0, 0, loc), // Friday at the hour FridayAt prefers
	} {
		file := filepath.Join(dir, "cascade.yaml")
		if err := os.WriteFile(file, []byte(workspaceFile(now)), 0o644); err != nil {
			t.Fatal(err)
		}
		ws, err := workspace.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, later := range []time.Duration{0, 10 * time.Minute, 90 * time.Minute, 170 * time.Minute} {
			if g := plan.WindowGate(ws.Policy, now.Add(later)); g.Status != plan.Pass {
				t.Errorf("built %s: %s later: %s", now, later, g.Reason)
			}
		}
		friday, err := time.Parse(time.RFC3339, FridayAt(now))
		if err != nil {
			t.Fatal(err)
		}
		if g := plan.WindowGate(ws.Policy, friday); g.Status != plan.Fail {
			t.Errorf("built %s: FridayAt %s is inside a window: %s", now, friday, g.Reason)
		}
	}
}

// The performance gate runs clever-api's `bench:` once per run, base and
// head alternating, each side in a tree of its own. The demo's command
// builds the benchmark binary once per tree and then only measures: the go
// command runs in the first run of a tree, never in the later ones, and
// every run prints results the gate reads.
func TestBenchBuildsOncePerTree(t *testing.T) {
	dir, _ := build(t)
	cfg, err := workspace.ReadRepoConfig(filepath.Join(dir, "clever-api"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bench == "" {
		t.Fatal("clever-api declares no bench command")
	}
	// A go command that counts its calls; `go test -c` makes a test
	// binary that prints one benchmark result, `go test -bench` prints one.
	bin, calls := t.TempDir(), filepath.Join(t.TempDir(), "calls")
	result := `printf 'pkg: example.com/clever/clever-api/client\nBenchmarkStudents-2 \t 100 \t 1000 ns/op\nPASS\n'`
	fake := "#!/bin/sh\necho \"$*\" >> " + calls + "\n" +
		"case \" $* \" in *\" -c \"*) printf '#!/bin/sh\\n%s\\n' \"" + strings.ReplaceAll(result, `"`, `\"`) + "\" > client.test; chmod +x client.test;;\n" +
		"*) " + result + ";;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"base", "head"} {
		tree := t.TempDir()
		for run := 1; run <= 3; run++ {
			cmd := exec.Command("sh", "-c", cfg.Bench)
			cmd.Dir = tree
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s run %d: `%s`: %v\n%s", side, run, cfg.Bench, err, out)
			}
			if got := plan.ParseBenchRun("clever-api", string(out)); len(got) != 1 {
				t.Errorf("%s run %d printed %d benchmark results, want 1:\n%s", side, run, len(got), out)
			}
		}
	}
	data, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 2 {
		t.Errorf("the go command ran %d times for 3 runs on each of 2 sides, want once per side (it compiles and links: each run should only measure):\n%s", n, data)
	}
}
