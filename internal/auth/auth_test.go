package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// clock is a test's movable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running login server over a real database, with two people
// (alice and bob) whose real SSH keys lie in a temporary directory.
type env struct {
	t     testing.TB
	svc   *auth.Service
	st    *store.Store
	srv   *httptest.Server
	clock *clock
	keys  map[string]string // person -> private key file

	mu     sync.Mutex
	people []workspace.Person // cascade.yaml's people, as the server reads them
}

func newEnv(t testing.TB, b storetest.Backend) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	keys := map[string]string{}
	var people []workspace.Person
	for _, name := range []string{"alice", "bob"} {
		file := filepath.Join(dir, name)
		pub, err := identity.GenerateKey(ctx, file, name+"@test")
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = file
		people = append(people, workspace.Person{Name: name, Keys: []string{pub}})
	}
	st := storetest.Open(t, b.New(t))
	c := &clock{t: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	e := &env{t: t, st: st, clock: c, keys: keys, people: people}
	e.svc = &auth.Service{Store: st, People: func() []workspace.Person { e.mu.Lock(); defer e.mu.Unlock(); return e.people }, Now: c.Now}
	e.srv = httptest.NewServer(e.svc.Handler())
	t.Cleanup(e.srv.Close)
	e.svc.Origin = e.srv.URL
	return e
}

// each runs fn on every backend this machine has.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, newEnv(t, b)) })
	}
}

// do sends a request; body is JSON-encoded unless it is url.Values (a
// form) or nil.
func (e *env) do(method, path string, body any, hdr map[string]string) (int, []byte, *http.Response) {
	e.t.Helper()
	var r io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		r, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		data, _ := json.Marshal(b)
		r, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp
}

