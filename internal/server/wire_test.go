package server_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/server"
	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// TestWholeServerRefuses: the routes cascade serve adds refuse what they
// must, with a problem document that validates against the description,
// and write nothing: no login (401), a dashboard form without its CSRF
// token (403), a release action through a server cascade.yaml does not
// list (403, for anyone; the manager's right is checked end to end in
// cmd/cascade's TestServeWhole), a verification
// of an unknown repo or with an unknown field (400), an unknown run (404).
func TestWholeServerRefuses(t *testing.T) {
	var svc *auth.Service
	e := newEnv(t, storetest.Backend{Name: "sqlite", New: storetest.SQLite}, true, func(c *server.Config) {
		wholeServer(t)(c)
		svc = c.Authenticator.(*auth.Service)
		c.PublicRead = false
		c.Actions.PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJbYz3d6eW9/MjdqgM5Y+Eq4PYrbFBsCbhuE+41xM73j server"
	})
	alice := loginToken(t, svc, filepath.Join(e.dir, "keys", "alice"), "alice")
	bob := loginToken(t, svc, filepath.Join(e.dir, "keys", "bob"), "bob")
	// alice's dashboard session, as the login form makes it.
	ctx := context.Background()
	ch, err := svc.NewChallenge(ctx, "alice", "web")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := auth.Sign(ctx, filepath.Join(e.dir, "keys", "alice"), false, ch.Statement)
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := svc.Login(ctx, "alice", ch.Nonce, sig, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, session, err := svc.Redeem(ctx, "alice", code, "test")
	if err != nil {
		t.Fatal(err)
	}
	logBefore := string(do(t, "GET", e.url+"/api/v1/audit", nil, "Authorization", "Bearer "+alice).body)
	runsBefore := string(do(t, "GET", e.url+"/api/v1/verifications", nil, "Authorization", "Bearer "+alice).body)
	confirm := e.url + "/api/v1/releases/sync-docs/steps/3/confirm"
	form := url.Values{"input.x": {"1"}}.Encode()
	for _, c := range []struct {
		name, method, path, body string
		header                   []string
		status                   int
		says                     string
	}{
		{"no login", "POST", "/api/v1/verifications", `{"upstream": "clever-db@strict-where"}`, nil, 401, "log in"},
		{"no login, a run", "GET", "/api/v1/verifications/1", "", nil, 401, "log in"},
		{"an unknown repo", "POST", "/api/v1/verifications", `{"upstream": "nope@main"}`, []string{"Authorization", "Bearer " + alice}, 400, "nope"},
		{"an unknown field", "POST", "/api/v1/verifications", `{"upstream": "clever-db@strict-where", "shell": "rm -rf /"}`, []string{"Authorization", "Bearer " + alice}, 400, "shell"},
		{"no upstream", "POST", "/api/v1/verifications", `{}`, []string{"Authorization", "Bearer " + alice}, 400, "upstream"},
		{"an unknown run", "GET", "/api/v1/verifications/999", "", []string{"Authorization", "Bearer " + alice}, 404, "999"},
		{"not a run id", "GET", "/api/v1/verifications/..%2Fetc", "", []string{"Authorization", "Bearer " + alice}, 404, "run"},
		{"a form without its CSRF token", "POST", confirm, form, []string{"Cookie", auth.SessionCookie + "=" + session, "Content-Type", "application/x-www-form-urlencoded"}, 403, "CSRF"},
		{"a session's verification without its CSRF token", "POST", "/api/v1/verifications", `{"upstream": "clever-db@strict-where"}`, []string{"Cookie", auth.SessionCookie + "=" + session}, 403, "CSRF"},
		{"bob, through a server not listed", "POST", confirm, `{}`, []string{"Authorization", "Bearer " + bob}, 403, "servers:"},
		{"a server not listed", "POST", confirm, `{}`, []string{"Authorization", "Bearer " + alice}, 403, "servers:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body *strings.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			hdr := c.header
			if c.body != "" && !strings.Contains(strings.Join(hdr, " "), "Content-Type") {
				hdr = append(hdr, "Content-Type", "application/json")
			}
			var r response
			if body != nil {
				r = do(t, c.method, e.url+strings.TrimPrefix(c.path, e.url), body, hdr...)
			} else {
				r = do(t, c.method, e.url+c.path, nil, hdr...)
			}
			if r.status != c.status || !strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(c.says)) {
				t.Errorf("%s %s = %d %s; want %d saying %q", c.method, c.path, r.status, r.body, c.status, c.says)
			}
			if r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("answered as %s", r.header.Get("Content-Type"))
			}
			validate(t, c.method, strings.TrimPrefix(c.path, e.url), r)
		})
	}
	if after := string(do(t, "GET", e.url+"/api/v1/audit", nil, "Authorization", "Bearer "+alice).body); after != logBefore {
		t.Error("a refused request wrote to the audit log")
	}
	if after := string(do(t, "GET", e.url+"/api/v1/verifications", nil, "Authorization", "Bearer "+alice).body); after != runsBefore {
		t.Errorf("a refused request queued a run: %s", after)
	}
}

