package jobs

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
	"github.com/cascade-dev/cascade/internal/verify"
)

// Child processes of the kill test: the test binary, run again with
// these variables, works the queue (see TestMain).
const (
	childDB        = "CASCADE_JOBS_TEST_CHILD_DB"
	childWorkspace = "CASCADE_JOBS_TEST_CHILD_WORKSPACE"
	childCache     = "CASCADE_JOBS_TEST_CHILD_CACHE"
	// childCrash names a file the child creates, after the run's first
	// pair has been built and tested, before it stops dead (to be SIGKILLed).
	childCrash = "CASCADE_JOBS_TEST_CHILD_CRASH"
	// childRun is the run the child works until it is finished.
	childRun = "CASCADE_JOBS_TEST_CHILD_RUN"
)

func TestMain(m *testing.M) {
	if os.Getenv(childDB) != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// child works the queue until the run named by childRun is finished (or
// stops dead at the crash point).
func child() int {
	ctx := context.Background()
	st, err := store.Open(ctx, os.Getenv(childDB))
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	cfg := Config{Workspace: os.Getenv(childWorkspace), CacheDir: os.Getenv(childCache), Workers: 1}
	if crash := os.Getenv(childCrash); crash != "" {
		cfg.Hooks.Event = func(e Event) {
			var p struct{ Verdict string }
			json.Unmarshal(e.Payload, &p)
			if e.Kind == EventPairFinished && p.Verdict != verify.Skipped {
				os.WriteFile(crash, nil, 0o644)
				select {} // until SIGKILL
			}
		}
	}
	sys, err := Open(ctx, st, cfg)
	if err == nil {
		err = sys.Start(ctx)
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	var id int64
	json.Unmarshal([]byte(os.Getenv(childRun)), &id)
	for {
		r, err := sys.Run(ctx, id)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			return 1
		}
		if r.State != StateQueued && r.State != StateRunning {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := sys.Stop(stop); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	return 0
}

// offlineGo makes the demo's builds run offline and share the test run's
// Go build cache, as the command line's script tests do.
func offlineGo(t *testing.T) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(out)))
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOFLAGS", "")
}

// demoWorkspace builds the demo organisation and returns its cascade.yaml.
func demoWorkspace(t testing.TB) string {
	t.Helper()
	file, err := demo.Build(context.Background(), filepath.Join(t.TempDir(), "org"))
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// open opens the store at dbURL and a jobs system on it, stopped and
// closed when t ends.
func open(t testing.TB, dbURL string, cfg Config) (*store.Store, *System) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := Open(ctx, st, cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sys.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		st.Close()
	})
	return st, sys
}

