package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/cli"
	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/server"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// root holds what the tests of this package share: the demo
// organisation, built once, with the plan sync-docs written.
var root string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cascade-server-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	root = dir
	gitconfig := filepath.Join(dir, "gitconfig")
	os.WriteFile(gitconfig, []byte("[user]\n\tname = Server Test\n\temail = server@cascade.example\n"), 0o644)
	for k, v := range map[string]string{
		"CASCADE_CACHE_DIR": filepath.Join(dir, "cache"), "CASCADE_DB": "", "CASCADE_SIGNING_KEY": "",
		"GOPROXY": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "",
		"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": gitconfig,
	} {
		os.Setenv(k, v)
	}
	code := m.Run()
	exec.Command("chmod", "-R", "u+w", dir).Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildDemo = sync.OnceValues(func() (string, error) {
	ctx := context.Background()
	dir := filepath.Join(root, "demo")
	if _, err := demo.Build(ctx, dir); err != nil {
		return "", err
	}
	if _, err := demo.PrepareSyncCounts(ctx, dir); err != nil {
		return "", err
	}
	if code, out := runCLI(dir, "plan", "new", "sync-docs", "--title", "Document district-sync", "--manager", "alice",
		"--change", "district-sync@sync-docs", "--version", "district-sync=v1.0.0"); code != 0 {
		return "", fmt.Errorf("plan new: exit %d\n%s", code, out)
	}
	return dir, nil
})

// runCLI runs cascade in-process in the workspace dir and returns its
// exit code and what it printed (stdout, then stderr).
func runCLI(dir string, args ...string) (int, string) {
	stdout, stderr := runCLISplit(dir, args...)
	return stdout.code, stdout.out + stderr
}

type cliResult struct {
	code int
	out  string
}

func runCLISplit(dir string, args ...string) (cliResult, string) {
	var stdout, stderr bytes.Buffer
	args = append([]string{"--workspace", filepath.Join(dir, "cascade.yaml"), "--quiet"}, args...)
	code := cli.Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return cliResult{code, stdout.String()}, stderr.String()
}

// env is one demo workspace with a state database and a server on it.
type env struct {
	dir  string
	db   string
	st   *store.Store
	srv  *server.Server
	url  string
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// workspaceCopy copies the demo organisation for one test: a release
// writes its audit head into the plan file, so each database needs its
// own workspace.
func workspaceCopy(t testing.TB) string {
	t.Helper()
	src, err := buildDemo()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "org")
	if out, err := exec.Command("cp", "-a", src, dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the demo: %v\n%s", err, out)
	}
	return dir
}

// startRelease starts the release of sync-docs in db, as alice.
func startRelease(t testing.TB, dir, db string) {
	t.Helper()
	if code, out := runCLI(dir, "release", "start", "sync-docs", "--db", db, "--key", filepath.Join(dir, "keys", "alice")); code != 0 {
		t.Fatalf("release start: exit %d\n%s", code, out)
	}
}

// newEnv starts a server on a copy of the demo with a database of the
// backend, a started release of sync-docs in it; cfg adjusts the config.
func newEnv(t testing.TB, backend storetest.Backend, release bool, cfg func(*server.Config)) *env {
	t.Helper()
	e := &env{dir: workspaceCopy(t), db: backend.New(t), logs: &syncBuffer{}}
	if release {
		startRelease(t, e.dir, e.db)
	}
	st, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	c := server.Config{
		WorkspaceFile: filepath.Join(e.dir, "cascade.yaml"), Store: st, CacheDir: os.Getenv("CASCADE_CACHE_DIR"),
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), PublicRead: true,
	}
	if cfg != nil {
		cfg(&c)
	}
	srv, err := server.New(c)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.url = serve(t, srv)
	return e
}

// serve runs srv on a 127.0.0.1 port until t ends and returns its URL.
func serve(t testing.TB, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("Serve did not return a minute after its context ended")
		}
	})
	return "http://" + ln.Addr().String()
}

// response is one answer of the server.
type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, method, url string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

func get(t testing.TB, url string) response { return do(t, "GET", url, nil) }