func (e *env) challenge(person, purpose string) auth.Challenge {
	e.t.Helper()
	code, data, _ := e.do("POST", "/api/v1/login/challenge", map[string]string{"person": person, "purpose": purpose}, nil)
	if code != 200 {
		e.t.Fatalf("challenge: %d %s", code, data)
	}
	var c auth.Challenge
	if err := json.Unmarshal(data, &c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) sign(keyOf string, statement string) string {
	e.t.Helper()
	sig, err := auth.Sign(context.Background(), e.keys[keyOf], false, statement)
	if err != nil {
		e.t.Fatal(err)
	}
	return sig
}

func loginBody(c auth.Challenge, sig string) map[string]string {
	return map[string]string{"person": c.Person, "nonce": c.Nonce, "signature": sig, "name": "laptop"}
}

// login logs person in with their own key and returns the answer.
func (e *env) login(person, purpose string) auth.LoginResponse {
	e.t.Helper()
	c := e.challenge(person, purpose)
	code, data, _ := e.do("POST", "/api/v1/login", loginBody(c, e.sign(person, c.Statement)), nil)
	if code != 200 {
		e.t.Fatalf("login: %d %s", code, data)
	}
	var r auth.LoginResponse
	if err := json.Unmarshal(data, &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// refused checks a 401 problem document.
func refused(t testing.TB, what string, code int, data []byte, resp *http.Response) auth.Problem {
	t.Helper()
	if code != 401 {
		t.Fatalf("%s: status %d (%s), want 401", what, code, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	var p auth.Problem
	if err := json.Unmarshal(data, &p); err != nil || p.Status != 401 || p.Kind != "unauthorized" || p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Errorf("%s: problem %s (%v)", what, data, err)
	}
	return p
}

func TestLoginGivesAWorkingToken(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		c := e.challenge("alice", "")
		want := auth.Statement("alice", e.srv.URL, c.Nonce, "token", c.Expires)
		if c.Statement != want || len(c.Nonce) != 64 || !strings.Contains(c.Statement, e.srv.URL) {
			t.Fatalf("statement %q, want %q", c.Statement, want)
		}
		code, data, _ := e.do("POST", "/api/v1/login", loginBody(c, e.sign("alice", c.Statement)), nil)
		if code != 200 {
			t.Fatalf("login: %d %s", code, data)
		}
		var r auth.LoginResponse
		json.Unmarshal(data, &r)
		if !strings.HasPrefix(r.Token, auth.TokenPrefix) || len(r.Token) != len(auth.TokenPrefix)+43 || r.Person != "alice" {
			t.Fatalf("login answer %s", data)
		}
		// The token authenticates, both through the API and Person.
		code, data, _ = e.do("GET", "/api/v1/tokens", nil, bearer(r.Token))
		var list auth.TokenList
		if code != 200 || json.Unmarshal(data, &list) != nil || list.Person != "alice" || len(list.Tokens) != 1 || list.Current != r.ID || list.Tokens[0].Name != "laptop" {
			t.Fatalf("tokens: %d %s", code, data)
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+r.Token)
		if p, err := e.svc.Person(req); p != "alice" || err != nil {
			t.Errorf("Person: %q, %v", p, err)
		}
		if p, err := e.svc.Person(httptest.NewRequest("GET", "/", nil)); p != "" || err != nil {
			t.Errorf("Person without credentials: %q, %v; want an anonymous request", p, err)
		}
		// Only the token's hash is stored.
		var n int
		if err := e.st.DB.QueryRow("SELECT count(*) FROM auth_credentials WHERE hash = ? OR id = ? OR name = ?", r.Token, r.Token, r.Token).Scan(&n); err != nil || n != 0 {
			t.Errorf("the token is stored as given: %d %v", n, err)
		}
		// A wrong token is refused.
		code, data, resp := e.do("GET", "/api/v1/tokens", nil, bearer(r.Token[:len(r.Token)-1]+"x"))
		refused(t, "a wrong token", code, data, resp)
	})
}

func TestNonceIsSingleUse(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		c := e.challenge("alice", "token")
		body := loginBody(c, e.sign("alice", c.Statement))
		if code, data, _ := e.do("POST", "/api/v1/login", body, nil); code != 200 {
			t.Fatalf("first login: %d %s", code, data)
		}
		code, data, resp := e.do("POST", "/api/v1/login", body, nil)
		refused(t, "the nonce used again", code, data, resp)

		// Logins racing with one nonce: one wins.
		c = e.challenge("alice", "token")
		body = loginBody(c, e.sign("alice", c.Statement))
		const racers = 6
		codes := make([]int, racers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				data, _ := json.Marshal(body)
				resp, err := http.Post(e.srv.URL+"/api/v1/login", "application/json", bytes.NewReader(data))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, c := range codes {
			if c == 200 {
				won++
			} else if c != 401 {
				t.Errorf("a racing login answered %d", c)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d racing logins with one nonce succeeded, want 1 (%v)", won, racers, codes)
		}
		var n int
		e.st.DB.QueryRow("SELECT count(*) FROM auth_credentials WHERE kind = 'token'").Scan(&n)
		if n != 2 {
			t.Errorf("%d tokens stored, want 2", n)
		}
	})
}

func TestExpiredNonceRefused(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		c := e.challenge("alice", "token")
		sig := e.sign("alice", c.Statement)
		e.clock.Add(auth.ChallengeTTL + time.Second)
		code, data, resp := e.do("POST", "/api/v1/login", loginBody(c, sig), nil)
		refused(t, "an expired nonce", code, data, resp)
	})
}

func TestExpiredAndRevokedTokensRefused(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		old := e.login("alice", "token")
		e.clock.Add(auth.TokenTTL - time.Hour)
		fresh := e.login("alice", "token")
		bobs := e.login("bob", "token")
		if code, data, _ := e.do("GET", "/api/v1/tokens", nil, bearer(old.Token)); code != 200 {
			t.Fatalf("a token an hour before it expires: %d %s", code, data)
		}
		e.clock.Add(time.Hour)
		code, data, resp := e.do("GET", "/api/v1/tokens", nil, bearer(old.Token))
		refused(t, "an expired token", code, data, resp)

		// Bob cannot revoke alice's token: it is not found, and still works.
		if code, data, _ := e.do("DELETE", "/api/v1/tokens/"+fresh.ID, nil, bearer(bobs.Token)); code != 404 {
			t.Errorf("bob revoking alice's token: %d %s", code, data)
		}
		if code, data, _ := e.do("GET", "/api/v1/tokens", nil, bearer(fresh.Token)); code != 200 {
			t.Fatalf("alice's token after bob's attempt: %d %s", code, data)
		}
		if code, data, _ := e.do("DELETE", "/api/v1/tokens/"+fresh.ID, nil, bearer(fresh.Token)); code != 200 {
			t.Fatalf("revoke: %d %s", code, data)
		}
		code, data, resp = e.do("GET", "/api/v1/tokens", nil, bearer(fresh.Token))
		refused(t, "a revoked token", code, data, resp)
		var list auth.TokenList
		_, data, _ = e.do("GET", "/api/v1/tokens", nil, bearer(bobs.Token))
		if json.Unmarshal(data, &list); len(list.Tokens) != 1 || list.Tokens[0].ID != bobs.ID {
			t.Errorf("bob's list shows %s", data)
		}
	})
}

