package server_test

import (
	"context"
	"encoding/json"
	"io"

	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/server"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
)

var sqliteBackend = storetest.Backend{Name: "sqlite", New: storetest.SQLite}

// authFunc is an Authenticator from a function.
type authFunc func(r *http.Request) (string, error)

func (f authFunc) Person(r *http.Request) (string, error) { return f(r) }

// TestAuthentication: without --public-read and without a way to log in,
// every read is refused with 401 (never served); with an authenticator,
// a person is served, bad credentials are 401, and public reads serve
// anonymous GETs only. Operations routes stay open.
func TestAuthentication(t *testing.T) {
	closed := newEnv(t, sqliteBackend, false, func(c *server.Config) { c.PublicRead = false })
	for _, p := range []string{"/api/v1/graph", "/api/v1/plans", "/api/v1/releases/sync-docs", "/api/v1/audit", "/api/v1/repos/clever-db/downstream"} {
		r := get(t, closed.url+p)
		if r.status != 401 || r.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(r.body), `"kind":"unauthorized"`) || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without a login = %d %s\n%s; want 401 unauthorized", p, r.status, r.header.Get("Content-Type"), r.body)
		}
		validate(t, "GET", p, r)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"} {
		if r := get(t, closed.url+p); r.status != 200 {
			t.Errorf("GET %s = %d; operations routes need no login", p, r.status)
		}
	}

	auth := authFunc(func(r *http.Request) (string, error) {
		switch r.Header.Get("Authorization") {
		case "Bearer alice-token":
			return "alice", nil
		case "":
			return "", nil
		}
		return "", errkind.New(errkind.Unauthorized, "the token is revoked")
	})
	for _, public := range []bool{false, true} {
		e := newEnv(t, sqliteBackend, false, func(c *server.Config) { c.PublicRead, c.Authenticator = public, auth })
		if r := do(t, "GET", e.url+"/api/v1/graph", nil, "Authorization", "Bearer alice-token"); r.status != 200 {
			t.Errorf("public=%v: alice's read = %d\n%s", public, r.status, r.body)
		}
		r := do(t, "GET", e.url+"/api/v1/graph", nil, "Authorization", "Bearer stolen")
		if r.status != 401 || !strings.Contains(string(r.body), "the token is revoked") {
			t.Errorf("public=%v: a revoked token = %d %s; want 401 naming why", public, r.status, r.body)
		}
		want := 401
		if public {
			want = 200
		}
		if r := get(t, e.url+"/api/v1/graph"); r.status != want {
			t.Errorf("public=%v: an anonymous read = %d; want %d", public, r.status, want)
		}
		if !strings.Contains(e.logs.String(), "person=alice") {
			t.Errorf("public=%v: the request log does not name alice:\n%s", public, e.logs.String())
		}
	}
}

// testJobs is a jobs hook for the tests: a route that decodes a JSON body
// and one that blocks until released.
type testJobs struct {
	started  chan struct{}
	release  chan struct{}
	shutdown bool
	mu       sync.Mutex
}

type echoRequest struct {
	Ref  string   `json:"ref"`
	With []string `json:"with"`
}

func (j *testJobs) Routes() []server.Route {
	return []server.Route{
		{Method: "POST", Pattern: "/api/v1/test/echo", Handle: func(w http.ResponseWriter, r *http.Request) error {
			var req echoRequest
			if err := server.DecodeJSON(r, &req); err != nil {
				return err
			}
			return server.WriteJSON(w, http.StatusCreated, req)
		}},
		{Method: "GET", Pattern: "/api/v1/test/slow", Public: true, Handle: func(w http.ResponseWriter, r *http.Request) error {
			j.started <- struct{}{}
			<-j.release
			return server.WriteJSON(w, http.StatusOK, map[string]string{"finished": "yes"})
		}},
	}
}

func (j *testJobs) Ready(ctx context.Context) error { return nil }

func (j *testJobs) Shutdown(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.shutdown = true
	return nil
}

