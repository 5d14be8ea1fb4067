package goproxy

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
)

func start(t *testing.T) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := demo.Build(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	var sources []Source
	for _, name := range []string{"json-schema-converter", "clever-db", "clever-api"} {
		r, err := gitrepo.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, Source{Module: demo.Org + "/" + name, Repo: r, Dir: "."})
	}
	s, err := Start(sources, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestProtocol(t *testing.T) {
	s, _ := start(t)
	base := s.URL + "/example.com/clever/clever-db/@v/"
	if code, body := get(t, base+"list"); code != 200 || body != "v1.3.0\nv1.4.0\n" {
		t.Errorf("list = %d %q", code, body)
	}
	if code, body := get(t, base+"v1.4.0.info"); code != 200 || !strings.Contains(body, `"Version":"v1.4.0"`) {
		t.Errorf("info = %d %q", code, body)
	}
	if code, body := get(t, base+"v1.4.0.mod"); code != 200 || !strings.Contains(body, "json-schema-converter v1.2.0") {
		t.Errorf("mod = %d %q", code, body)
	}
	if code, body := get(t, base+"v1.3.0.mod"); code != 200 || !strings.Contains(body, "json-schema-converter v1.0.0") {
		t.Errorf("mod of an older version = %d %q", code, body)
	}
	if code, _ := get(t, base+"v9.9.9.info"); code != 404 {
		t.Errorf("unknown version: %d, want 404", code)
	}
	if code, _ := get(t, s.URL+"/example.com/other/@v/list"); code != 404 {
		t.Errorf("unknown module: %d, want 404 (so the go command falls back)", code)
	}
	if code, body := get(t, s.URL+"/example.com/clever/clever-api/@latest"); code != 200 || !strings.Contains(body, "v1.0.0") {
		t.Errorf("latest = %d %q", code, body)
	}
}

// TestGoBuildsThroughTheProxy builds clever-api at master with nothing but
// the proxy: the versions it requires come from the workspace's tags.
func TestGoBuildsThroughTheProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	s, dir := start(t)
	modcache := t.TempDir()
	// Module cache files are read-only; make them removable again.
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", modcache).Run() })
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = filepath.Join(dir, "clever-api")
	cmd.Env = append(os.Environ(), "GOPROXY="+s.URL+",off", "GOFLAGS=-mod=mod", "GOSUMDB=off", "GOMODCACHE="+modcache, "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build through the proxy: %v\n%s", err, out)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "clever-api", "go.sum"))
	if err != nil || !strings.Contains(string(sum), "example.com/clever/clever-db v1.4.0 h1:") {
		t.Errorf("go.sum = %q, %v", sum, err)
	}
}

func TestTagDir(t *testing.T) {
	for _, tt := range []struct{ mod, dir, want string }{
		{"example.com/m", ".", "."},
		{"example.com/m/sub", "sub", "sub"},
		{"example.com/m/v2", "v2", "."},
		{"example.com/m/x/v3", "x/v3", "x"},
		{"example.com/m/v2", ".", "."},
		{"example.com/m/v2", "other", "other"},
		{"gopkg.in/yaml.v3", "v3", "v3"},
	} {
		if got := TagDir(tt.mod, tt.dir); got != tt.want {
			t.Errorf("TagDir(%s, %s) = %s, want %s", tt.mod, tt.dir, got, tt.want)
		}
	}
}

// TestServesNextMajorPath serves a branch that moves a workspace module to
// its /v2 path under that path, from the same repo; a path that is no
// workspace module's at any major version stays unknown.
func TestServesNextMajorPath(t *testing.T) {
	s, dir := start(t)
	ctx := context.Background()
	if _, _, err := demo.MoveToV2(ctx, dir); err != nil {
		t.Fatal(err)
	}
	r, err := gitrepo.Open(filepath.Join(dir, "clever-db"))
	if err != nil {
		t.Fatal(err)
	}
	commit, err := r.Resolve(ctx, "refs/heads/strict-where")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := r.CommitTime(ctx, commit)
	if err != nil {
		t.Fatal(err)
	}
	v := module.PseudoVersion("v2", "", time.Unix(sec, 0), commit[:12])
	base := s.URL + "/example.com/clever/clever-db/v2/@v/"
	if code, body := get(t, base+v+".mod"); code != 200 || !strings.HasPrefix(body, "module example.com/clever/clever-db/v2\n") {
		t.Errorf("v2 mod = %d %q", code, body)
	}
	if code, body := get(t, base+v+".info"); code != 200 || !strings.Contains(body, commit) {
		t.Errorf("v2 info = %d %q", code, body)
	}
	if code, body := get(t, base+"list"); code != 200 || body != "" {
		t.Errorf("v2 list = %d %q (no v2 tag yet)", code, body)
	}
	if code, _ := get(t, s.URL+"/example.com/clever/clever-jobs/v2/@v/list"); code != 404 {
		t.Errorf("a module outside the proxy's sources at v2: %d, want 404", code)
	}
}

// TestRefusesOversizeManifest: a version whose tree holds a manifest over
// the limit is not served (go.mod nor zip), and Refused finds the proxy's
// answer in the go command's output, naming the module and version.
func TestRefusesOversizeManifest(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"go.mod": "module example.com/big\n\ngo 1.22\n", "big.go": "package big\n",
		"web/package.json": strings.Repeat(" ", gitrepo.MaxManifest+1)} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "v1"}, {"tag", "v1.0.0"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t",
			"GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	r, err := gitrepo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start([]Source{{Module: "example.com/big", Repo: r, Dir: "."}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := s.URL + "/example.com/big/@v/v1.0.0"
	if code, _ := get(t, base+".info"); code != 200 {
		t.Errorf("info = %d", code)
	}
	for _, ext := range []string{".mod", ".zip"} {
		code, body := get(t, base+ext)
		if code != http.StatusForbidden || !strings.HasPrefix(body, "cascade refuses to serve example.com/big@v1.0.0 (repository "+dir+"): web/package.json at ") {
			t.Fatalf("%s = %d %q; want it refused", ext, code, body)
		}
		out := "go: downloading example.com/big v1.0.0\nx.go:3:8: example.com/big@v1.0.0: reading " + base + ext + ": 403 Forbidden\n\tserver response: " + body
		err := Refused(out)
		if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "the workspace module proxy refused to serve example.com/big@v1.0.0 (repository "+dir+"): web/package.json at ") ||
			!strings.Contains(err.Error(), "is 4194305 bytes; cascade reads a manifest of at most 4194304 bytes") {
			t.Errorf("Refused = %v", err)
		}
	}
	if err := Refused("x.go:3:8: no required module provides package example.com/nope\n"); err != nil {
		t.Errorf("Refused(an ordinary failure) = %v", err)
	}
}
