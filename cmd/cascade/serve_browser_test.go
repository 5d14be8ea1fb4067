package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// serveBrowser drives the dashboard of a real `cascade serve` at url in a
// headless Chromium: alice and bob log in with one-time codes from
// `cascade login --web`; a verification run started through the API
// (start) fills its matrix in live; bob sees no action buttons on the
// release of sync-docs; alice confirms its step 3 with the page's form and
// sees it succeeded. It reports false, having done nothing, when there is
// no Chromium (unless CASCADE_TEST_BROWSER_REQUIRED=1).
func serveBrowser(t *testing.T, url string, run func(int, ...string) string, alice, bob string, start func() int64) bool {
	t.Helper()
	var exe string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		if os.Getenv("CASCADE_TEST_BROWSER_REQUIRED") == "1" {
			t.Fatal("no Chromium on PATH, and CASCADE_TEST_BROWSER_REQUIRED=1")
		}
		t.Log("no Chromium on PATH: the dashboard is not driven")
		return false
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	tctx, cancelTimeout := context.WithTimeout(context.Background(), 5*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(tctx, opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer func() { cancelBrowser(); cancelAlloc(); cancelTimeout() }()
	shots := t.ArtifactDir()
	if d := os.Getenv("CASCADE_TEST_ARTIFACTS"); d != "" {
		shots = filepath.Join(d, t.Name())
		os.MkdirAll(shots, 0o755)
	}
	t.Logf("screenshots in %s", shots)
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
	count := func(what, selector string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, selector)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return n
	}
	poll := func(what, expr string) {
		t.Helper()
		for i := 0; ; i++ {
			_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond)))
			if err == nil {
				return
			}
			// A form post navigates: poll the page it lands on.
			if !strings.Contains(err.Error(), "(-32000)") || i == 20 {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	codeRE := regexp.MustCompile(`(?m)^\s+([A-Z0-9]{4}(?:-[A-Z0-9]{4})+)\s*$`)
	login := func(person, key string) {
		t.Helper()
		m := codeRE.FindStringSubmatch(run(0, "login", "--web", "--server", url, "--key", key))
		if m == nil {
			t.Fatal("cascade login --web printed no code")
		}
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		do("logging in as "+person, chromedp.Navigate(url+"/login"), chromedp.WaitVisible(chromedp.CSS("form.login")),
			chromedp.SetValue(chromedp.CSS("#person"), person), chromedp.SetValue(chromedp.CSS("#code"), m[1]),
			shot("login-"+person), chromedp.Submit(chromedp.CSS("form.login")),
			chromedp.WaitVisible(chromedp.CSS("svg.graph")))
		if n := count("the signed-in mark", `form[action="/logout"]`); n != 1 {
			t.Errorf("after logging in as %s the page offers no log out", person)
		}
	}

	// An anonymous browser is sent to the login page.
	do("the dashboard without a login", chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.CSS("form.login")))

	login("bob", bob)
	id := start()
	do("the run page", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", url, id)), chromedp.WaitVisible(chromedp.CSS(`body[data-live="open"]`)), shot("run-started"))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	poll("waiting for the run's matrix to fill in", `document.querySelectorAll('td.cell.pending').length === 0 && document.querySelectorAll('td[data-verdict]').length > 0`)
	do("the finished run", shot("run-done"))
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !v {
		t.Errorf("the run page reloaded instead of filling in live (%v)", err)
	}

	do("the release as bob", chromedp.Navigate(url+"/releases/sync-docs"), chromedp.WaitVisible(chromedp.CSS("table.steps")), shot("release-bob"))
	if n := count("bob's buttons", "button[data-action]"); n != 0 {
		t.Errorf("bob sees %d action buttons", n)
	}
	login("alice", alice)
	state := `document.querySelector('tr[data-step="3"] [data-step-state]').textContent`
	do("the release as alice", chromedp.Navigate(url+"/releases/sync-docs"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-step="3"] button[data-action="confirm"]`)), shot("release-alice"))
	do("confirming step 3", chromedp.Click(chromedp.CSS(`tr[data-step="3"] button[data-action="confirm"]`)))
	poll("waiting for step 3 to show as succeeded", `document.querySelector('tr[data-step="3"] [data-step-state]') !== null && `+state+` === 'succeeded'`)
	do("the confirmed release", shot("release-confirmed"))
	if n := count("confirm buttons after", `button[data-action="confirm"]`); n != 0 {
		t.Errorf("%d confirm buttons after the confirmation", n)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/releases/sync-docs") {
		t.Errorf("after the form post the browser is at %s", loc)
	}
	return true
}