// waitFinished polls run id until it leaves queued and running, or the
// test's deadline comes.
func waitFinished(t testing.TB, sys *System, id int64, deadline time.Duration) Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	for {
		r, err := sys.Run(ctx, id)
		if err != nil {
			t.Fatalf("Run(%d): %v", id, err)
		}
		if r.State != StateQueued && r.State != StateRunning {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("run %d still %s after %s", id, r.State, deadline)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// normalise drops from a verify --json document what differs between
// two runs of the same verification: durations, and whether a result
// came from the cache.
func normalise(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%v in %s", err, doc)
	}
	results, _ := v["results"].([]any)
	for _, r := range results {
		m := r.(map[string]any)
		delete(m, "duration_ms")
		delete(m, "cached")
	}
	return v
}

func TestVerificationRun(t *testing.T) {
	offlineGo(t)
	cache := t.TempDir() // shared: the second backend's run reuses the first's results
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			ws := demoWorkspace(t)
			_, sys := open(t, b.New(t), Config{Workspace: ws, CacheDir: cache, Workers: 1})
			if err := sys.Start(ctx); err != nil {
				t.Fatal(err)
			}
			run, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if run.State != StateQueued || run.ID == 0 {
				t.Fatalf("requested run = %+v; want a queued run with an id", run)
			}
			live, cancel := sys.Subscribe(run.ID)
			defer cancel()
			got := waitFinished(t, sys, run.ID, 20*time.Minute)
			if got.State != StateDone {
				t.Fatalf("run state %s (%s); want done", got.State, got.Reason)
			}

			// The stored report is the document verify --json prints for
			// the same verification.
			_, g, err := sys.loadGraph(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := verify.Verify(ctx, g, sys.verifyOptions(got, ""))
			if err != nil {
				t.Fatal(err)
			}
			var direct bytes.Buffer
			if err := report.JSON(&direct, rep); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(normalise(t, direct.Bytes()), normalise(t, got.Report)); diff != "" {
				t.Errorf("stored report mismatch (-verify +stored):\n%s", diff)
			}
			if !bytes.HasPrefix(got.Report, []byte("{\n  \"schema_version\"")) {
				t.Errorf("stored report is not verify --json's document:\n%.200s", got.Report)
			}
			o := verify.Assess(rep)
			if got.ExitClass == nil || *got.ExitClass != o.Exit || o.Exit != 1 || got.Conclusion != o.Conclusion {
				t.Errorf("exit class %v, conclusion %q; want %d (a regression), %q", got.ExitClass, got.Conclusion, o.Exit, o.Conclusion)
			}

			// Events: started, a started and finished event per pair, one finish.
			events, err := sys.Events(ctx, run.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			finished := map[string]string{}
			started := map[string]bool{}
			for i, e := range events {
				if e.Seq != int64(i+1) {
					t.Errorf("event %d has seq %d", i, e.Seq)
				}
				var p struct{ Repo, State, Verdict string }
				json.Unmarshal(e.Payload, &p)
				switch e.Kind {
				case EventPairStarted:
					started[p.Repo+" "+p.State] = true
				case EventPairFinished:
					finished[p.Repo+" "+p.State] = p.Verdict
				}
			}
			want := map[string]string{}
			for _, r := range rep.Results {
				want[r.Repo+" "+r.State] = r.Verdict
			}
			if diff := cmp.Diff(want, finished); diff != "" {
				t.Errorf("pair_finished events mismatch (-report +events):\n%s", diff)
			}
			if len(events) < 2 || events[0].Kind != EventRunStarted || events[len(events)-1].Kind != EventRunFinished {
				t.Errorf("events %v; want run_started first and run_finished last", kinds(events))
			}
			// What the subscription delivered is the tail of the log.
			var heard []Event
			for e := range live {
				heard = append(heard, e)
				if e.Kind == EventRunFinished {
					break
				}
			}
			if len(heard) == 0 || len(heard) > len(events) {
				t.Fatalf("subscriber heard %d events of %d", len(heard), len(events))
			}
			tail := events[len(events)-len(heard):]
			if diff := cmp.Diff(kinds(tail), kinds(heard)); diff != "" {
				t.Errorf("subscriber's events mismatch (-stored +heard):\n%s", diff)
			}

			runs, err := sys.Runs(ctx, 10)
			if err != nil || len(runs) != 1 || runs[0].ID != run.ID || runs[0].RequestedBy != "alice" || runs[0].State != StateDone || runs[0].Report != nil {
				t.Errorf("Runs = %+v, %v; want the one run, by alice, done, without its report", runs, err)
			}
		})
	}
}

func kinds(events []Event) []string {
	var k []string
	for _, e := range events {
		k = append(k, e.Kind)
	}
	return k
}

