package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/identity"
)

// clientEnv is the demo organisation with a started release of sync-docs
// in a SQLite state database, a real cascade server over it on a
// 127.0.0.1 port, and alice logged in to it.
type clientEnv struct {
	dir, db, url string
	logs         *urlWatch
}

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	gitconfig := filepath.Join(tmp, "gitconfig")
	if err := os.WriteFile(gitconfig, []byte("[user]\n\tname = Client Test\n\temail = client@cascade.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"CASCADE_CACHE_DIR": filepath.Join(tmp, "cache"), "CASCADE_DB": "", "CASCADE_SIGNING_KEY": "", "CASCADE_SERVER": "",
		"XDG_CONFIG_HOME": filepath.Join(tmp, "config"),
		"GOPROXY":         "off", "GOTOOLCHAIN": "local", "GOFLAGS": "",
		"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": gitconfig,
	} {
		t.Setenv(k, v)
	}
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", tmp).Run() })
	e := &clientEnv{dir: filepath.Join(tmp, "org"), db: filepath.Join(tmp, "state.db")}
	if _, err := demo.Build(ctx, e.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.PrepareSyncCounts(ctx, e.dir); err != nil {
		t.Fatal(err)
	}
	// The server signs release actions with its key, listed in cascade.yaml.
	serverKey := filepath.Join(tmp, "server_key")
	pub, err := identity.GenerateKey(ctx, serverKey, "cascade-server@test")
	if err != nil {
		t.Fatal(err)
	}
	yml := filepath.Join(e.dir, "cascade.yaml")
	data, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(yml, append(data, []byte("servers:\n  - name: test-server\n    keys: [\""+strings.TrimSpace(pub)+"\"]\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must(t, "plan", "new", "sync-docs", "--title", "Document district-sync", "--manager", "alice",
		"--change", "district-sync@sync-docs", "--version", "district-sync=v1.0.0")
	e.must(t, "release", "start", "sync-docs", "--db", e.db, "--key", filepath.Join(e.dir, "keys", "alice"))

	// `cascade serve` itself, in-process on a free 127.0.0.1 port.
	sctx, cancel := context.WithCancel(ctx)
	urls := make(chan string, 1)
	out := &urlWatch{found: urls}
	logs := &urlWatch{}
	e.logs = logs
	done := make(chan int, 1)
	go func() {
		done <- Main(sctx, []string{"--workspace", filepath.Join(e.dir, "cascade.yaml"), "--quiet", "serve", "--addr", "127.0.0.1:0", "--db", e.db, "--key", serverKey},
			strings.NewReader(""), out, logs)
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case e.url = <-urls:
	case code := <-done:
		t.Fatalf("cascade serve: exit %d\n%s", code, out.String())
	}
	e.must(t, "login", "--server", e.url, "--key", filepath.Join(e.dir, "keys", "alice"), "--person", "alice")
	return e
}

// run runs cascade in the organisation (with its state database).
func (e *clientEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return run(t, append([]string{"--workspace", filepath.Join(e.dir, "cascade.yaml"), "--quiet"}, args...)...)
}

func (e *clientEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := e.run(t, args...)
	if code != 0 {
		t.Fatalf("cascade %s: exit %d\n%s%s\nserver:\n%s", strings.Join(args, " "), code, stdout, stderr, e.logs.String())
	}
	return stdout
}

// TestClientMode: each read command prints through --server exactly what
// it prints locally, text and JSON, with the same exit code; a missing or
// refused token is exit 2, a server that is down exit 3.
func TestClientMode(t *testing.T) {
	e := newClientEnv(t)
	db := []string{"--db", e.db}
	for _, c := range []struct {
		args  []string
		local []string // flags local mode needs besides
	}{
		{[]string{"release", "status", "sync-docs"}, db},
		{[]string{"release", "status", "sync-docs", "--json"}, db},
		{[]string{"release", "log", "sync-docs"}, db},
		{[]string{"release", "log", "sync-docs", "--verify"}, db},
		{[]string{"release", "log", "sync-docs", "--verify", "--json"}, db},
		{[]string{"plan", "list"}, nil},
		{[]string{"plan", "list", "--json"}, nil},
		{[]string{"plan", "show", "sync-docs"}, nil},
		{[]string{"plan", "show", "sync-docs", "--json"}, nil},
		{[]string{"plan", "show", "no-such-plan"}, nil},
		{[]string{"downstream", "clever-db"}, nil},
		{[]string{"downstream", "clever-db", "--json"}, nil},
		{[]string{"upstream", "district-sync", "--direct"}, nil},
		{[]string{"upstream", "district-sync", "--json"}, nil},
		{[]string{"graph", "--format", "json"}, nil},
		{[]string{"release", "status", "no-such-plan"}, db},
		{[]string{"downstream", "no-such-repo"}, nil},
	} {
		name := strings.Join(c.args, " ")
		lcode, lout, _ := e.run(t, append(c.args, c.local...)...)
		rcode, rout, rerr := e.run(t, append(c.args, "--server", e.url)...)
		if rcode != lcode {
			t.Errorf("%s: exit %d through the server, %d locally\n%s", name, rcode, lcode, rerr)
		}
		if rout != lout {
			t.Errorf("%s: through the server printed\n%s\nlocally\n%s", name, rout, lout)
		}
		if lcode == 0 && lout == "" {
			t.Errorf("%s: printed nothing", name)
		}
	}

	// A command that cannot act through a server refuses --server rather
	// than act here.
	if code, _, stderr := e.run(t, "release", "next", "sync-docs", "--server", e.url); code != ExitUsage || !strings.Contains(stderr, "does not act through a server") {
		t.Errorf("release next --server: exit %d, %s", code, stderr)
	}

	// Release actions through the server, signed by it for alice.
	if code, out, stderr := e.run(t, "release", "override", "sync-docs", "1", "--reason", "done by hand", "--server", e.url); code != 0 ||
		!strings.HasPrefix(out, "overrode step 1 (") || !strings.HasSuffix(out, ") as alice: done by hand\n") {
		t.Errorf("release override --server: exit %d\n%s%s\nserver:\n%s", code, out, stderr, e.logs.String())
	}
	if out := e.must(t, "release", "log", "sync-docs", "--db", e.db); !strings.Contains(out, "done by hand") {
		t.Errorf("the override is not in the audit log:\n%s", out)
	}
	if code, _, stderr := e.run(t, "release", "confirm", "sync-docs", "no-such-step", "--server", e.url); code != ExitUsage {
		t.Errorf("release confirm of no step: exit %d, %s", code, stderr)
	}
	// Bob is not the release manager: 403 is exit 1 with the server's reason.
	e.must(t, "login", "--server", e.url, "--key", filepath.Join(e.dir, "keys", "bob"), "--person", "bob")
	if code, _, stderr := e.run(t, "release", "abort", "sync-docs", "--reason", "no", "--server", e.url); code != ExitProblem || !strings.Contains(stderr, "only the release manager") {
		t.Errorf("release abort by bob: exit %d, %s", code, stderr)
	}
	e.must(t, "login", "--server", e.url, "--key", filepath.Join(e.dir, "keys", "alice"), "--person", "alice")
	if code, out, stderr := e.run(t, "release", "abort", "sync-docs", "--reason", "the test ends", "--server", e.url); code != 0 || !strings.HasPrefix(out, "aborted the release of sync-docs: the test ends\n") {
		t.Errorf("release abort --server: exit %d\n%s%s", code, out, stderr)
	}
	if out := e.must(t, "release", "status", "sync-docs", "--db", e.db); !strings.Contains(out, "aborted") {
		t.Errorf("the release after abort:\n%s", out)
	}

	// $CASCADE_SERVER is --server's default.
	t.Setenv("CASCADE_SERVER", e.url)
	if code, out, stderr := e.run(t, "plan", "list"); code != 0 || !strings.Contains(out, "sync-docs") {
		t.Errorf("plan list with CASCADE_SERVER: exit %d\n%s%s", code, out, stderr)
	}
	// A release command that cannot act through the server is refused,
	// not taken here, when CASCADE_SERVER says the server's state is meant.
	if code, _, stderr := e.run(t, "release", "next", "sync-docs"); code != ExitUsage || !strings.Contains(stderr, "unset CASCADE_SERVER") {
		t.Errorf("release next with CASCADE_SERVER: exit %d, %s", code, stderr)
	}
	t.Setenv("CASCADE_SERVER", "")

	// No token stored for a server: exit 2, saying to log in.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	if code, _, stderr := e.run(t, "plan", "list", "--server", other.URL); code != ExitUsage || !strings.Contains(stderr, "cascade login --server") {
		t.Errorf("no token: exit %d, %s", code, stderr)
	}
	// Plain HTTP to another machine is refused before anything is sent.
	if code, _, stderr := e.run(t, "plan", "list", "--server", "http://cascade.example"); code != ExitUsage || !strings.Contains(stderr, "https://") {
		t.Errorf("http to another host: exit %d, %s", code, stderr)
	}
	// A server that is down: exit 3.
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	editToken(t, e.url, downURL, func(*auth.StoredToken) {})
	if code, _, stderr := e.run(t, "plan", "list", "--server", downURL); code != ExitInfra || !strings.Contains(stderr, "cannot reach") {
		t.Errorf("server down: exit %d, %s", code, stderr)
	}
	// A token the server refuses: exit 2, saying to log in again.
	editToken(t, e.url, e.url, func(tok *auth.StoredToken) { tok.Token += "x" })
	if code, _, stderr := e.run(t, "plan", "list", "--server", e.url); code != ExitUsage || !strings.Contains(stderr, "again") {
		t.Errorf("revoked token: exit %d, %s", code, stderr)
	}
}

// editToken stores the token kept for server from under to, after edit.
func editToken(t *testing.T, from, to string, edit func(*auth.StoredToken)) {
	t.Helper()
	file := auth.CredentialsFile(os.Getenv("XDG_CONFIG_HOME"))
	creds, err := auth.LoadCredentials(file)
	if err != nil {
		t.Fatal(err)
	}
	fromO, err := auth.Origin(from)
	if err != nil {
		t.Fatal(err)
	}
	toO, err := auth.Origin(to)
	if err != nil {
		t.Fatal(err)
	}
	tok, ok := creds.Servers[fromO]
	if !ok {
		t.Fatalf("no token for %s in %s", fromO, file)
	}
	edit(&tok)
	creds.Servers[toO] = tok
	if err := creds.Save(file); err != nil {
		t.Fatal(err)
	}
}

// urlWatch passes on the URL `cascade serve` says it serves on.
type urlWatch struct {
	mu    sync.Mutex
	buf   strings.Builder
	found chan string
	sent  bool
}

func (w *urlWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent && w.found != nil {
		for _, line := range strings.Split(w.buf.String(), "\n") {
			if i := strings.Index(line, " on http://"); strings.HasPrefix(line, "cascade: serving ") && i >= 0 && strings.HasSuffix(line, "/") {
				w.found <- strings.TrimSuffix(line[i+len(" on "):], "/")
				w.sent = true
				break
			}
		}
	}
	return len(p), nil
}

func (w *urlWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
