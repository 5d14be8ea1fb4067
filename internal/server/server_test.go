package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/server"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// TestDocumentsMatchCommandLine: every read route answers with the very
// bytes the matching command prints with --json, on SQLite and PostgreSQL,
// and every answer is what the OpenAPI description says.
func TestDocumentsMatchCommandLine(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			e := newEnv(t, be, true, nil)
			cases := []struct {
				path string
				args []string
			}{
				{"/api/v1/graph", []string{"graph", "--format", "json"}},
				{"/api/v1/repos/clever-db/downstream", []string{"downstream", "clever-db", "--json"}},
				{"/api/v1/repos/example.com%2Fclever%2Fclever-api/upstream?direct=true", []string{"upstream", "example.com/clever/clever-api", "--direct", "--json"}},
				{"/api/v1/plans", []string{"plan", "list", "--json"}},
				{"/api/v1/plans/sync-docs", []string{"plan", "show", "sync-docs", "--format", "json"}},
				{"/api/v1/releases/sync-docs", []string{"release", "status", "sync-docs", "--json", "--db", e.db}},
				{"/api/v1/releases/sync-docs/log", []string{"release", "log", "sync-docs", "--json", "--db", e.db}},
				{"/api/v1/releases/sync-docs/log?verify=1", []string{"release", "log", "sync-docs", "--verify", "--json", "--db", e.db}},
			}
			for _, c := range cases {
				r := get(t, e.url+c.path)
				want, stderr := runCLISplit(e.dir, c.args...)
				if want.code != 0 {
					t.Fatalf("cascade %s: exit %d\n%s", strings.Join(c.args, " "), want.code, stderr)
				}
				if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
					t.Errorf("GET %s = %d %s\n%s", c.path, r.status, r.header.Get("Content-Type"), r.body)
					continue
				}
				if diff := cmp.Diff(want.out, string(r.body)); diff != "" {
					t.Errorf("GET %s differs from cascade %s (-cli +server):\n%s", c.path, strings.Join(c.args, " "), diff)
				}
				validate(t, "GET", c.path, r)
			}
			// The release the CLI started is the one the API shows.
			var st struct {
				Plan  string `json:"plan"`
				State string `json:"state"`
				Steps []struct{ State string }
			}
			if err := json.Unmarshal(get(t, e.url+"/api/v1/releases/sync-docs").body, &st); err != nil || st.Plan != "sync-docs" || st.State != "active" || len(st.Steps) == 0 {
				t.Errorf("release status = %+v, %v; want the active release of sync-docs", st, err)
			}
			for _, p := range []string{"/api/v1/repos", "/api/v1/repos/clever-db", "/api/v1/audit", "/healthz", "/readyz", "/api/v1/openapi.json"} {
				r := get(t, e.url+p)
				if r.status != 200 {
					t.Errorf("GET %s = %d\n%s", p, r.status, r.body)
				}
				validate(t, "GET", p, r)
			}
			var audit struct {
				Entries  []json.RawMessage `json:"entries"`
				Verified bool              `json:"verified"`
			}
			json.Unmarshal(get(t, e.url+"/api/v1/audit").body, &audit)
			if len(audit.Entries) == 0 || !audit.Verified {
				t.Errorf("audit: %d entries, verified %v; want the release's entries, verified", len(audit.Entries), audit.Verified)
			}
		})
	}
}