// TestRequestBodies: a body that is not one JSON object of the expected
// shape is a 400, one over the limit a 413, another media type a 415.
func TestRequestBodies(t *testing.T) {
	e := newEnv(t, sqliteBackend, false, func(c *server.Config) {
		c.Jobs = &testJobs{started: make(chan struct{}, 1), release: make(chan struct{})}
		c.PublicRead = false
		c.Authenticator = authFunc(func(*http.Request) (string, error) { return "alice", nil })
	})
	big := `{"ref":"` + strings.Repeat("a", server.DefaultMaxBody) + `"}`
	cases := []struct {
		body, ctype string
		status      int
		detail      string
	}{
		{`{"ref":"main","with":["clever-api@fix"]}`, "application/json; charset=utf-8", 201, ""},
		{`{"ref":`, "application/json", 400, "not a valid JSON request"},
		{`{"ref":"main","force":true}`, "application/json", 400, `unknown field "force"`},
		{`{"ref":"main"} {"ref":"x"}`, "application/json", 400, "more than one JSON value"},
		{`["main"]`, "application/json", 400, "not a valid JSON request"},
		{``, "application/json", 400, "the body is empty"},
		{big, "application/json", 413, "larger than 1048576 bytes"},
		{`ref=main`, "application/x-www-form-urlencoded", 415, "send application/json"},
	}
	for _, c := range cases {
		r := do(t, "POST", e.url+"/api/v1/test/echo", strings.NewReader(c.body), "Content-Type", c.ctype)
		var p server.Problem
		json.Unmarshal(r.body, &p)
		if r.status != c.status || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("POST %.40q = %d %s; want %d with %q", c.body, r.status, r.body, c.status, c.detail)
		}
		if c.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("POST %.40q: %s; want a problem document", c.body, r.header.Get("Content-Type"))
		}
	}
}

// TestRescanOnHeadChange: the graph is scanned once, served from memory,
// and scanned again only when a repo's head moved.
func TestRescanOnHeadChange(t *testing.T) {
	e := newEnv(t, sqliteBackend, false, func(c *server.Config) { c.RescanEvery = time.Nanosecond })
	scans := func() int { return strings.Count(e.logs.String(), "workspace scanned") }
	commitOf := func() string {
		var doc struct {
			Commit string `json:"commit"`
		}
		json.Unmarshal(get(t, e.url+"/api/v1/repos/clever-db").body, &doc)
		return doc.Commit
	}
	before := commitOf()
	for range 5 {
		get(t, e.url+"/api/v1/graph")
	}
	if n := scans(); n != 1 {
		t.Fatalf("%d scans for 6 requests of an unchanged workspace; want the first only", n)
	}
	repo := filepath.Join(e.dir, "clever-db")
	if out, err := exec.Command("git", "-C", repo, "commit", "-q", "--allow-empty", "-m", "moves the head").CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	after := commitOf()
	if after == before || after == "" || scans() != 2 {
		t.Errorf("after a commit to clever-db: commit %s (was %s), %d scans; want a new commit from a second scan", after, before, scans())
	}
	get(t, e.url+"/api/v1/graph")
	if scans() != 2 {
		t.Errorf("%d scans; an unchanged head must not rescan", scans())
	}
}

