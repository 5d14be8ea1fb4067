package release

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/scan"
)

func TestStepNetworkAndEnv(t *testing.T) {
	specs, err := runbook.Parse("svc@main:.cascade.yaml", []byte(`release:
  steps:
    - name: Deploy
      run: ./deploy
      network: true
      env: [DEPLOY_TOKEN]
    - name: Offline
      run: ./check
`))
	if err != nil {
		t.Fatal(err)
	}
	if !specs[0].Network || len(specs[0].Env) != 1 || specs[0].Env[0] != "DEPLOY_TOKEN" || specs[1].Network || specs[1].Env != nil {
		t.Fatalf("specs = %+v", specs)
	}
	for _, bad := range []string{"network: yes", "network: [true]", "env: DEPLOY_TOKEN", "env: ['A=B']", "env: ['1X']", "env: ['--x']"} {
		_, err := runbook.Parse("f", []byte("release:\n  steps:\n    - name: x\n      run: x\n      "+bad+"\n"))
		if err == nil || !strings.Contains(err.Error(), "f:5:") {
			t.Errorf("%q: %v, want an error at f:5", bad, err)
		}
	}

	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	env := map[string]string{"DEPLOY_TOKEN": "tok-123", "OTHER_SECRET": "other-456"}
	e := &Engine{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	script := fmt.Sprintf(`echo "token=$DEPLOY_TOKEN other=$OTHER_SECRET plan=$CASCADE_PLAN"; (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && echo REACHED`, l.Addr().(*net.TCPAddr).Port)
	dir := t.TempDir()
	run := func(spec Spec) string {
		base := sandbox.Cmd{Args: []string{"bash", "-c", script}, Env: runbook.Env(runbook.Data{Plan: "p1"})}
		c := e.stepCmd(spec, base, dir, 30*time.Second)
		res, err := sandbox.Run(context.Background(), c)
		if err != nil || res.StartErr != nil {
			t.Fatalf("%v %v", err, res.StartErr)
		}
		return res.Output
	}
	out := run(specs[0])
	if !strings.Contains(out, "token=tok-123 other= plan=p1") || !strings.Contains(out, "REACHED") {
		t.Errorf("a step with network: true and env: [DEPLOY_TOKEN]:\n%s", out)
	}
	out = run(specs[1])
	if !strings.Contains(out, "token= other= plan=p1") || strings.Contains(out, "REACHED") {
		t.Errorf("a step without network or env:\n%s", out)
	}
}

// TestRunStepRefusesACraftedTree: a run step extracts its commit's tree
// safely like every other command: a crafted tree (a link zz to a
// directory outside and a directory zz/ with a file) is refused, the
// step's command never runs, and nothing is written outside.
func TestRunStepRefusesACraftedTree(t *testing.T) {
	ctx := context.Background()
	dir, outside := t.TempDir(), t.TempDir()
	svc := filepath.Join(dir, "svc")
	g, err := gitrepo.Init(ctx, svc, "main", gitrepo.Author{Name: "T", Email: "t@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(svc, "README"), []byte("svc\n"), 0o644)
	if _, err := g.CommitAll(ctx, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), "init"); err != nil {
		t.Fatal(err)
	}
	script := `set -e
link=$(printf %s "$1" | git hash-object -w --stdin)
file=$(echo pwned | git hash-object -w --stdin)
sub=$(printf '100644 blob %s\tpwned\n' "$file" | git mktree)
tree=$( (git ls-tree HEAD; printf '120000 blob %s\tzz\n040000 tree %s\tzz\n' "$link" "$sub") | git mktree --missing)
git -c user.name=T -c user.email=t@example.com commit-tree "$tree" -p HEAD -m crafted`
	cmd := exec.Command("sh", "-c", script, "sh", outside)
	cmd.Dir = svc
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("crafting: %v", err)
	}
	crafted := strings.TrimSpace(string(out))
	e := &Engine{G: graph.Build([]scan.Repo{{Name: "svc", Path: svc, Git: g.Repo}}), CacheDir: filepath.Join(dir, "cache")}
	s := &Step{Repo: "svc", Name: "Build", Kind: Run, Spec: Spec{Name: "Build", Kind: Run, Text: "touch ran; ls zz"}}
	ok, output, _, err := e.work(ctx, nil, "", s, Data{Repo: "svc", Commit: crafted})
	if ok || err == nil || !strings.Contains(err.Error(), `unsafe tree: refusing link "zz"`) {
		t.Fatalf("work = %v, %q, %v; want the crafted tree refused", ok, output, err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the tree: %v", entries)
	}
	ran, _ := filepath.Glob(filepath.Join(dir, "cache", "work", "release", "*", "svc", "ran"))
	if len(ran) != 0 {
		t.Errorf("the step ran: %v", ran)
	}
}
