package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/cli"
	"github.com/cascade-dev/cascade/internal/dashboard"
	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// The demo organisation with plan sync-docs released by alice up to its
// manual deploy step (step 3): built once, copied for each test that
// changes it.
var (
	demoOnce sync.Once
	demoRoot string // removed after the tests
	demoDir  string
	demoErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if demoRoot != "" {
		exec.Command("chmod", "-R", "u+w", demoRoot).Run()
		os.RemoveAll(demoRoot)
	}
	os.Exit(code)
}

// cascadeEnv makes git and go deterministic and offline for the
// in-process cascade commands.
func cascadeEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	gitconfig := filepath.Join(dir, "gitconfig")
	if err := os.WriteFile(gitconfig, []byte("[user]\n\tname = Dashboard Test\n\temail = dashboard@cascade.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": gitconfig, "GOPROXY": "off", "GOFLAGS": "", "GOTOOLCHAIN": "local",
		"CASCADE_DB": "", "CASCADE_SIGNING_KEY": "",
	} {
		t.Setenv(k, v)
	}
}

// cascadeCmd runs a cascade command in-process in org; want is its exit code.
func cascadeCmd(t *testing.T, org string, want int, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"--workspace", filepath.Join(org, "cascade.yaml"), "--cache-dir", filepath.Join(org, ".cache")}, args...)
	if code := cli.Main(context.Background(), full, strings.NewReader(""), &out, &errOut); code != want {
		t.Fatalf("cascade %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out.String(), errOut.String())
	}
	return out.String()
}

// demoOrg returns a fresh copy of the released demo organisation.
func demoOrg(t *testing.T) string {
	t.Helper()
	cascadeEnv(t)
	demoOnce.Do(func() {
		root, err := os.MkdirTemp("", "cascade-dashboard-")
		if err != nil {
			demoErr = err
			return
		}
		demoRoot, demoDir = root, filepath.Join(root, "org")
		demoErr = buildReleasedDemo(t, demoDir)
	})
	if demoErr != nil {
		t.Fatalf("building the demo organisation: %v", demoErr)
	}
	dst := filepath.Join(t.TempDir(), "org")
	if out, err := exec.Command("cp", "-a", demoDir, dst).CombinedOutput(); err != nil {
		t.Fatalf("copying the demo organisation: %v\n%s", err, out)
	}
	return dst
}

func buildReleasedDemo(t *testing.T, org string) error {
	ctx := context.Background()
	if _, err := demo.Build(ctx, org); err != nil {
		return err
	}
	if _, err := demo.PrepareSyncCounts(ctx, org); err != nil {
		return err
	}
	alice := filepath.Join(org, "keys", "alice")
	cascadeCmd(t, org, 0, "plan", "new", "sync-docs", "--title", "Document district-sync", "--manager", "alice",
		"--change", "district-sync@sync-docs", "--version", "district-sync=v1.0.0")
	cascadeCmd(t, org, 0, "plan", "check", "sync-docs")
	cascadeCmd(t, org, 0, "release", "start", "sync-docs", "--key", alice)
	// The gates and the tag run; the deploy waits for a person (exit 4).
	cascadeCmd(t, org, 4, "release", "next", "sync-docs", "--key", alice)
	return nil
}

// source is a dashboard Source over org, as the server opens it.
type source struct {
	*dashboard.Local
	runs *memRuns
}

func openSource(t *testing.T, org string) *source {
	t.Helper()
	ctx := context.Background()
	ws, err := workspace.Load(filepath.Join(org, "cascade.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	repos, err := scan.Workspace(ctx, ws, scan.Options{CacheDir: filepath.Join(org, ".cache")})
	if err != nil {
		t.Fatal(err)
	}
	g := graph.Build(repos)
	st, err := store.Open(ctx, filepath.Join(org, ".cascade", "cascade.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	runs := &memRuns{}
	e := &release.Engine{Store: st, WS: ws, G: g, CacheDir: filepath.Join(org, ".cache"), Now: time.Now}
	return &source{Local: &dashboard.Local{WS: ws, G: g, Engine: e, RunStore: runs}, runs: runs}
}

// memRuns holds verification runs in memory, in place of the server's
// job store.
type memRuns struct {
	mu   sync.Mutex
	runs []dashboard.Run
}

func (m *memRuns) put(r dashboard.Run) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.runs {
		if m.runs[i].ID == r.ID {
			m.runs[i] = r
			return
		}
	}
	m.runs = append([]dashboard.Run{r}, m.runs...)
}

func (m *memRuns) List(context.Context) ([]dashboard.Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.runs), nil
}

func (m *memRuns) Get(_ context.Context, id string) (*dashboard.Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.runs {
		if r.ID == id {
			return &r, nil
		}
	}
	return nil, errkind.New(errkind.NotFound, "no verification run %q", id)
}

// strictWhere is the report of `cascade verify clever-db@strict-where
// --with clever-api@adapt-strict-where --json` on the demo organisation
// (testdata/strict-where.json, recorded from a real run).
func strictWhere(t *testing.T) *verify.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "strict-where.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep verify.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}