// TestOperations: /healthz, /readyz (503 when the database is gone) and
// /metrics with request durations by route pattern and status.
func TestOperations(t *testing.T) {
	e := newEnv(t, sqliteBackend, false, nil)
	get(t, e.url+"/api/v1/graph")
	get(t, e.url+"/api/v1/plans/no-such-plan")
	r := get(t, e.url+"/metrics")
	for _, want := range []string{
		`cascade_http_request_duration_seconds_count{code="200",route="GET /api/v1/graph"} 1`,
		`cascade_http_request_duration_seconds_count{code="404",route="GET /api/v1/plans/{plan}"} 1`,
		`cascade_http_requests_in_flight 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	r = get(t, e.url+"/readyz")
	if r.status != 200 || !strings.Contains(string(r.body), `"status": "ready"`) {
		t.Errorf("/readyz = %d %s", r.status, r.body)
	}

	// A server whose database went away is alive but not ready.
	st, err := store.Open(context.Background(), storetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{WorkspaceFile: filepath.Join(e.dir, "cascade.yaml"), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, srv)
	st.Close()
	if r := get(t, url+"/healthz"); r.status != 200 {
		t.Errorf("/healthz = %d; want 200 (the process is alive)", r.status)
	}
	r = get(t, url+"/readyz")
	if r.status != 503 || !strings.Contains(string(r.body), `"status": "not ready"`) || !strings.Contains(string(r.body), "sql: database is closed") {
		t.Errorf("/readyz without its database = %d %s; want 503 naming the store", r.status, r.body)
	}
	validate(t, "GET", "/readyz", r)
}

// TestGracefulShutdown: when Serve's context ends, the server stops
// accepting connections, lets the request in flight finish, shuts the
// jobs down and returns nil.
func TestGracefulShutdown(t *testing.T) {
	jobs := &testJobs{started: make(chan struct{}, 1), release: make(chan struct{})}
	e := newEnv(t, sqliteBackend, false, nil)
	srv, err := server.New(server.Config{WorkspaceFile: filepath.Join(e.dir, "cascade.yaml"), Store: e.st, Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	type result struct {
		r   response
		err error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/api/v1/test/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		slow <- result{r: response{status: resp.StatusCode, body: body}, err: err}
	}()
	<-jobs.started
	cancel()
	// New connections are refused once shutdown began.
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 30s after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) while a request was in flight", err)
	default:
	}
	close(jobs.release)
	res := <-slow
	if res.err != nil || res.r.status != 200 || !strings.Contains(string(res.r.body), `"finished": "yes"`) {
		t.Errorf("the request in flight = %d %s, %v; want it finished", res.r.status, res.r.body, res.err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve = %v; want nil after a shutdown", err)
	}
	jobs.mu.Lock()
	defer jobs.mu.Unlock()
	if !jobs.shutdown {
		t.Error("the jobs were not shut down")
	}
}

// TestPages: with pages (the dashboard), every path outside the API and
// the operations routes is theirs, with their own errors; the API keeps
// its problem documents, 404s and 405s.
func TestPages(t *testing.T) {
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.Error(w, "no such page", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>page "+r.URL.Path+"</p>")
	})
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token":"t"}`)
	})
	e := newEnv(t, sqliteBackend, true, func(c *server.Config) {
		c.Pages = pages
		c.PublicRead = false
		c.Routes = []server.Route{{Method: "POST", Pattern: "/api/v1/login", Public: true, Handle: func(w http.ResponseWriter, r *http.Request) error {
			login.ServeHTTP(w, r)
			return nil
		}}}
	})
	for _, c := range []struct {
		method, path string
		status       int
		ctype, body  string
	}{
		{"GET", "/", 200, "text/html", "<p>page /</p>"},
		{"GET", "/releases/sync-docs", 200, "text/html", "<p>page /releases/sync-docs</p>"},
		{"GET", "/missing", 404, "text/plain; charset=utf-8", "no such page"},
		{"GET", "/api/v1/nothing", 404, "application/problem+json", "no route GET /api/v1/nothing"},
		{"GET", "/api", 404, "application/problem+json", "no route GET /api"},
		{"POST", "/api/v1/graph", 405, "application/problem+json", "does not take POST"},
		{"GET", "/healthz", 200, "application/json", `"status": "ok"`},
		{"GET", "/api/v1/releases/sync-docs", 401, "application/problem+json", "needs a login"},
		{"POST", "/api/v1/login", 200, "application/json", `{"token":"t"}`},
		{"GET", "/api/v1/login", 405, "application/problem+json", "does not take GET"},
	} {
		r := do(t, c.method, e.url+c.path, nil)
		if r.status != c.status || r.header.Get("Content-Type") != c.ctype || !strings.Contains(string(r.body), c.body) {
			t.Errorf("%s %s = %d %s %q; want %d %s with %q", c.method, c.path, r.status, r.header.Get("Content-Type"), r.body, c.status, c.ctype, c.body)
		}
	}
	if m := get(t, e.url+"/metrics"); !strings.Contains(string(m.body), `cascade_http_request_duration_seconds_count{code="404",route="pages"} 1`) {
		t.Error("/metrics does not count the pages' requests under route=pages")
	}
	// The status the pages would show is the API's.
	st, err := e.srv.ReleaseStatus(context.Background(), "sync-docs")
	if err != nil || st.Plan != "sync-docs" || len(st.Steps) == 0 || st.Tampered != "" {
		t.Errorf("ReleaseStatus = %+v, %v", st, err)
	}
	if _, err := e.srv.ReleaseStatus(context.Background(), "../x"); errkind.Of(err) != errkind.Invalid {
		t.Errorf("ReleaseStatus(../x) = %v; want an invalid plan id", err)
	}
	if e.srv.Graph() == nil || e.srv.Workspace() == nil || len(e.srv.Graph().Repos) != len(e.srv.Workspace().Repos) {
		t.Error("Graph and Workspace do not give the scanned workspace")
	}
}

// TestBrokenWorkspaceTrustsNoOne: while cascade.yaml does not read, the
// server serves the last scan but trusts no people (so a person or key
// taken out of a file left broken is not kept trusted); mended, it
// trusts the file's people again.
func TestBrokenWorkspaceTrustsNoOne(t *testing.T) {
	e := newEnv(t, sqliteBackend, false, func(c *server.Config) { c.RescanEvery = time.Nanosecond })
	if len(e.srv.People()) == 0 {
		t.Fatal("the demo workspace lists no people")
	}
	file := filepath.Join(e.dir, "cascade.yaml")
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append([]byte("people: [\n"), good...), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := e.srv.People(); p != nil {
		t.Errorf("People() with a broken cascade.yaml = %v; want none", p)
	}
	if len(e.srv.Workspace().Repos) == 0 {
		t.Error("the last scan is no longer served")
	}
	if err := os.WriteFile(file, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(e.srv.People()) == 0 {
		t.Error("People() after cascade.yaml was mended: none; want the file's people")
	}
}