// TestConfirmRace: two confirmations of the same step at once, through a
// server listed in servers:, by the manager: one confirms it (200), the
// other is a conflict (409), and the log holds one confirm entry, signed
// through the server, which `release log --verify` accepts.
func TestConfirmRace(t *testing.T) {
	var svc *auth.Service
	var key, pub string
	e := newEnv(t, storetest.Backend{Name: "sqlite", New: storetest.SQLite}, true, func(c *server.Config) {
		wholeServer(t)(c)
		svc = c.Authenticator.(*auth.Service)
		dir := filepath.Dir(c.WorkspaceFile)
		key = filepath.Join(dir, ".cascade", "server_key")
		var err error
		if err = os.MkdirAll(filepath.Dir(key), 0o700); err != nil {
			t.Fatal(err)
		}
		if pub, err = identity.GenerateKey(context.Background(), key, "server"); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(c.WorkspaceFile, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "servers:\n  - name: team\n    keys: [%q]\n", strings.TrimSpace(pub))
		f.Close()
		c.Actions.KeyFile, c.Actions.PublicKey = key, pub
		c.Workspace = nil
		// The deploy (step 3) waits for alice.
		if code, out := runCLI(dir, "release", "next", "sync-docs", "--db", e0db(c), "--key", filepath.Join(dir, "keys", "alice")); code != 4 {
			t.Fatalf("release next: exit %d\n%s", code, out)
		}
	})
	alice := loginToken(t, svc, filepath.Join(e.dir, "keys", "alice"), "alice")
	results := make(chan response, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			results <- do(t, "POST", e.url+"/api/v1/releases/sync-docs/steps/3/confirm", strings.NewReader(`{}`),
				"Authorization", "Bearer "+alice, "Content-Type", "application/json")
		})
	}
	wg.Wait()
	close(results)
	codes := map[int]int{}
	for r := range results {
		codes[r.status]++
		validate(t, "POST", "/api/v1/releases/sync-docs/steps/3/confirm", r)
		if r.status == 409 && !strings.Contains(string(r.body), "not waiting for a confirmation") {
			t.Errorf("the conflict says %s", r.body)
		}
	}
	if codes[200] != 1 || codes[409] != 1 {
		t.Errorf("two confirmations at once answered %v; want one 200 and one 409", codes)
	}
	code, out := runCLI(e.dir, "release", "log", "sync-docs", "--db", e.db, "--verify")
	if code != 0 || strings.Count(out, " confirm ") != 1 {
		t.Errorf("release log --verify: exit %d, want 0 and one confirm entry:\n%s", code, out)
	}
}

// e0db is the database URL of the store c opens (the env's database).
func e0db(c *server.Config) string { return c.Store.Path }
