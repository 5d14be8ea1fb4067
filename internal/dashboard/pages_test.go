package dashboard_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/dashboard"
	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/verify"
)

// personHeader and personCookie stand in for the session the server's
// auth checks: the tests say who is looking.
const (
	personHeader = "X-Test-Person"
	personCookie = "test_person"
)

func testPerson(r *http.Request) string {
	if p := r.Header.Get(personHeader); p != "" {
		return p
	}
	if c, err := r.Cookie(personCookie); err == nil {
		return c.Value
	}
	return ""
}

func serve(t *testing.T, src *source) (*dashboard.Dashboard, *httptest.Server) {
	t.Helper()
	d, err := dashboard.New(dashboard.Config{
		Location:  src.WS.Policy.Location,
		Source:    src,
		Person:    func(r *http.Request) (string, error) { return testPerson(r), nil },
		CSRFToken: func(r *http.Request) string { return "csrf-for-" + testPerson(r) },
		Heartbeat: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(func() {
		d.Broker().Close()
		srv.Close()
	})
	return d, srv
}

func get(t *testing.T, srv *httptest.Server, path, person string, want int) string {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if person != "" {
		req.Header.Set(personHeader, person)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s as %q: status %d, want %d\n%s", path, person, resp.StatusCode, want, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") && !strings.HasPrefix(path, "/static/") {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return string(body)
}

func contains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func lacks(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s has %q", what, w)
		}
	}
}

// TestPagesOverTheDemo renders every page over the demo organisation with
// plan sync-docs released up to its manual deploy step.
func TestPagesOverTheDemo(t *testing.T) {
	org := demoOrg(t)
	src := openSource(t, org)
	src.runs.put(dashboard.Run{ID: "r1", Upstream: "clever-db@strict-where", With: []string{"clever-api@adapt-strict-where"},
		State: dashboard.RunSucceeded, RequestedBy: "alice", Created: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC),
		Started: time.Date(2026, 11, 28, 9, 0, 1, 0, time.UTC), Finished: time.Date(2026, 11, 28, 9, 0, 9, 0, time.UTC), Report: strictWhere(t)})
	_, srv := serve(t, src)

	t.Run("graph", func(t *testing.T) {
		body := get(t, srv, "/", "", 200)
		for _, repo := range demo.Repos {
			contains(t, "the graph", body, `<a href="/repos/`+repo+`" class="node`)
		}
		// Upstream at the top: json-schema-converter's box is above
		// clever-db's, which is above clever-api's, above district-sync's.
		box := func(repo string) []string {
			m := regexp.MustCompile(`data-repo="` + repo + `">\s*<title>[^<]*</title>\s*<rect x="(\d+)" y="(\d+)"`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no box for %s", repo)
			}
			return m[1:]
		}
		y := func(repo string) string { return box(repo)[1] }
		chain := []string{"json-schema-converter", "clever-db", "clever-api", "district-sync"}
		for i := 1; i < len(chain); i++ {
			if a, b := y(chain[i-1]), y(chain[i]); len(a) > len(b) || (len(a) == len(b) && a >= b) {
				t.Errorf("%s (y=%s) is not above %s (y=%s)", chain[i-1], a, chain[i], b)
			}
		}
		contains(t, "the graph", body, `<title>clever-api requires clever-db</title>`, "Release order (upstream first)")
		// Each repo sits under what it requires, where it can: the npm
		// packages in one column, the Go chain in another.
		for _, pair := range [][2]string{{"clever-schemas", "clever-js"}, {"json-schema-converter", "clever-db"}, {"clever-db", "clever-api"}, {"clever-api", "district-sync"}} {
			if a, b := box(pair[0])[0], box(pair[1])[0]; a != b {
				t.Errorf("%s (x=%s) is not right under %s (x=%s)", pair[1], b, pair[0], a)
			}
		}
	})
	t.Run("repo", func(t *testing.T) {
		body := get(t, srv, "/repos/clever-db", "", 200)
		contains(t, "clever-db's page", body, "<h1>clever-db</h1>", `<a href="/repos/district-sync">district-sync</a></th><td>2</td><td>clever-db → clever-api → district-sync</td>`,
			`<a href="/repos/json-schema-converter">json-schema-converter</a></th><td>1</td>`)
		get(t, srv, "/repos/no-such-repo", "", 404)
		// A Go module path names its repo, as on the command line.
		contains(t, "clever-db by module", get(t, srv, "/repos/"+demo.Org+"/clever-db", "", 200), "<h1>clever-db</h1>")
	})
	t.Run("plans", func(t *testing.T) {
		body := get(t, srv, "/plans", "", 200)
		contains(t, "the plans", body, `<a href="/plans/sync-docs">sync-docs</a>`, "Document district-sync", `<span class="badge warn">active</span>`)
		body = get(t, srv, "/plans/sync-docs", "", 200)
		contains(t, "the plan", body, `<tr data-gate="window"><th scope="row">window</th><td><span class="badge ok">pass</span>`,
			`<tr data-gate="scope">`, `<pre class="markdown"`, "# Release plan: Document district-sync", "**Release manager:** alice")
		// The Markdown is the command line's, escaped.
		md := cascadeCmd(t, org, 0, "plan", "show", "sync-docs", "--format", "markdown")
		pre := regexp.MustCompile(`(?s)<pre class="markdown"[^>]*>(.*?)</pre>`).FindStringSubmatch(body)
		if pre == nil || html.UnescapeString(pre[1]) != md {
			t.Errorf("the plan's Markdown differs from plan show's:\n%s\nwant:\n%s", pre, md)
		}
		get(t, srv, "/plans/nope", "", 404)
		get(t, srv, "/plans/..%2Fcascade", "", 404)
	})
	t.Run("release", func(t *testing.T) {
		confirm := `action="/api/v1/releases/sync-docs/steps/3/confirm"`
		alice := get(t, srv, "/releases/sync-docs", "alice", 200)
		contains(t, "alice's release page", alice, confirm, `name="csrf_token" value="csrf-for-alice"`, `data-action="override"`,
			`<tr data-step="3">`, `data-live-topic="release:sync-docs"`, `<script src="/static/live.js" defer></script>`)
		if !regexp.MustCompile(`(?s)<tr data-step="1">\s*<td>1</td><td class="nowrap">district-sync</td><td>Gates [^<]*<details>.*?</details></td><td>gate</td>\s*<td><span class="badge ok" data-step-state>succeeded</span></td><td>alice</td><td class="nowrap">2026-`).MatchString(alice) {
			t.Errorf("step 1 does not show as succeeded by alice with its time:\n%s", alice)
		}
		for _, who := range []string{"bob", ""} {
			body := get(t, srv, "/releases/sync-docs", who, 200)
			lacks(t, "the release page as "+who, body, "<form method=\"post\" action=\"/api/v1", "data-action=")
			contains(t, "the release page as "+who, body, `<tr data-step="3">`)
		}
		contains(t, "bob's release page", get(t, srv, "/releases/sync-docs", "bob", 200), "Only the release manager, alice, may act")
		contains(t, "a plan never released", get(t, srv, "/releases/strict-where", "", 404), "Not Found")
	})
	t.Run("run", func(t *testing.T) {
		contains(t, "the runs", get(t, srv, "/runs", "", 200), `<a href="/runs/r1">r1</a>`, "clever-db@strict-where")
		body := get(t, srv, "/runs/r1", "", 200)
		contains(t, "the run", body, "with clever-api@adapt-strict-where in the same release everything passes",
			`<th scope="col">candidate alone</th><th scope="col">with the change set</th>`,
			"not enough arguments in call to query.Find", "<code>example.com/clever/flaky-reports/reports.TestWarmCache</code>")
		row := regexp.MustCompile(`(?s)<tr data-repo="clever-api">.*?</tr>`).FindString(body)
		if !strings.Contains(row, `data-verdict="regressed"`) || !strings.Contains(row, `data-verdict="passed"`) {
			t.Errorf("clever-api's row is not regressed alone and passed with the set:\n%s", row)
		}
		get(t, srv, "/runs/nope", "", 404)
	})
	t.Run("audit", func(t *testing.T) {
		body := get(t, srv, "/audit?plan=sync-docs", "", 200)
		contains(t, "the audit log", body, "data-verified", `<td>alice</td><td class="nowrap">start</td><td>signed</td>`, `<option value="sync-docs" selected>`)
		contains(t, "the whole audit log", get(t, srv, "/audit", "", 200), "data-verified", `<td class="nowrap">sync-docs</td>`)
		get(t, srv, "/audit?plan=..", "", 400)
	})
	t.Run("login", func(t *testing.T) {
		body := get(t, srv, "/login", "", 200)
		contains(t, "the login page", body, `<form method="post" action="/login"`, `<label for="person">`, `<label for="code">`, `name="code"`)
	})
	t.Run("static", func(t *testing.T) {
		contains(t, "live.js", get(t, srv, "/static/live.js", "", 200), "EventSource")
		get(t, srv, "/static/nope.js", "", 404)
		// Files only: the directory is not listed.
		if body := get(t, srv, "/static/", "", 404); strings.Contains(body, "live.js") {
			t.Errorf("/static/ lists the directory:\n%s", body)
		}
		get(t, srv, "/no/such/page", "", 404)
	})
}