func TestWrongKeysAndNamespacesRefused(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		// Bob's key over alice's challenge.
		c := e.challenge("alice", "token")
		code, data, resp := e.do("POST", "/api/v1/login", loginBody(c, e.sign("bob", c.Statement)), nil)
		p1 := refused(t, "another person's key", code, data, resp)

		// Alice's key, but a release action's signature (namespace
		// cascade-release) over the very statement.
		c = e.challenge("alice", "token")
		rel, err := identity.Sign(context.Background(), e.keys["alice"], false, c.Statement)
		if err != nil {
			t.Fatal(err)
		}
		code, data, resp = e.do("POST", "/api/v1/login", loginBody(c, rel.Armored), nil)
		refused(t, "a cascade-release signature", code, data, resp)

		// A person cascade.yaml does not list gets a challenge (nothing is
		// learned from it) and no login.
		c2 := e.challenge("mallory", "token")
		code, data, resp = e.do("POST", "/api/v1/login", loginBody(c2, e.sign("bob", c2.Statement)), nil)
		p2 := refused(t, "an unknown person", code, data, resp)
		if p1.Detail != p2.Detail {
			t.Errorf("the answers tell the failures apart: %q, %q", p1.Detail, p2.Detail)
		}
		// A signature over another statement (another server's origin).
		c = e.challenge("alice", "token")
		other := auth.Statement("alice", "https://elsewhere.example", c.Nonce, "token", c.Expires)
		code, data, resp = e.do("POST", "/api/v1/login", loginBody(c, e.sign("alice", other)), nil)
		refused(t, "a statement naming another server", code, data, resp)
		// A failed attempt spent the nonce: one challenge answers one
		// attempt, so alice's own signature over it is refused now.
		code, data, resp = e.do("POST", "/api/v1/login", loginBody(c, e.sign("alice", c.Statement)), nil)
		refused(t, "a nonce after a failed attempt", code, data, resp)
		// A fresh challenge logs her in.
		e.login("alice", "token")
	})
}

// TestRemovedPersonLosesAccess: a person taken out of cascade.yaml's
// people can use neither their token nor their session.
func TestRemovedPersonLosesAccess(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		tok := e.login("bob", "token")
		if code, data, _ := e.do("GET", "/api/v1/tokens", nil, bearer(tok.Token)); code != 200 {
			t.Fatalf("bob's token: %d %s", code, data)
		}
		e.mu.Lock()
		e.people = e.people[:1] // alice alone
		e.mu.Unlock()
		code, data, resp := e.do("GET", "/api/v1/tokens", nil, bearer(tok.Token))
		refused(t, "the token of a person no longer listed", code, data, resp)
	})
}

// TestRemovedKeyEndsItsCredentials: a token and a dashboard session hold
// only while the key whose signature got them is still the person's: a
// (stolen) key taken out of cascade.yaml ends them, though the person
// stays listed with another key.
func TestRemovedKeyEndsItsCredentials(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		tok := e.login("alice", "token")
		cookie := e.webSession()
		if code, data, _ := e.do("GET", "/api/v1/tokens", nil, bearer(tok.Token)); code != 200 {
			t.Fatalf("alice's token: %d %s", code, data)
		}
		other, err := identity.GenerateKey(context.Background(), filepath.Join(t.TempDir(), "new"), "alice@new")
		if err != nil {
			t.Fatal(err)
		}
		e.mu.Lock()
		old := e.people[0]
		e.people[0] = workspace.Person{Name: "alice", Keys: []string{other}}
		e.mu.Unlock()
		code, data, resp := e.do("GET", "/api/v1/tokens", nil, bearer(tok.Token))
		refused(t, "a token got with a key no longer listed", code, data, resp)
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		if p, err := e.svc.Person(req); p != "" || err == nil {
			t.Errorf("a session got with a key no longer listed: Person = %q, %v; want refused", p, err)
		}
		// For good: the key put back (a reverted cascade.yaml) does not
		// revive them.
		e.mu.Lock()
		e.people[0] = old
		e.mu.Unlock()
		code, data, resp = e.do("GET", "/api/v1/tokens", nil, bearer(tok.Token))
		refused(t, "a token whose key was taken out and put back", code, data, resp)
		if p, err := e.svc.Person(req); p != "" || err == nil {
			t.Errorf("a session whose key was taken out and put back: Person = %q, %v; want refused", p, err)
		}
	})
}

