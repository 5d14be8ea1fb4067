package release_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/store"
)

// runner is a `cascade release next` running in the background.
type runner struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
	code int
}

// start starts the binary in the background (see run).
func (w *world) start(env []string, args ...string) *runner {
	w.t.Helper()
	cmd := exec.Command(w.bin, w.withDB(append(args, "--unsafe-sandbox"))...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "CASCADE_TEST_AS_CLI=1", "USER=alice", "CASCADE_CACHE_DIR="+filepath.Join(w.dir, ".cache"), "CASCADE_TEST_CRASHPOINT_DIR="+w.points)
	cmd.Env = append(cmd.Env, env...)
	r := &runner{cmd: cmd, out: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		r.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		}
		close(r.done)
	}()
	w.t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGCONT)
			_ = cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait waits for the runner to end; a runner that does not end within a
// minute is a hang (the test fails, it is killed).
func (r *runner) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-r.done:
		return r.code, r.out.String()
	case <-time.After(time.Minute):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("the runner did not stop:\n%s", r.out)
	}
	return 0, ""
}

// until polls cond until it holds; a minute without is a failure (r's
// output says why).
func (w *world) until(r *runner, what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case <-r.done:
			if cond() {
				return
			}
			w.t.Fatalf("the runner ended (exit %d) before this happened: %s\n%s", r.code, what, r.out)
		default:
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("never happened: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *world) db(query string, args ...any) {
	w.t.Helper()
	s, err := store.Open(context.Background(), w.dbURL)
	if err != nil {
		w.t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.DB.Exec(query, args...); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) auditCount() int {
	w.t.Helper()
	s, err := store.Open(context.Background(), w.dbURL)
	if err != nil {
		w.t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.DB.QueryRow("SELECT count(*) FROM audit").Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) tags() string {
	w.t.Helper()
	out, err := exec.Command("git", "-C", filepath.Join(w.dir, "svc"), "tag").CombinedOutput()
	if err != nil {
		w.t.Fatalf("git tag: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// pids reads the pids a step wrote, one a line.
func (w *world) pids(name string) []int {
	data, _ := os.ReadFile(filepath.Join(w.logs, name))
	var out []int
	for _, f := range strings.Fields(string(data)) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

func processRuns(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// blocking is a runbook whose first step runs until the file "go" in the
// logs directory exists, writing its shell's pid first.
const blocking = `release:
  steps:
    - name: one
      run: echo $$ >> %[1]s/one.pid; echo one >> %[1]s/one; while [ ! -e %[1]s/go ]; do sleep 0.05; done
      idempotent: true
    - name: two
      run: echo two >> %[1]s/two
    - name: Tag
      tag: true
`

// newBlockingWorld is a world with the blocking runbook; when the test
// ends, a step left waiting (a runner killed by a failing test) ends too.
func newBlockingWorld(t *testing.T) *world {
	w := newWorldWith(t, buildCascade(t), blocking, true)
	t.Cleanup(func() { os.WriteFile(filepath.Join(w.logs, "go"), nil, 0o644) })
	return w
}

// TestAbortStopsARunningStep: the manager aborts the release while
// `release next` runs a long step: the runner kills the step's processes,
// records it as interrupted, runs no later step, tags nothing, and exits 1.
func TestAbortStopsARunningStep(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real program")
	}
	w := newBlockingWorld(t)
	r := w.start(nil, "release", "next", "p")
	w.until(r, "step one runs", func() bool { return len(w.pids("one.pid")) == 1 })
	w.run(0, nil, "release", "abort", "p", "--reason", "STOP: bad migration")
	code, out := r.wait(t)
	if code != 1 || !strings.Contains(out, "the release of p was aborted (STOP: bad migration) while this `cascade release next` ran: nothing more runs") {
		t.Errorf("runner: exit %d, want 1 and the abort named:\n%s", code, out)
	}
	if pid := w.pids("one.pid")[0]; processRuns(pid) {
		t.Errorf("the aborted step's process %d still runs", pid)
	}
	if w.lines("two") != 0 {
		t.Error("a step after the abort ran")
	}
	if tags := w.tags(); tags != "" {
		t.Errorf("an aborted release tagged %q", tags)
	}
	if got := w.states(); got["one"] != "interrupted" || got["two"] != "pending" || got["Tag"] != "pending" {
		t.Errorf("states after the abort: %v", got)
	}
	st := w.run(0, nil, "release", "status", "p")
	if !strings.Contains(st, "Release of p: aborted") {
		t.Errorf("status:\n%s", st)
	}
	log := w.run(0, nil, "release", "log", "p", "--verify")
	if !strings.Contains(log, "the release was aborted while the step ran: it was stopped, its processes killed") {
		t.Errorf("the stopped step is not in the audit log:\n%s", log)
	}
}

// TestAbortAtEveryTransition aborts the release at each point of a step
// (after it is marked running, after its command ran, after it is marked
// done, and before the tag step tags): the runner writes no transition
// into the aborted release, starts no later step and tags nothing.
func TestAbortAtEveryTransition(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real program")
	}
	bin := buildCascade(t)
	const steps = `release:
  steps:
    - name: one
      run: echo one >> %[1]s/one
    - name: two
      run: echo two >> %[1]s/two
    - name: Tag
      tag: true
`
	for _, c := range []struct {
		at     string
		states map[string]string
	}{
		{"step-started:1", map[string]string{"one": "interrupted", "two": "pending", "Tag": "pending"}},
		{"step-executed:1", map[string]string{"one": "interrupted", "two": "pending", "Tag": "pending"}},
		{"step-finished:1", map[string]string{"one": "succeeded", "two": "pending", "Tag": "pending"}},
		{"step-started:3", map[string]string{"one": "succeeded", "two": "succeeded", "Tag": "interrupted"}},
	} {
		t.Run(c.at, func(t *testing.T) {
			w := newWorldWith(t, bin, steps, true)
			out := w.run(1, []string{"CASCADE_TEST_ABORTPOINT=" + c.at}, "release", "next", "p")
			if !strings.Contains(out, "the release of p was aborted (aborted at "+c.at+")") {
				t.Errorf("runner:\n%s", out)
			}
			if got := w.states(); fmt.Sprint(got) != fmt.Sprint(c.states) {
				t.Errorf("states = %v, want %v\n%s", got, c.states, out)
			}
			if c.states["two"] == "pending" && w.lines("two") != 0 {
				t.Error("step two ran after the abort")
			}
			if tags := w.tags(); tags != "" {
				t.Errorf("an aborted release tagged %q", tags)
			}
			w.run(0, nil, "release", "log", "p", "--verify")
		})
	}
	// Without an abort the same runbook tags.
	w := newWorldWith(t, bin, steps, true)
	w.run(0, nil, "release", "next", "p")
	if tags := w.tags(); tags != "v1.0.0" {
		t.Errorf("tags %q, want v1.0.0", tags)
	}
}

// TestStalledRunnerKeepsItsLease: a runner stopped (SIGSTOP, as by
// Ctrl-Z) past its lease's expiry still runs: another `release next` on
// the same host refuses to take over. Were it on another host, expiry
// rules: the second runner takes over and runs the step again; the first,
// resumed, finds its lease gone, kills its step and writes nothing.
func TestStalledRunnerKeepsItsLease(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real program")
	}
	w := newBlockingWorld(t)
	a := w.start(nil, "release", "next", "p")
	w.until(a, "step one runs", func() bool { return len(w.pids("one.pid")) == 1 })
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Its lease expired while it was stopped (it could not renew it).
	w.db(`UPDATE releases SET lease_expires = ?`, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano))
	code, out := w.start(nil, "release", "next", "p").wait(t)
	want := fmt.Sprintf("another `cascade release next` (process %d on this host) holds this release; its lease expired at", a.cmd.Process.Pid)
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "but the process still runs") {
		t.Fatalf("a stopped, live runner's expired lease was taken over:\n%s", out)
	}
	if w.lines("one") != 1 {
		t.Fatal("step one ran twice")
	}

	// As if the stopped runner were on another host: after the expiry, B
	// takes over and runs the idempotent step again.
	w.db(`UPDATE releases SET runner_host = 'elsewhere', runner = '1@elsewhere'`)
	b := w.start(nil, "release", "next", "p")
	w.until(b, "B runs step one again", func() bool { return len(w.pids("one.pid")) == 2 })
	entries := w.auditCount()
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	code, out = a.wait(t)
	if code != 1 || !strings.Contains(out, "lost its lease on the release of p") || !strings.Contains(out, "wrote nothing more") {
		t.Errorf("the resumed runner: exit %d:\n%s", code, out)
	}
	if n := w.auditCount(); n != entries {
		t.Errorf("the runner that lost its lease wrote %d audit entries", n-entries)
	}
	pids := w.pids("one.pid")
	if processRuns(pids[0]) {
		t.Errorf("the stale runner's step (process %d) still runs", pids[0])
	}
	if !processRuns(pids[1]) {
		t.Errorf("the new runner's step (process %d) was stopped", pids[1])
	}
	if got := w.states(); got["one"] != "running" {
		t.Errorf("step one is %s while B runs it", got["one"])
	}
	os.WriteFile(filepath.Join(w.logs, "go"), nil, 0o644)
	code, out = b.wait(t)
	if code != 0 || !strings.Contains(out, "took over the release from 1@elsewhere, whose lease expired") || !strings.Contains(out, "the release of p is done") {
		t.Errorf("B: exit %d:\n%s", code, out)
	}
	if w.lines("two") != 1 || w.tags() != "v1.0.0" {
		t.Errorf("step two ran %d times; tags %q", w.lines("two"), w.tags())
	}
	w.run(0, nil, "release", "log", "p", "--verify")
}

// TestConfirmOfInterruptedCheckNeedsOverride: a check interrupted while it
// ran (the runner killed) has no known result: `release confirm` refuses
// it (recorded); the manager overrides it with a reason, or retries it. An
// interrupted tag is confirmed only once the tag is in the repo.
func TestConfirmOfInterruptedCheckNeedsOverride(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real program")
	}
	w := newWorldWith(t, buildCascade(t), `release:
  steps:
    - name: Health
      check: echo health >> %[1]s/health; false
    - name: Tag
      tag: true
`, true)
	w.run(-9, []string{"CASCADE_TEST_CRASHPOINT=step-started:1"}, "release", "next", "p")
	out := w.run(4, nil, "release", "next", "p")
	if !strings.Contains(out, "`cascade release override p 1 --reason TEXT` if it is done") {
		t.Errorf("next after the interruption:\n%s", out)
	}
	out = w.run(1, nil, "release", "confirm", "p", "1")
	if !strings.Contains(out, "step 1 (Health) is a check step that was interrupted") || !strings.Contains(out, "cannot be confirmed") {
		t.Errorf("confirm of an interrupted check:\n%s", out)
	}
	if got := w.states(); got["Health"] != "interrupted" || w.tags() != "" {
		t.Fatalf("after the refused confirm: %v, tags %q", got, w.tags())
	}
	w.run(0, nil, "release", "override", "p", "1", "--reason", "checked the health endpoint by hand")
	// An interrupted tag step, whose result is in the repo, is confirmed.
	w.run(-9, []string{"CASCADE_TEST_CRASHPOINT=step-started:2"}, "release", "next", "p")
	if got := w.states(); got["Tag"] != "running" {
		t.Fatalf("states after the kill at the tag: %v", got)
	}
	out = w.run(4, nil, "release", "next", "p")
	if !strings.Contains(out, "`cascade release confirm p 2` if it is done") {
		t.Errorf("next after the interrupted tag:\n%s", out)
	}
	// Killed before it tagged: the confirm looks in the repo and refuses.
	out = w.run(1, nil, "release", "confirm", "p", "2")
	if !strings.Contains(out, "step 2 (Tag) cannot be confirmed: svc has no tag v1.0.0") {
		t.Errorf("confirm of a tag that is not there:\n%s", out)
	}
	w.git("tag", "v1.0.0")
	w.run(0, nil, "release", "confirm", "p", "2")
	out = w.run(0, nil, "release", "next", "p")
	if !strings.Contains(out, "the release of p is done") {
		t.Errorf("next after the confirmed tag:\n%s", out)
	}
	log := w.run(0, nil, "release", "log", "p", "--verify")
	for _, want := range []string{"confirm refused", "override", "checked the health endpoint by hand"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}