// TestTamperedReleaseOffersNothing: a release whose rows do not match its
// signed log shows why, and no buttons even to its manager; the audit
// page says the log does not verify.
func TestTamperedReleaseOffersNothing(t *testing.T) {
	org := demoOrg(t)
	if _, err := demo.DeleteLastAuditEntry(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	_, srv := serve(t, openSource(t, org))
	body := get(t, srv, "/releases/sync-docs", "alice", 200)
	contains(t, "the tampered release", body, "These rows cannot be believed: tampered")
	lacks(t, "the tampered release", body, "data-action=")
	body = get(t, srv, "/audit?plan=sync-docs", "", 200)
	contains(t, "the tampered log", body, "The log does not verify")
	lacks(t, "the tampered log", body, "data-verified")
}

// TestUntrustedTextIsEscaped: text from repositories and runs is shown,
// never interpreted.
func TestUntrustedTextIsEscaped(t *testing.T) {
	org := demoOrg(t)
	src := openSource(t, org)
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	rep := &verify.Report{Conclusion: evil, Results: []verify.Result{{Repo: "clever-api", State: "alone", Verdict: verify.Regressed,
		Log: evil + "\n", Tests: []string{evil}, Reason: evil}}, Summary: map[string]int{verify.Regressed: 1}}
	src.runs.put(dashboard.Run{ID: "evil", Upstream: evil, With: []string{evil}, State: dashboard.RunFailed, RequestedBy: evil, Error: evil, Report: rep,
		Events: []dashboard.RunEvent{{Repo: evil, Message: evil}}})
	_, srv := serve(t, src)
	for _, path := range []string{"/runs", "/runs/evil"} {
		body := get(t, srv, path, "", 200)
		lacks(t, path, body, "<script>alert", "<img src=x")
		contains(t, path, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	}
	// A person's name from the session is escaped too.
	body := get(t, srv, "/", `<b>eve</b>`, 200)
	lacks(t, "the header", body, "<b>eve</b>")
}
