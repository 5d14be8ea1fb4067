package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/demo"
)

// TestServeWhole runs the real `cascade serve` on the demo organisation
// with sync-docs released up to its manual deploy step: alice and bob log
// in with their keys (`cascade login`); alice starts a verification of
// clever-db@strict-where through the API and follows it to its end, and
// its report is the one `cascade verify --json` prints; the server
// refuses actions until cascade.yaml lists its key under `servers:`;
// bob, not the manager, is refused a confirmation (403, nothing written);
// alice confirms step 3, a second confirmation is a conflict, and
// `cascade release log --verify` accepts the entries the server signed.
func TestServeWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo organisation and verifies through a real server")
	}
	t.Parallel()
	slot(t)
	dir := t.TempDir()
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", dir).Run() })
	org := filepath.Join(dir, "demo")
	ctx := context.Background()
	if _, err := demo.Build(ctx, org); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.PrepareSyncCounts(ctx, org); err != nil {
		t.Fatal(err)
	}
	env := append(docsEnv(t, dir), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	run := func(want int, args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, "bin", "cascade"), args...)
		cmd.Dir, cmd.Env = org, env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != want {
			t.Fatalf("cascade %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errOut.String())
		}
		return out.String()
	}
	alice, bob := filepath.Join(org, "keys", "alice"), filepath.Join(org, "keys", "bob")
	run(0, "plan", "new", "sync-docs", "--title", "Document district-sync", "--manager", "alice",
		"--change", "district-sync@sync-docs", "--version", "district-sync=v1.0.0")
	run(0, "plan", "check", "sync-docs")
	run(0, "release", "start", "sync-docs", "--key", alice)
	run(4, "release", "next", "sync-docs", "--key", alice) // waits for the deploy (step 3)
	// What the command line says of the verification, first: the
	// server's run then finds the pairs in the result cache.
	wantReport := run(1, "verify", "clever-db@strict-where", "--json") // a regression: exit 1

	url, pub, server := startServe(t, dir, org, env)
	if pub == "" {
		t.Fatal("cascade serve did not ask to list its key under servers:")
	}
	if fi, err := os.Stat(filepath.Join(org, ".cascade", "server_key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the server's key: %v, mode %v; want .cascade/server_key, 0600", err, fi.Mode())
	}
	token := func(key string) string {
		t.Helper()
		run(0, "login", "--server", url, "--key", key)
		var creds struct {
			Servers map[string]struct{ Token string } `json:"servers"`
		}
		data, err := os.ReadFile(filepath.Join(dir, "config", "cascade", "credentials.json"))
		if err != nil || json.Unmarshal(data, &creds) != nil {
			t.Fatalf("credentials: %v", err)
		}
		return creds.Servers[url].Token
	}
	aliceTok := token(alice)
	bobTok := token(bob)
	call := func(tok, method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// A verification through the API.
	code, body := call(aliceTok, "POST", "/api/v1/verifications", `{"upstream": "clever-db@strict-where"}`)
	if code != 202 {
		t.Fatalf("POST /api/v1/verifications = %d %s", code, body)
	}
	var run1 struct{ ID int64 }
	json.Unmarshal(body, &run1)
	// The events stream ends with the run.
	code, stream := call(aliceTok, "GET", fmt.Sprintf("/api/v1/verifications/%d/events", run1.ID), "")
	if code != 200 || !strings.Contains(string(stream), "event: run_finished") {
		t.Fatalf("the events stream = %d:\n%s", code, stream)
	}
	code, body = call(aliceTok, "GET", fmt.Sprintf("/api/v1/verifications/%d", run1.ID), "")
	var got struct {
		State       string
		RequestedBy string `json:"requested_by"`
		Report      json.RawMessage
		Events      []struct{ Kind string }
	}
	if err := json.Unmarshal(body, &got); err != nil || code != 200 || got.State != "done" || got.RequestedBy != "alice" {
		t.Fatalf("GET the run = %d, state %q by %q (%v):\n%.500s", code, got.State, got.RequestedBy, err, body)
	}
	if a, b := comparable(t, got.Report), comparable(t, []byte(wantReport)); a != b {
		t.Errorf("the run's report differs from cascade verify --json's:\nserver: %s\ncli:    %s", a, b)
	}
	if len(got.Events) == 0 || got.Events[len(got.Events)-1].Kind != "run_finished" {
		t.Errorf("the run's events: %+v", got.Events)
	}

	entries := func() int {
		var l struct{ Entries []json.RawMessage }
		json.Unmarshal([]byte(run(0, "release", "log", "sync-docs", "--json")), &l)
		return len(l.Entries)
	}
	before := entries()
	// Without its key in servers:, the server cannot act for anyone.
	code, body = call(aliceTok, "POST", "/api/v1/releases/sync-docs/steps/3/confirm", `{}`)
	if code != 403 || !strings.Contains(string(body), "servers:") {
		t.Fatalf("a confirmation through a server not listed = %d %s; want 403 naming servers:", code, body)
	}
	f, err := os.OpenFile(filepath.Join(org, "cascade.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "servers:\n  - name: team\n    keys: [%q]\n", pub)
	f.Close()
	// The server reads cascade.yaml again when it changes (at most once a
	// second): bob is refused as soon as it knows the key, as the
	// manager's right and not the server's.
	for i := 0; ; i++ {
		code, body = call(bobTok, "POST", "/api/v1/releases/sync-docs/steps/3/confirm", `{}`)
		if !strings.Contains(string(body), "servers:") || i == 100 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != 403 || !strings.Contains(string(body), "only the release manager") {
		t.Fatalf("bob's confirmation = %d %s; want 403", code, body)
	}
	if n := entries(); n != before {
		t.Errorf("bob's refused confirmation wrote %d audit entries", n-before)
	}
	// The dashboard, in a browser: alice confirms step 3 with its form;
	// without a browser, through the API.
	startRun := func() int64 {
		code, body := call(aliceTok, "POST", "/api/v1/verifications", `{"upstream": "clever-db@strict-where", "with": ["clever-api@adapt-strict-where"], "only": ["flaky-reports"]}`)
		var r struct{ ID int64 }
		if code != 202 || json.Unmarshal(body, &r) != nil {
			t.Fatalf("POST /api/v1/verifications = %d %s", code, body)
		}
		return r.ID
	}
	if !serveBrowser(t, url, run, alice, bob, startRun) {
		code, body = call(aliceTok, "POST", "/api/v1/releases/sync-docs/steps/3/confirm", `{}`)
		if code != 200 || !strings.Contains(string(body), `"state": "succeeded"`) {
			t.Fatalf("alice's confirmation = %d %s", code, body)
		}
	}
	if n := entries(); n <= before {
		t.Errorf("alice's confirmation wrote no audit entry")
	}
	after := entries()
	code, body = call(aliceTok, "POST", "/api/v1/releases/sync-docs/steps/3/confirm", `{}`)
	if code != 409 {
		t.Errorf("a second confirmation = %d %s; want 409", code, body)
	}
	if n := entries(); n != after {
		t.Errorf("the second confirmation wrote %d audit entries", n-after)
	}
	out := run(0, "release", "log", "sync-docs", "--verify")
	if !strings.Contains(out, "confirm") || !strings.Contains(out, "alice") {
		t.Errorf("release log --verify:\n%s", out)
	}

	// SIGKILL during a verification run: the next server to start resumes
	// it, and each pair is finished once.
	code, body = call(aliceTok, "POST", "/api/v1/verifications", `{"upstream": "clever-db@strict-where", "with": ["clever-api@adapt-strict-where"]}`)
	if code != 202 {
		t.Fatalf("POST /api/v1/verifications = %d %s", code, body)
	}
	var run2 struct{ ID int64 }
	json.Unmarshal(body, &run2)
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/verifications/%d/events", url, run2.ID), nil)
	req.Header.Set("Authorization", "Bearer "+aliceTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "event: pair_started" {
	}
	server.Process.Kill()
	server.Wait()
	resp.Body.Close()
	url, _, server = startServe(t, dir, org, env)
	code, stream = call(aliceTok, "GET", fmt.Sprintf("/api/v1/verifications/%d/events", run2.ID), "")
	if code != 200 || !strings.Contains(string(stream), "event: run_finished") {
		t.Fatalf("after the restart, the events stream = %d:\n%s", code, stream)
	}
	code, body = call(aliceTok, "GET", fmt.Sprintf("/api/v1/verifications/%d", run2.ID), "")
	var resumed struct {
		State    string
		Attempts int
		Events   []struct {
			Kind    string
			Payload struct{ Repo, State string }
		}
	}
	if err := json.Unmarshal(body, &resumed); err != nil || resumed.State != "done" || resumed.Attempts < 2 {
		t.Fatalf("the killed run after the restart: %d, state %q, %d attempts (%v); want done after 2 attempts:\n%.600s", code, resumed.State, resumed.Attempts, err, body)
	}
	finished := map[string]int{}
	for _, ev := range resumed.Events {
		if ev.Kind == "pair_finished" {
			finished[ev.Payload.Repo+" "+ev.Payload.State]++
		}
	}
	for pair, n := range finished {
		if n != 1 {
			t.Errorf("pair %s finished %d times", pair, n)
		}
	}
	if len(finished) == 0 {
		t.Errorf("the resumed run finished no pair: %s", body)
	}

	// SIGKILL during `next` (step 4 verifies downstream): after a restart
	// `next` finishes the release, the step ended once, the log holds.
	nextDone := make(chan struct{})
	go func() {
		defer close(nextDone)
		req, _ := http.NewRequest("POST", url+"/api/v1/releases/sync-docs/next", nil)
		req.Header.Set("Authorization", "Bearer "+aliceTok)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for seen := false; !seen; {
		select {
		case <-nextDone:
			t.Log("next finished before the kill")
			seen = true
		default:
			_, b := call(aliceTok, "GET", "/api/v1/releases/sync-docs", "")
			seen = strings.Contains(string(b), `"state": "running"`)
		}
	}
	server.Process.Kill()
	server.Wait()
	<-nextDone
	url, _, _ = startServe(t, dir, org, env)
	// (Where the kill lands is up to the machine: mid-step, or after the
	// step ended; either way the release ends with the step ended once.)
	if _, b := call(aliceTok, "GET", "/api/v1/releases/sync-docs", ""); !strings.Contains(string(b), `"state": "done"`) {
		// The kill interrupted next: the restarted server's next ends it.
		code, body = call(aliceTok, "POST", "/api/v1/releases/sync-docs/next", "")
		if code != 200 || !strings.Contains(string(body), `"state": "done"`) {
			t.Fatalf("next after the restart = %d %s", code, body)
		}
	}
	var l struct {
		Entries []struct {
			Action  string
			Details map[string]any
		}
	}
	json.Unmarshal([]byte(run(0, "release", "log", "sync-docs", "--json")), &l)
	ends := 0
	for _, en := range l.Entries {
		if en.Action == "step end" && en.Details["step"] == 4.0 {
			ends++
		}
	}
	if ends != 1 {
		t.Errorf("step 4 ended %d times in the log; want once", ends)
	}
	run(0, "release", "log", "sync-docs", "--verify")
}

// comparable is a verify report without what differs between two runs of
// the same verification (durations, logs, whether a result was cached).
func comparable(t *testing.T, report []byte) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(report, &doc); err != nil {
		t.Fatalf("a report that is not JSON: %v\n%.300s", err, report)
	}
	if rs, ok := doc["results"].([]any); ok {
		for _, r := range rs {
			m := r.(map[string]any)
			delete(m, "duration_ms")
			delete(m, "log")
			delete(m, "cached")
		}
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// startServe starts `cascade serve` in org and returns its URL, the public
// key it asks to list under servers: ("" once listed) and the process,
// stopped with SIGTERM when t ends (unless killed before).
func startServe(t *testing.T, dir, org string, env []string) (url, pub string, cmd *exec.Cmd) {
	t.Helper()
	cmd = exec.Command(filepath.Join(dir, "bin", "cascade"), "serve", "--addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = org, env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads any more
			}
		}
		close(lines)
	}()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("cascade serve ended before printing its URL and key; stderr:\n%s", stderr.String())
			}
			if m := regexp.MustCompile(`^cascade: serving .* on (http://127\.0\.0\.1:[0-9]+)/$`).FindStringSubmatch(l); m != nil {
				url = m[1]
			}
			if m := regexp.MustCompile(`^\s+keys: \["(ssh-ed25519 [^"]+)"\]$`).FindStringSubmatch(l); m != nil {
				pub = m[1]
			}
			if strings.HasPrefix(l, "cascade: log in with") {
				return url, pub, cmd
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("cascade serve printed no URL in 2 minutes; stderr:\n%s", stderr.String())
		}
	}
}
