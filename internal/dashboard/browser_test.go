package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cascade-dev/cascade/internal/dashboard"
	"github.com/cascade-dev/cascade/internal/verify"
)

// chromium finds the browser, skipping the test without one unless
// CASCADE_TEST_BROWSER_REQUIRED=1 (as CI sets it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CASCADE_TEST_BROWSER_REQUIRED") == "1" {
		t.Fatal("no Chromium on PATH (apt-get install chromium), and CASCADE_TEST_BROWSER_REQUIRED=1")
	}
	t.Skip("no Chromium on PATH (apt-get install chromium); set CASCADE_TEST_BROWSER_REQUIRED=1 to fail instead")
	return ""
}

// browser starts a headless Chromium with a fresh profile.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	// A bound on the whole session, so that a browser that hangs fails
	// the test rather than the package's -timeout.
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 5*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return bctx
}

// artifacts is where the test's screenshots go: $CASCADE_TEST_ARTIFACTS
// when set (kept), else the test's artifact directory.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := t.ArtifactDir()
	if d := os.Getenv("CASCADE_TEST_ARTIFACTS"); d != "" {
		dir = filepath.Join(d, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// TestBrowser drives the dashboard in a real headless Chromium over the
// demo organisation: the graph, the release page as its manager and as
// someone else, a live update of the release and of a verification run.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	org := demoOrg(t)
	src := openSource(t, org)
	full := strictWhere(t)
	partial := *full
	partial.Results = full.Results[:2]
	partial.Conclusion, partial.Summary = "", map[string]int{}
	created := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	running := dashboard.Run{ID: "r1", Upstream: "clever-db@strict-where", With: []string{"clever-api@adapt-strict-where"},
		State: dashboard.RunRunning, RequestedBy: "alice", Created: created, Started: created.Add(time.Second), Report: &partial,
		Events: []dashboard.RunEvent{{At: created.Add(2 * time.Second), Repo: "clever-api", State: "alone", Verdict: verify.Regressed}}}
	src.runs.put(running)
	d, srv := serve(t, src)
	ctx := browser(t, exe)
	shots := artifacts(t)

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		})
	}
	// as logs the browser in as person ("" logs out): the session cookie
	// the server's auth would set.
	as := func(person string) {
		t.Helper()
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		if person == "" {
			return
		}
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: personCookie, Value: person, URL: srv.URL, HTTPOnly: new(true)}); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(what, expr string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	count := func(what, selector string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, selector)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return n
	}
	text := func(what, selector string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return strings.TrimSpace(s)
	}
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	t.Run("graph", func(t *testing.T) {
		as("")
		do("the graph page", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("svg.graph")), shot("graph"))
		hrefs := fmt.Sprint(eval("the graph's links", `[...document.querySelectorAll('svg.graph a[data-repo]')].map(a => a.getAttribute('href'))`))
		if n := count("the graph's boxes", "svg.graph a[data-repo]"); n != 8 || !strings.Contains(hrefs, "/repos/clever-db") {
			t.Errorf("the graph links %d repos: %s; want the demo's 8", n, hrefs)
		}
		// Follow a repo's box in the drawing.
		do("following clever-db's box", chromedp.Click(chromedp.CSS(`svg.graph a[data-repo="clever-db"] rect`)),
			chromedp.WaitVisible(chromedp.CSS(`table[aria-labelledby="down-h"]`)), shot("repo-clever-db"))
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if h1 := text("the heading", "h1"); h1 != "clever-db" || !strings.HasSuffix(loc, "/repos/clever-db") {
			t.Errorf("after clicking clever-db: %q at %s", h1, loc)
		}
	})

	t.Run("release buttons only for the manager", func(t *testing.T) {
		as("bob")
		do("the release page as bob", chromedp.Navigate(srv.URL+"/releases/sync-docs"), chromedp.WaitVisible(chromedp.CSS("table.steps")), shot("release-bob"))
		if n := count("bob's buttons", "button[data-action]"); n != 0 {
			t.Errorf("bob sees %d action buttons", n)
		}
		as("alice")
		do("the release page as alice", chromedp.Navigate(srv.URL+"/releases/sync-docs"),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-step="3"] button[data-action="confirm"]`)), shot("release-alice"))
		if n := count("alice's confirm buttons", `button[data-action="confirm"]`); n != 1 {
			t.Errorf("alice sees %d confirm buttons, want 1 (the deploy step)", n)
		}
		if action := fmt.Sprint(eval("the confirm form", `document.querySelector('tr[data-step="3"] form').getAttribute('action')`)); !strings.HasSuffix(action, "/api/v1/releases/sync-docs/steps/3/confirm") {
			t.Errorf("the confirm form posts to %q", action)
		}
	})

	t.Run("a release updates live", func(t *testing.T) {
		state := `document.querySelector('tr[data-step="3"] [data-step-state]').textContent`
		as("alice")
		do("the release page", chromedp.Navigate(srv.URL+"/releases/sync-docs"), chromedp.WaitVisible(chromedp.CSS(`body[data-live="open"]`)))
		eval("marking the page", `window.notReloaded = true`)
		if before := eval("step 3", state); before != "pending" {
			t.Fatalf("step 3 is %q before the confirm", before)
		}
		// alice confirms the deploy (as from another machine); the
		// server publishes the change.
		cascadeCmd(t, org, 0, "release", "confirm", "sync-docs", "3", "--key", filepath.Join(org, "keys", "alice"))
		if still := eval("step 3", state); still != "pending" {
			t.Fatalf("the page changed to %q before any event", still)
		}
		d.Broker().Publish(dashboard.ReleaseTopic("sync-docs"), dashboard.Event{Name: "update", Data: "step 3 confirmed"})
		poll("waiting for step 3 to show as succeeded", state+` === 'succeeded'`)
		do("the updated page", shot("release-live"))
		if eval("the mark", `window.notReloaded === true`) != true {
			t.Error("the page reloaded instead of updating in place")
		}
		if n := count("buttons after the confirm", `button[data-action="confirm"]`); n != 0 {
			t.Errorf("%d confirm buttons left after the deploy step was confirmed", n)
		}
	})

	t.Run("a run's matrix fills in live", func(t *testing.T) {
		as("bob")
		do("the run page", chromedp.Navigate(srv.URL+"/runs/r1"), chromedp.WaitVisible(chromedp.CSS(`body[data-live="open"]`)), shot("run-running"))
		if n := count("cells while running", "td[data-verdict]"); n != 2 {
			t.Fatalf("%d verdict cells while 2 pairs are done", n)
		}
		// The 4 downstreams of clever-db, alone and with the change set:
		// the 6 pairs not done yet show as pending.
		if n := count("pending cells", "td.cell.pending"); n != 6 {
			t.Errorf("%d pending cells while 6 pairs are not done", n)
		}
		done := running
		done.State, done.Report, done.Finished = dashboard.RunSucceeded, full, created.Add(9*time.Second)
		src.runs.put(done)
		d.Broker().Publish(dashboard.RunTopic("r1"), dashboard.Event{Name: "update", Data: "finished"})
		poll("waiting for the whole matrix", `document.querySelectorAll('td[data-verdict]').length === 8`)
		if n := count("pending cells", "td.cell.pending"); n != 0 {
			t.Errorf("%d cells still pending after the run", n)
		}
		cell := `tr[data-repo="clever-api"] td[data-verdict="regressed"]`
		do("opening a regression's log", chromedp.Click(chromedp.CSS(cell+" summary")), chromedp.WaitVisible(chromedp.CSS(cell+" pre")), shot("run"))
		if c := text("the conclusion", "[data-conclusion]"); !strings.Contains(c, "release them together, clever-db first") {
			t.Errorf("conclusion %q", c)
		}
		if v := text("clever-api's verdict", cell+" .verdict"); !strings.EqualFold(v, "regressed") {
			t.Errorf("clever-api alone shows %q", v)
		}
		if l := text("the log tail", cell+" pre"); !strings.Contains(l, "not enough arguments in call to query.Find") {
			t.Errorf("the log tail shows %q", l)
		}
	})

	t.Run("keyboard and contrast", func(t *testing.T) {
		as("alice")
		do("the graph page", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("svg.graph")),
			chromedp.KeyEvent(kb.Tab))
		if first := eval("the first stop", `document.activeElement.textContent`); first != "Skip to content" {
			t.Errorf("the first Tab stop is %q, want the skip link", first)
		}
		// A repo's box is a link the keyboard reaches and follows.
		do("following clever-api by keyboard", chromedp.Focus(chromedp.CSS(`svg.graph a[data-repo="clever-api"]`)), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.CSS(`table[aria-labelledby="up-h"]`)))
		if h1 := text("the heading", "h1"); h1 != "clever-api" {
			t.Errorf("Enter on clever-api's box led to %q", h1)
		}
		// Every state label and verdict cell reads at WCAG AA contrast
		// (4.5:1) against its own background.
		for _, page := range []string{"/releases/sync-docs", "/runs/r1", "/plans/sync-docs", "/"} {
			do(page, chromedp.Navigate(srv.URL+page), chromedp.WaitVisible(chromedp.CSS("main")))
			low := eval("contrast on "+page, contrastJS)
			if l, ok := low.([]any); !ok || len(l) > 0 {
				t.Errorf("%s: text below 4.5:1 contrast: %v", page, low)
			}
		}
	})

	t.Run("the other pages", func(t *testing.T) {
		as("")
		for _, p := range []struct{ path, name, ready string }{
			{"/plans", "plans", "table"},
			{"/plans/sync-docs", "plan", "pre.markdown"},
			{"/runs", "runs", "table"},
			{"/audit?plan=sync-docs", "audit", "table.audit"},
			{"/login", "login", "form.login"},
		} {
			do(p.path, chromedp.Navigate(srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)), shot(p.name))
		}
		do("the audit page", chromedp.Navigate(srv.URL+"/audit?plan=sync-docs"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
		if n := count("the verified mark", "[data-verified]"); n != 1 {
			t.Error("the audit log of sync-docs does not show as verified")
		}
	})
}

// contrastJS lists the elements whose text is below 4.5:1 contrast with
// the first opaque background behind them (WCAG 2's relative luminance).
const contrastJS = `(() => {
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };
  const low = [];
  document.querySelectorAll('main .badge, main td.cell .verdict, main td.cell small, main td.cell p, main a, main th, main td, header a, header span, .error').forEach(el => {
    if (!el.textContent.trim() || !el.getClientRects().length) return;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
  });
  return low;
})()`