// TestBadRequests: unknown routes, wrong methods, plan ids that are paths,
// unknown repos and bad parameters are clear 4xx problem documents, and
// nothing is written.
func TestBadRequests(t *testing.T) {
	e := newEnv(t, storetest.Backend{Name: "sqlite", New: storetest.SQLite}, true, nil)
	planFile := filepath.Join(e.dir, "plans", "sync-docs.yaml")
	before, _ := os.ReadFile(planFile)
	entries, _ := e.st.Entries(context.Background(), "")
	cases := []struct {
		method, path string
		status       int
		kind, detail string
	}{
		{"GET", "/api/v1/nothing", 404, "not_found", "no route GET /api/v1/nothing"},
		{"GET", "/", 404, "not_found", "no route GET /"},
		{"POST", "/api/v1/graph", 405, "invalid", "/api/v1/graph does not take POST; it takes GET, HEAD"},
		{"DELETE", "/api/v1/releases/sync-docs", 405, "invalid", "does not take DELETE"},
		{"GET", "/api/v1/plans/..%2f..%2fcascade", 400, "invalid", `invalid plan id "../../cascade"`},
		{"GET", "/api/v1/plans/..%2fplans%2fsync-docs", 400, "invalid", "invalid plan id"},
		{"GET", "/api/v1/releases/%2e%2e", 400, "invalid", `invalid plan id ".."`},
		{"GET", "/api/v1/releases/Sync-Docs/log", 400, "invalid", "invalid plan id"},
		{"GET", "/api/v1/plans/" + strings.Repeat("a", 65), 400, "invalid", "invalid plan id"},
		{"GET", "/api/v1/plans/no-such-plan", 404, "not_found", `no plan "no-such-plan"`},
		{"GET", "/api/v1/releases/no-such-plan/log", 404, "not_found", `no plan "no-such-plan"`},
		{"GET", "/api/v1/repos/no-such-repo", 404, "not_found", "no-such-repo"},
		{"GET", "/api/v1/repos/no-such-repo/downstream", 404, "not_found", "no-such-repo"},
		{"GET", "/api/v1/repos/clever-db/downstream?direct=maybe", 400, "invalid", `direct="maybe": want true or false`},
		{"GET", "/api/v1/releases/sync-docs/log?verify=yes", 400, "invalid", `verify="yes"`},
	}
	for _, c := range cases {
		r := do(t, c.method, e.url+c.path, nil)
		var p server.Problem
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Errorf("%s %s: not JSON: %v\n%s", c.method, c.path, err, r.body)
			continue
		}
		if r.status != c.status || r.header.Get("Content-Type") != "application/problem+json" || p.Status != c.status ||
			p.Kind != c.kind || p.Type != server.ProblemType+c.kind || p.Title != http.StatusText(c.status) || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s %s = %d %s %+v; want %d %s with %q", c.method, c.path, r.status, r.header.Get("Content-Type"), p, c.status, c.kind, c.detail)
		}
		if c.status != 405 {
			validate(t, c.method, c.path, r)
		}
	}
	// An unknown repo is refused, not "no repos downstream".
	after, _ := os.ReadFile(planFile)
	now, _ := e.st.Entries(context.Background(), "")
	if string(after) != string(before) || len(now) != len(entries) {
		t.Errorf("bad requests changed the plan file or the audit log (%d entries, then %d)", len(entries), len(now))
	}
}

// TestStatusOfKinds: the one table from error kinds to statuses.
func TestStatusOfKinds(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		kind   string
	}{
		{errkind.New(errkind.Invalid, "x"), 400, "invalid"},
		{errkind.New(errkind.NotFound, "x"), 404, "not_found"},
		{errkind.New(errkind.Unauthorized, "x"), 403, "unauthorized"},
		{errkind.New(errkind.Conflict, "x"), 409, "conflict"},
		{errkind.New(errkind.Waiting, "x"), 409, "waiting"},
		{errkind.New(errkind.Problem, "x"), 422, "problem"},
		{errkind.New(errkind.Infra, "x"), 502, "infra"},
		{errors.New("x"), 500, "other"},
	} {
		p := server.ProblemOf(c.err)
		if p.Status != c.status || p.Kind != c.kind || server.Status(c.err) != c.status {
			t.Errorf("%v (%s) = %d %s; want %d %s", c.err, errkind.Of(c.err), p.Status, p.Kind, c.status, c.kind)
		}
	}
	if p := server.ProblemOf(errors.New("open /secret/path: denied")); strings.Contains(p.Detail, "/secret") {
		t.Errorf("an unclassified error's detail reaches the client: %q", p.Detail)
	}
}

// TestAuditChecksSignatures: the audit route's "verified" covers the
// signatures, not only the hash chain: an entry appended with its hash
// chained but without a person's signature is a problem.
func TestAuditChecksSignatures(t *testing.T) {
	e := newEnv(t, storetest.Backend{Name: "sqlite", New: storetest.SQLite}, true, nil)
	if len(e.srv.Workspace().People) == 0 {
		t.Fatal("the demo workspace lists no people")
	}
	ctx := context.Background()
	if err := e.st.Tx(ctx, func(tx *store.Tx) error {
		return store.Append(ctx, tx, 0, "sync-docs", "2026-12-01T10:00:00Z", "alice", "abort", map[string]any{"reason": "forged"})
	}); err != nil {
		t.Fatal(err)
	}
	var audit struct {
		Verified bool     `json:"verified"`
		Problems []string `json:"problems"`
	}
	r := get(t, e.url+"/api/v1/audit")
	if err := json.Unmarshal(r.body, &audit); err != nil {
		t.Fatal(err)
	}
	if audit.Verified || !strings.Contains(strings.Join(audit.Problems, "\n"), "(abort by alice) is not signed") {
		t.Errorf("audit = %s; want it unverified: the forged entry is not signed", r.body)
	}
	validate(t, "GET", "/api/v1/audit", r)
}