// TestNoPeopleRefusesButKeeps: with no people (cascade.yaml lists none,
// or does not read), every credential is refused but none is revoked:
// the file mended, they hold again.
func TestNoPeopleRefusesButKeeps(t *testing.T) {
	e := newEnv(t, storetest.Backend{Name: "sqlite", New: storetest.SQLite})
	tok := e.login("alice", "token")
	e.mu.Lock()
	saved := e.people
	e.people = nil
	e.mu.Unlock()
	code, data, resp := e.do("GET", "/api/v1/tokens", nil, bearer(tok.Token))
	refused(t, "a token while no people are known", code, data, resp)
	e.mu.Lock()
	e.people = saved
	e.mu.Unlock()
	if code, data, _ := e.do("GET", "/api/v1/tokens", nil, bearer(tok.Token)); code != 200 {
		t.Errorf("the token once the people are back: %d %s", code, data)
	}
}

func TestBadRequestsAreClear(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			path, body string
			want       int
		}{
			{"/api/v1/login/challenge", `{"person":`, 400},
			{"/api/v1/login/challenge", `{"person":"a b"}`, 400},
			{"/api/v1/login/challenge", `{"person":"alice","extra":1}`, 400},
			{"/api/v1/login/challenge", `{"person":"alice","purpose":"root"}`, 400},
			{"/api/v1/login/challenge", `{"person":"alice"} {}`, 400},
			{"/api/v1/login/challenge", `{"person":"` + strings.Repeat("a", 100<<10) + `"}`, 413},
			{"/api/v1/login", `{"person":"alice","nonce":"00","signature":"x"}`, 401},
		} {
			resp, err := http.Post(e.srv.URL+tc.path, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %.60s: %d %s, want %d", tc.path, tc.body, resp.StatusCode, data, tc.want)
			}
		}
		var n int
		e.st.DB.QueryRow("SELECT count(*) FROM auth_challenges").Scan(&n)
		if n != 0 {
			t.Errorf("bad requests stored %d challenges", n)
		}
	})
}

// webSession logs alice in to the dashboard: a code from a "web" login,
// typed into the login form, gives the session cookie.
func (e *env) webSession() *http.Cookie {
	e.t.Helper()
	r := e.login("alice", "web")
	if r.Token != "" || len(r.Code) != 19 {
		e.t.Fatalf("web login answered %+v", r)
	}
	code, data, resp := e.do("POST", "/login", url.Values{"person": {"alice"}, "code": {strings.ToLower(r.Code)}}, nil)
	if code != 303 {
		e.t.Fatalf("form login: %d %s", code, data)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == auth.SessionCookie {
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" {
				e.t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", ck)
			}
			// The code is spent.
			code, data, resp := e.do("POST", "/login", url.Values{"person": {"alice"}, "code": {r.Code}}, nil)
			refused(e.t, "a code used again", code, data, resp)
			return ck
		}
	}
	e.t.Fatalf("no session cookie in %v", resp.Header)
	return nil
}