func TestBadRequests(t *testing.T) {
	ctx := context.Background()
	ws := demoWorkspace(t)
	st, sys := open(t, storetest.SQLite(t), Config{Workspace: ws, CacheDir: t.TempDir(), Workers: 1})
	if err := sys.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{Upstream: "no-such-repo@main", RequestedBy: "alice"}, "no-such-repo"},
		{Request{Upstream: "clever-db@no-such-branch", RequestedBy: "alice"}, "no-such-branch"},
		{Request{Upstream: "clever-db@--upload-pack=x", RequestedBy: "alice"}, "upload-pack"},
		{Request{Upstream: "clever-db@strict-where", With: []string{"clever-api"}, RequestedBy: "alice"}, "--with clever-api names no ref"},
		{Request{Upstream: "clever-db@strict-where", With: []string{"clever-api@"}, RequestedBy: "alice"}, "names no ref"},
		{Request{Upstream: "clever-db@./clever-db", RequestedBy: "alice"}, "directory"},
		{Request{Upstream: "clever-db@/etc", RequestedBy: "alice"}, "directory"},
		// A relative path out of the workspace is not a directory to a
		// server: it is a ref, and not a valid one.
		{Request{Upstream: "clever-db@x/../../etc", RequestedBy: "alice"}, `cannot contain ".."`},
		{Request{Upstream: "clever-db@strict-where", With: []string{"clever-api@x/../clever-api"}, RequestedBy: "alice"}, `cannot contain ".."`},
		{Request{Upstream: "@main", RequestedBy: "alice"}, "names no repo"},
		{Request{Upstream: "clever-db@strict-where", With: []string{"clever-db@master"}, RequestedBy: "alice"}, "twice"},
		{Request{Upstream: "clever-db@strict-where"}, "no person"},
		{Request{RequestedBy: "alice"}, "no upstream"},
		{Request{Upstream: "clever-db@strict-where", Only: []string{"clever-api\n"}, RequestedBy: "alice"}, "not a repo or tier name"},
		{Request{Upstream: "clever-db@strict-where", Only: []string{"no-such-repo"}, RequestedBy: "alice"}, "no-such-repo"},
		{Request{Upstream: "clever-db@strict-where", Only: []string{"json-schema-converter"}, RequestedBy: "alice"}, "not downstream"},
	} {
		_, err := sys.RequestVerification(ctx, tc.req)
		if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RequestVerification(%+v) = %v (kind %v); want an Invalid error naming %q", tc.req, err, errkind.Of(err), tc.want)
		}
	}
	var runs, jobs int
	if err := st.DB.QueryRow("SELECT count(*) FROM verification_runs").Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if err := st.DB.QueryRow("SELECT count(*) FROM river_job").Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if runs != 0 || jobs != 0 {
		t.Errorf("%d runs and %d jobs queued by bad requests; want none", runs, jobs)
	}
	if _, err := sys.Run(ctx, 42); errkind.Of(err) != errkind.NotFound {
		t.Errorf("Run(42) = %v; want NotFound", err)
	}
	if _, err := sys.Events(ctx, 42, 0); errkind.Of(err) != errkind.NotFound {
		t.Errorf("Events(42) = %v; want NotFound", err)
	}
}

// A run whose job fails on its last attempt is an error with the reason,
// never done.
func TestFailedRunIsError(t *testing.T) {
	ctx := context.Background()
	ws := demoWorkspace(t)
	db := storetest.SQLite(t)
	var attempts sync.Map
	_, sys := open(t, db, Config{Workspace: ws, CacheDir: t.TempDir(), Workers: 1, MaxAttempts: 2,
		Hooks: Hooks{Started: func(_ context.Context, id int64) error {
			n, _ := attempts.LoadOrStore(id, new(int))
			*n.(*int)++
			return errkind.Wrap(errkind.Infra, errors.New("the disk is full"))
		}}})
	run, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Start(ctx); err != nil {
		t.Fatal(err)
	}
	got := waitFinished(t, sys, run.ID, 5*time.Minute)
	if got.State != StateError || !strings.Contains(got.Reason, "the disk is full") || !strings.Contains(got.Reason, "after 2 attempts") {
		t.Errorf("run = %s (%q); want error, the disk is full after 2 attempts", got.State, got.Reason)
	}
	if got.Report != nil || got.ExitClass != nil {
		t.Errorf("a failed run has a report or exit class: %s %v", got.Report, got.ExitClass)
	}
	if got.Attempts != 2 {
		t.Errorf("attempts = %d; want 2", got.Attempts)
	}
	counts, err := sys.Counts(ctx)
	if diff := cmp.Diff(map[string]int{StateQueued: 0, StateRunning: 0, StateDone: 0, StateError: 1, StateCanceled: 0}, counts); diff != "" || err != nil {
		t.Errorf("Counts mismatch (-want +got), %v:\n%s", err, diff)
	}
}

