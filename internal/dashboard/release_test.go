package dashboard

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/runbook"
)

// releaseSource serves one release (the demo's clever-api runbook, at its
// deploy step) and nothing else.
type releaseSource struct {
	stubSource
	st *release.Status
}

func (s releaseSource) Release(context.Context, string) (*release.Status, error) { return s.st, nil }

// TestConfirmAsksForTheStepsInputs: a manual step that asks for inputs
// (the deployed version) gets a labelled field for each in its confirm
// form.
func TestConfirmAsksForTheStepsInputs(t *testing.T) {
	st := &release.Status{ID: 1, Plan: "strict-where", State: release.Active, Manager: "alice", Steps: []release.Step{
		{Index: 1, Repo: "clever-api", Name: "Tag v2.0.0", Kind: release.Tag, State: release.Succeeded, Actor: "alice"},
		{Index: 2, Repo: "clever-api", Name: "Deploy to production", Kind: release.Manual, State: release.Pending,
			Spec: runbook.Spec{Name: "Deploy to production", Kind: release.Manual, Inputs: []string{"deployed_version"}}},
		{Index: 3, Repo: "clever-api", Name: "Health check", Kind: release.Check, State: release.Failed},
	}}
	_, srv := newTestDashboard(t, Config{Source: releaseSource{st: st},
		Person: func(r *http.Request) (string, error) { return r.Header.Get("X-Person"), nil }})
	req, _ := http.NewRequest("GET", srv.URL+"/releases/strict-where", nil)
	req.Header.Set("X-Person", "alice")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`<form method="post" action="/api/v1/releases/strict-where/steps/2/confirm"`,
		`<label for="input-2-deployed_version">deployed_version</label> <input id="input-2-deployed_version" name="input.deployed_version" required`,
		// A failed step may be retried or overridden; the release aborted.
		`action="/api/v1/releases/strict-where/steps/3/retry"`, `action="/api/v1/releases/strict-where/steps/3/override"`,
		`action="/api/v1/releases/strict-where/abort"`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the release page lacks %q:\n%s", want, body)
		}
	}
	for _, unwanted := range []string{"steps/1/", "steps/2/retry", "steps/3/confirm"} {
		if strings.Contains(string(body), unwanted) {
			t.Errorf("the release page offers %s", unwanted)
		}
	}
}

// TestRequireLogin: without --public-read, an anonymous viewer is sent to
// the login page (and back to where they were after it), and gets no
// event stream; a person reads everything.
func TestRequireLogin(t *testing.T) {
	st := &release.Status{ID: 1, Plan: "p", State: release.Active, Manager: "alice"}
	_, srv := newTestDashboard(t, Config{Source: releaseSource{st: st}, RequireLogin: true,
		Person: func(r *http.Request) (string, error) { return r.Header.Get("X-Person"), nil }})
	noRedirect := *srv.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	do := func(path, person string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if person != "" {
			req.Header.Set("X-Person", person)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := do("/releases/p?x=1", ""); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Freleases%2Fp%3Fx%3D1" {
		t.Errorf("anonymous /releases/p: %d to %q, want 303 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	for path, want := range map[string]int{"/login": 200, "/static/style.css": 200, "/events?topic=release:p": 401} {
		if resp := do(path, ""); resp.StatusCode != want {
			t.Errorf("anonymous %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	if resp := do("/releases/p", "bob"); resp.StatusCode != 200 {
		t.Errorf("bob's /releases/p: %d", resp.StatusCode)
	}
	resp, err := srv.Client().Get(srv.URL + "/login?next=//evil.example/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `<input type="hidden" name="next" value="/">`) {
		t.Errorf("the login form goes on to another site:\n%s", body)
	}
	if _, err := New(Config{Source: stubSource{}, RequireLogin: true}); err == nil {
		t.Error("RequireLogin without Person is accepted")
	}
}