func TestDashboardSessionAndCSRF(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ck := e.webSession()
		cookie := map[string]string{"Cookie": ck.String()}
		if code, data, _ := e.do("GET", "/api/v1/tokens", nil, cookie); code != 200 {
			t.Fatalf("the session does not authenticate: %d %s", code, data)
		}
		sessionRevoked := func() bool {
			var n int
			e.st.DB.QueryRow("SELECT count(*) FROM auth_credentials WHERE kind = 'session' AND revoked_at IS NOT NULL").Scan(&n)
			return n > 0
		}
		// Logging out with a form that lacks the CSRF token, or has
		// another session's, is refused and changes nothing.
		for _, form := range []url.Values{{}, {auth.CSRFField: {"forged"}}} {
			code, data, _ := e.do("POST", "/logout", form, cookie)
			if code != 403 || !strings.Contains(string(data), "CSRF") {
				t.Errorf("logout with form %v: %d %s, want 403", form, code, data)
			}
			if sessionRevoked() {
				t.Fatal("a form without the CSRF token ended the session")
			}
		}
		// A form from another site is refused even with the token.
		req := httptest.NewRequest("POST", "/", nil)
		req.AddCookie(ck)
		tok := auth.CSRFToken(req)
		code, _, _ := e.do("POST", "/logout", url.Values{auth.CSRFField: {tok}}, map[string]string{"Cookie": ck.String(), "Origin": "https://evil.example"})
		if code != 403 || sessionRevoked() {
			t.Errorf("a cross-site form: %d", code)
		}
		// Any state-changing handler behind the middleware: not reached.
		reached := false
		h := e.svc.CSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
		w := httptest.NewRecorder()
		post := httptest.NewRequest("POST", "/plans/x/confirm", strings.NewReader("step=1"))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		post.AddCookie(ck)
		h.ServeHTTP(w, post)
		if w.Code != 403 || reached {
			t.Errorf("a form post without the token: %d, handler reached %v", w.Code, reached)
		}
		w = httptest.NewRecorder()
		post = httptest.NewRequest("POST", "/plans/x/confirm", strings.NewReader(url.Values{"step": {"1"}, auth.CSRFField: {tok}}.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		post.AddCookie(ck)
		h.ServeHTTP(w, post)
		if !reached {
			t.Errorf("a form post with the token: %d, handler not reached", w.Code)
		}
		// Person, which every route of the server asks, refuses a
		// session's state-changing request without the token too, and
		// reads the form only when it must.
		for _, tc := range []struct {
			method, body, header string
			ok                   bool
		}{
			{"GET", "", "", true},
			{"POST", "step=1", "", false},
			{"POST", "step=1&" + auth.CSRFField + "=forged", "", false},
			{"POST", "step=1&" + auth.CSRFField + "=" + tok, "", true},
			{"DELETE", "", tok, true},
			{"DELETE", "", "", false},
		} {
			req := httptest.NewRequest(tc.method, "/api/v1/releases/x/confirm", strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.header != "" {
				req.Header.Set(auth.CSRFHeader, tc.header)
			}
			req.AddCookie(ck)
			p, err := e.svc.Person(req)
			if ok := p == "alice" && err == nil; ok != tc.ok {
				t.Errorf("Person of a session's %s %q (header %q): %q, %v", tc.method, tc.body, tc.header, p, err)
			}
			if tc.ok && tc.body != "" && req.PostFormValue("step") != "1" {
				t.Errorf("the form is lost after Person")
			}
		}
		// With the token, logout ends the session.
		code, data, _ := e.do("POST", "/logout", url.Values{auth.CSRFField: {tok}}, cookie)
		if code != 303 || !sessionRevoked() {
			t.Fatalf("logout: %d %s", code, data)
		}
		code, data, resp := e.do("GET", "/api/v1/tokens", nil, cookie)
		refused(t, "a session after logout", code, data, resp)
	})
}

func TestCodeExpires(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		r := e.login("alice", "web")
		e.clock.Add(auth.CodeTTL + time.Second)
		code, data, resp := e.do("POST", "/login", url.Values{"person": {"alice"}, "code": {r.Code}}, nil)
		refused(t, "an expired code", code, data, resp)
		// Bob cannot use alice's code.
		r = e.login("alice", "web")
		code, data, resp = e.do("POST", "/login", url.Values{"person": {"bob"}, "code": {r.Code}}, nil)
		refused(t, "alice's code as bob", code, data, resp)
		// A code answers one attempt: after the wrong name, not even the
		// right one takes it.
		code, data, resp = e.do("POST", "/login", url.Values{"person": {"alice"}, "code": {r.Code}}, nil)
		refused(t, "alice's code after a failed attempt", code, data, resp)
	})
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://Cascade.Example.com/": "https://cascade.example.com",
		"http://127.0.0.1:8080":        "http://127.0.0.1:8080",
		"https://x.example:443":        "https://x.example",
		"ftp://x":                      "",
		"https://u@x.example":          "",
		"https://x.example/api":        "",
		"x.example":                    "",
	} {
		got, err := auth.Origin(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("Origin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestChallengesStoreNothing: a challenge is handed to anyone who asks,
// so handing one out stores nothing (its nonce carries what a login needs,
// sealed); only a nonce spent by an attempt is kept, until it expires. A
// nonce not sealed by this database, or sealed for another person, is
// refused without a signature check.
func TestChallengesStoreNothing(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for range 500 {
			e.challenge("mallory", "token")
		}
		count := func() int {
			var n int
			if err := e.st.DB.QueryRow("SELECT count(*) FROM auth_challenges").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(); n != 0 {
			t.Errorf("500 challenges stored %d rows; want none", n)
		}
		// Alice's nonce, presented as bob's, or altered: refused.
		c := e.challenge("alice", "token")
		b := e.challenge("bob", "token")
		b.Nonce = c.Nonce
		code, data, resp := e.do("POST", "/api/v1/login", loginBody(b, e.sign("bob", auth.Statement("bob", c.Origin, c.Nonce, "token", c.Expires))), nil)
		refused(t, "alice's nonce presented by bob", code, data, resp)
		altered := c
		altered.Nonce = c.Nonce[:60] + "0000"
		if altered.Nonce == c.Nonce {
			altered.Nonce = c.Nonce[:60] + "1111"
		}
		code, data, resp = e.do("POST", "/api/v1/login", loginBody(altered, e.sign("alice", auth.Statement("alice", c.Origin, altered.Nonce, "token", c.Expires))), nil)
		refused(t, "an altered nonce", code, data, resp)
		if n := count(); n != 0 {
			t.Errorf("nonces not sealed for the person spent %d rows; want none", n)
		}
		// A login spends its nonce (one row), which expires with it.
		e.login("alice", "token")
		if n := count(); n != 1 {
			t.Errorf("%d spent nonces after a login; want 1", n)
		}
		e.clock.Add(auth.ChallengeTTL + time.Second)
		e.login("alice", "token")
		if n := count(); n != 1 {
			t.Errorf("%d spent nonces after the first expired; want 1 (the new one)", n)
		}
	})
}

// TestSessionCookieSecureBehindTLSProxy: a server whose public origin is
// https (TLS ended by a proxy in front of it) sets a Secure session
// cookie though the request reached it over plain HTTP.
func TestSessionCookieSecureBehindTLSProxy(t *testing.T) {
	e := newEnv(t, storetest.Backend{Name: "sqlite", New: storetest.SQLite})
	e.svc.Origin = "https://cascade.example.com"
	r := e.login("alice", "web")
	code, data, resp := e.do("POST", "/login", url.Values{"person": {"alice"}, "code": {r.Code}}, nil)
	if code != 303 {
		t.Fatalf("form login: %d %s", code, data)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == auth.SessionCookie {
			if !ck.Secure {
				t.Errorf("session cookie %+v: want Secure for an https origin", ck)
			}
			return
		}
	}
	t.Fatalf("no session cookie in %v", resp.Header)
}

// TestFormLoginInABrowser: the dashboard's login form (a browser, which
// accepts HTML) is sent on to the page it came from after a good code, and
// back to the form saying the code was refused after a bad one; next
// never leads off the site.
func TestFormLoginInABrowser(t *testing.T) {
	e := newEnv(t, storetest.Backend{Name: "sqlite", New: storetest.SQLite})
	post := func(form url.Values) *http.Response {
		req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(url.Values{"person": {"alice"}, "code": {"AAAA-BBBB-CCCC-DDDD"}, "next": {"/runs/3"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?failed=1&next=%2Fruns%2F3" {
		t.Errorf("a bad code: %d to %q; want 303 back to the form", resp.StatusCode, resp.Header.Get("Location"))
	}
	r := e.login("alice", "web")
	resp = post(url.Values{"person": {"alice"}, "code": {r.Code}, "next": {"/runs/3"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/runs/3" {
		t.Errorf("a good code: %d to %q; want 303 to /runs/3", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, next := range []string{"//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/x\ny", ""} {
		r := e.login("alice", "web")
		resp := post(url.Values{"person": {"alice"}, "code": {r.Code}, "next": {next}})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
			t.Errorf("next %q: %d to %q; want 303 to /", next, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