func TestKillResumes(t *testing.T) {
	offlineGo(t)
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			ws := demoWorkspace(t)
			cache := t.TempDir()
			db := b.New(t)
			// This process queues the run and reads; children work it.
			_, sys := open(t, db, Config{Workspace: ws, CacheDir: cache})
			run, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			crash := filepath.Join(t.TempDir(), "crashed")
			deadline, cancel := context.WithTimeout(ctx, 20*time.Minute)
			defer cancel()
			startChild := func(crashFile string) *exec.Cmd {
				cmd := exec.CommandContext(deadline, os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), childDB+"="+db, childWorkspace+"="+ws, childCache+"="+cache,
					childCrash+"="+crashFile, childRun+"="+jsonInt(run.ID))
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return cmd
			}
			first := startChild(crash)
			for {
				if _, err := os.Stat(crash); err == nil {
					break
				}
				select {
				case <-deadline.Done():
					first.Process.Kill()
					t.Fatal("the first worker never finished a pair")
				case <-time.After(50 * time.Millisecond):
				}
			}
			first.Process.Kill() // SIGKILL
			first.Wait()
			mid, err := sys.Run(ctx, run.ID)
			if err != nil || mid.State != StateRunning {
				t.Fatalf("after the kill the run is %+v, %v; want running", mid.State, err)
			}

			second := startChild("")
			if err := second.Wait(); err != nil {
				t.Fatalf("the second worker did not finish the run: %v", err)
			}
			got := waitFinished(t, sys, run.ID, time.Minute)
			if got.State != StateDone || got.ExitClass == nil || *got.ExitClass != 1 {
				t.Fatalf("run = %s %v (%s); want done with a regression", got.State, got.ExitClass, got.Reason)
			}
			if got.Attempts != 2 {
				t.Errorf("attempts = %d; want 2 (killed, resumed)", got.Attempts)
			}
			var rep verify.Report
			if err := json.Unmarshal(got.Report, &rep); err != nil {
				t.Fatal(err)
			}
			cached := 0
			for _, r := range rep.Results {
				if r.Cached {
					cached++
				}
			}
			if cached == 0 {
				t.Errorf("the resumed run verified every pair again; want the pair finished before the kill from the cache")
			}
			events, err := sys.Events(ctx, run.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			pairs := map[string]int{}
			// A pair started after the run resumed is one not finished
			// before: every pair_started of the resumed attempt is
			// followed by its pair_finished.
			open := map[string]bool{}
			resumed := false
			for _, e := range events {
				count[e.Kind]++
				var p struct{ Repo, State string }
				json.Unmarshal(e.Payload, &p)
				switch e.Kind {
				case EventRunStarted:
					resumed = count[EventRunStarted] > 1
				case EventPairStarted:
					if resumed && pairs[p.Repo+" "+p.State] > 0 {
						t.Errorf("the resumed run started pair %s %s again, finished before the kill", p.Repo, p.State)
					}
					open[p.Repo+" "+p.State] = true
				case EventPairFinished:
					pairs[p.Repo+" "+p.State]++
					delete(open, p.Repo+" "+p.State)
				}
			}
			if resumed && len(open) > 0 {
				t.Errorf("pairs started and never finished: %v", open)
			}
			if count[EventRunStarted] != 2 || count[EventRunFinished] != 1 {
				t.Errorf("events %v; want two run_started and one run_finished", count)
			}
			if len(pairs) != len(rep.Results) {
				t.Errorf("pair_finished for %d pairs; want %d", len(pairs), len(rep.Results))
			}
			for p, n := range pairs {
				if n != 1 {
					t.Errorf("pair %s finished %d times in the events; want once", p, n)
				}
			}
		})
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// A run's outcome is written once, by the job whose lease it is: a job
// whose lease ran out and was taken over writes nothing.
func TestFinishOnce(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	_, sys := open(t, storetest.SQLite(t), Config{Workspace: demoWorkspace(t), CacheDir: t.TempDir(), Now: clock, LeaseTTL: time.Minute})
	run, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, err := sys.claim(ctx, run.ID, 1, "a"); err != nil || r == nil {
		t.Fatalf("first claim = %v, %v; want the run", r, err)
	}
	if r, wait, err := sys.claim(ctx, run.ID, 2, "b"); err != nil || r != nil || wait <= 0 {
		t.Fatalf("claim of a leased run = %v, %s, %v; want a wait", r, wait, err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute) // a's lease runs out
	mu.Unlock()
	if r, _, err := sys.claim(ctx, run.ID, 2, "b"); err != nil || r == nil {
		t.Fatalf("claim after the lease ran out = %v, %v; want the run", r, err)
	}
	exit := 0
	if err := sys.finish(ctx, run.ID, "a", StateDone, `{"by":"a"}`, &exit, "a", ""); !errors.Is(err, errLeaseLost) {
		t.Errorf("finish by the job that lost its lease = %v; want errLeaseLost", err)
	}
	if err := sys.finish(ctx, run.ID, "b", StateDone, `{"by":"b"}`, &exit, "b", ""); err != nil {
		t.Fatal(err)
	}
	if err := sys.finish(ctx, run.ID, "b", StateError, "", nil, "", "again"); !errors.Is(err, errLeaseLost) {
		t.Errorf("second finish = %v; want errLeaseLost", err)
	}
	got, err := sys.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateDone || string(got.Report) != `{"by":"b"}` || got.Attempts != 2 {
		t.Errorf("run = %s %s, %d attempts; want done by b after 2 attempts", got.State, got.Report, got.Attempts)
	}
	if r, wait, err := sys.claim(ctx, run.ID, 3, "c"); err != nil || r != nil || wait != 0 {
		t.Errorf("claim of a finished run = %v, %s, %v; want nothing to do", r, wait, err)
	}
	events, _ := sys.Events(ctx, run.ID, 0)
	if diff := cmp.Diff([]string{EventRunStarted, EventRunStarted, EventRunFinished}, kinds(events)); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}

// Stop lets a running job run until its deadline, then cancels it and
// hands its run back; the next system resumes it to the end.
func TestStopHandsBack(t *testing.T) {
	offlineGo(t)
	ctx := context.Background()
	ws, cache, db := demoWorkspace(t), t.TempDir(), storetest.SQLite(t)
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	started := make(chan struct{}, 1)
	first, err := Open(ctx, st, Config{Workspace: ws, CacheDir: cache, Workers: 1,
		Hooks: Hooks{Started: func(ctx context.Context, _ int64) error {
			started <- struct{}{}
			<-ctx.Done() // a long build
			return ctx.Err()
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	run, err := first.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(5 * time.Minute):
		t.Fatal("the job never started")
	}
	stop, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := first.Stop(stop); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	var lease sql.NullString
	var state string
	if err := st.DB.QueryRow("SELECT state, lease_token FROM verification_runs WHERE id = ?", run.ID).Scan(&state, &lease); err != nil {
		t.Fatal(err)
	}
	if state != StateRunning || lease.Valid {
		t.Fatalf("after Stop the run is %s with lease %v; want running and handed back", state, lease)
	}
	var jobState string
	var attempt, maxAttempts int
	if err := st.DB.QueryRow("SELECT state, attempt, max_attempts FROM river_job").Scan(&jobState, &attempt, &maxAttempts); err != nil {
		t.Fatal(err)
	}
	if (jobState != "scheduled" && jobState != "available") || maxAttempts-attempt != DefaultMaxAttempts {
		t.Errorf("after Stop the job is %s, attempt %d of %d; want it queued again with every attempt left", jobState, attempt, maxAttempts)
	}

	_, second := open(t, db, Config{Workspace: ws, CacheDir: cache, Workers: 1})
	if err := second.Start(ctx); err != nil {
		t.Fatal(err)
	}
	got := waitFinished(t, second, run.ID, 20*time.Minute)
	if got.State != StateDone || got.Attempts != 2 {
		t.Errorf("run = %s after %d attempts (%s); want done after 2", got.State, got.Attempts, got.Reason)
	}
}

// A run whose worker on another machine stopped renewing its lease is
// queued again once the lease has run out, without waiting hours for
// River's rescuer.
func TestExpiredLeaseRequeued(t *testing.T) {
	ctx := context.Background()
	ws, db := demoWorkspace(t), storetest.SQLite(t)
	st, sys := open(t, db, Config{Workspace: ws, CacheDir: t.TempDir()})
	run, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	// As a worker elsewhere would leave it: its job running, its lease
	// about to run out.
	if _, err := st.DB.Exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = ?, attempted_by = '["cascade-elsewhere-1-00000000"]'`, time.Now().UTC().Format("2006-01-02 15:04:05")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.Exec(`UPDATE verification_runs SET state = 'running', attempts = 1, started = ?, lease_token = 'elsewhere', lease_expires = ?,
		runner_host = 'elsewhere', runner_kernel = 'k', runner_pid = 1, runner_started = '1' WHERE id = ?`,
		formatTime(time.Now()), formatTime(time.Now().Add(time.Second)), run.ID); err != nil {
		t.Fatal(err)
	}
	_, worker := open(t, db, Config{Workspace: ws, CacheDir: t.TempDir(), Workers: 1, LeaseTTL: 300 * time.Millisecond,
		Hooks: Hooks{Started: func(context.Context, int64) error {
			return errkind.New(errkind.Invalid, "claimed after the lease ran out")
		}}})
	if err := worker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	got := waitFinished(t, worker, run.ID, time.Minute)
	if got.State != StateError || got.Reason != "claimed after the lease ran out" || got.Attempts != 2 {
		t.Errorf("run = %s (%q) after %d attempts; want claimed by a second job", got.State, got.Reason, got.Attempts)
	}
}

// Processes that open a fresh database at once (a server and its
// workers) all get the job queue's tables.
func TestConcurrentOpen(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db, ws, cache := b.New(t), demoWorkspace(t), t.TempDir()
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := context.Background()
					st, err := store.Open(ctx, db)
					if err != nil {
						t.Error(err)
						return
					}
					defer st.Close()
					sys, err := Open(ctx, st, Config{Workspace: ws, CacheDir: cache})
					if err != nil {
						t.Error(err)
						return
					}
					sys.Stop(ctx)
				}()
			}
			wg.Wait()
		})
	}
}

func TestCancel(t *testing.T) {
	ctx := context.Background()
	ws, db := demoWorkspace(t), storetest.SQLite(t)
	stopped := make(chan error, 1)
	began := make(chan struct{}, 1)
	_, sys := open(t, db, Config{Workspace: ws, CacheDir: t.TempDir(), Workers: 1, LeaseTTL: 300 * time.Millisecond,
		Hooks: Hooks{Started: func(ctx context.Context, _ int64) error {
			began <- struct{}{}
			<-ctx.Done() // a long build
			stopped <- context.Cause(ctx)
			return ctx.Err()
		}}})
	// A queued run is canceled before it starts.
	queued, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sys.Cancel(ctx, queued.ID, "bob")
	if err != nil || got.State != StateCanceled || got.Reason != "canceled by bob" {
		t.Fatalf("Cancel(queued) = %s %q, %v; want canceled by bob", got.State, got.Reason, err)
	}
	if err := sys.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// A running run is canceled, and its worker stops.
	running, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-began:
	case <-time.After(time.Minute):
		t.Fatal("the job never started")
	}
	if got, err := sys.Cancel(ctx, running.ID, "bob"); err != nil || got.State != StateCanceled {
		t.Fatalf("Cancel(running) = %s, %v; want canceled", got.State, err)
	}
	select {
	case cause := <-stopped:
		if !errors.Is(cause, errLeaseLost) {
			t.Errorf("the worker stopped for %v; want the lost lease", cause)
		}
	case <-time.After(time.Minute):
		t.Fatal("the canceled run's worker did not stop")
	}
	if _, err := sys.Cancel(ctx, running.ID, "bob"); errkind.Of(err) != errkind.Conflict {
		t.Errorf("second Cancel = %v; want Conflict", err)
	}
	if _, err := sys.Cancel(ctx, 99, "bob"); errkind.Of(err) != errkind.NotFound {
		t.Errorf("Cancel(99) = %v; want NotFound", err)
	}
	for _, id := range []int64{queued.ID, running.ID} {
		events, _ := sys.Events(ctx, id, 0)
		if n := len(events); n == 0 || events[n-1].Kind != EventRunFinished || strings.Count(strings.Join(kinds(events), " "), EventRunFinished) != 1 {
			t.Errorf("run %d events %v; want one run_finished, last", id, kinds(events))
		}
	}
	if r, _ := sys.Run(ctx, queued.ID); r.Attempts != 0 {
		t.Errorf("the run canceled while queued was attempted %d times", r.Attempts)
	}
}

// TestIdenticalRequestsShareARun: a request that resolves to what a
// queued or running run verifies (each repo at the same commit, the same
// options) gets that run, not a second one; one person may have at most
// MaxActivePerPerson runs queued or running.
func TestIdenticalRequestsShareARun(t *testing.T) {
	ctx := context.Background()
	ws := demoWorkspace(t)
	st, sys := open(t, storetest.SQLite(t), Config{Workspace: ws, CacheDir: t.TempDir(), Workers: 0})
	first, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "bob"})
	if err != nil || again.ID != first.ID {
		t.Errorf("the same request again: run %d, %v; want run %d", again.ID, err, first.ID)
	}
	other, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", With: []string{"clever-api@adapt-strict-where"}, RequestedBy: "alice"})
	if err != nil || other.ID == first.ID {
		t.Errorf("another change set: run %d, %v; want a run of its own", other.ID, err)
	}
	// alice's queue fills up; requests of runs already there still answer.
	for i := 2; i < MaxActivePerPerson; i++ {
		if _, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", Only: []string{"clever-api"}, Retries: &i, RequestedBy: "alice"}); err != nil {
			t.Fatalf("run %d of alice: %v", i+1, err)
		}
	}
	if _, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", Only: []string{"clever-jobs"}, RequestedBy: "alice"}); errkind.Of(err) != errkind.Conflict {
		t.Errorf("alice's run past %d: %v; want a Conflict", MaxActivePerPerson, err)
	}
	if again, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"}); err != nil || again.ID != first.ID {
		t.Errorf("a run already there, asked for by alice at her limit: run %d, %v; want run %d", again.ID, err, first.ID)
	}
	var runs int
	if err := st.DB.QueryRow("SELECT count(*) FROM verification_runs").Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != MaxActivePerPerson {
		t.Errorf("%d runs stored; want %d", runs, MaxActivePerPerson)
	}
}
