package release_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/cli"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// TestMain makes this test binary the cascade command when the crash tests
// run it as one: the real program, with a crash hook that kills the process
// at the point CASCADE_TEST_CRASHPOINT names ("point:n", the n-th time it
// is reached). The hook exists only in this test binary.
func TestMain(m *testing.M) {
	if os.Getenv("CASCADE_TEST_AS_CLI") != "1" {
		os.Exit(m.Run())
	}
	opts := cli.Options{Crash: crashHook}
	os.Exit(cli.MainWith(context.Background(), opts, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func crashHook(name string) {
	abortHook(name)
	want := os.Getenv("CASCADE_TEST_CRASHPOINT")
	point, nStr, _ := strings.Cut(want, ":")
	if want == "" || point != name {
		return
	}
	n, _ := strconv.Atoi(nStr)
	counter := filepath.Join(os.Getenv("CASCADE_TEST_CRASHPOINT_DIR"), "crashpoint-"+name)
	data, _ := os.ReadFile(counter)
	seen, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	seen++
	_ = os.WriteFile(counter, []byte(strconv.Itoa(seen)), 0o644)
	if seen == n {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Hour)
	}
}

// abortHook runs `cascade release abort p` (this binary, as the program)
// at the point CASCADE_TEST_ABORTPOINT names ("point:n"), while the
// runner that reached it waits: a person aborting at exactly that moment.
func abortHook(name string) {
	want := os.Getenv("CASCADE_TEST_ABORTPOINT")
	point, nStr, _ := strings.Cut(want, ":")
	if want == "" || point != name {
		return
	}
	n, _ := strconv.Atoi(nStr)
	counter := filepath.Join(os.Getenv("CASCADE_TEST_CRASHPOINT_DIR"), "abortpoint-"+name)
	data, _ := os.ReadFile(counter)
	seen, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	seen++
	_ = os.WriteFile(counter, []byte(strconv.Itoa(seen)), 0o644)
	if seen != n {
		return
	}
	args := []string{"release", "abort", "p", "--reason", "aborted at " + want}
	if i := slices.Index(os.Args, "--db"); i > 0 && i+1 < len(os.Args) {
		args = append(args, os.Args[i:i+2]...)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CASCADE_TEST_ABORTPOINT=")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "abort hook: %v\n%s", err, out)
		os.Exit(99)
	}
}

// buildCascade returns the cascade command: this test binary, run as the
// real program (see TestMain).
func buildCascade(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// runbook's steps run sandboxed like any release's: each reports that it
// ran to the test's recorder on 127.0.0.1 (its only way out of its
// sandbox is the network it declares) and waits for the recorder to
// have written it down, so that a step that ran is counted even when
// cascade is killed right after.
const runbook = `release:
  steps:
    - name: one
      run: %[1]s one
      network: true
    - name: two
      run: %[1]s two
      idempotent: true
      network: true
    - name: three
      run: %[1]s three
      network: true
    - name: four
      check: %[1]s four
      idempotent: true
      network: true
`

// report is the shell command a step runs to report itself (bash's
// /dev/tcp), %d the recorder's port.
const report = `bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && echo "$0" >&3 && read -r ack <&3 && [ "$ack" = ok ]'`

// recorder listens on 127.0.0.1 and appends every step name it is sent
// to the file of that name in dir, then answers "ok".
func recorder(t *testing.T, dir string) int {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, err := bufio.NewReader(c).ReadString('\n')
				name := strings.TrimSpace(line)
				if err != nil || name == "" || strings.ContainsAny(name, "/.") {
					return
				}
				mu.Lock()
				f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
				if err == nil {
					_, err = fmt.Fprintln(f, name)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
				mu.Unlock()
				if err == nil {
					c.Write([]byte("ok\n"))
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// alwaysOpen is a workspace whose release window is always open, so that
// the tests run at any real time.
const alwaysOpen = `repos:
  - path: ./svc
policy:
  timezone: UTC
  windows:
    - days: [mon, tue, wed, thu, fri, sat, sun]
      from: "00:00"
      to: "24:00"
`

type world struct {
	t      *testing.T
	bin    string
	dir    string
	logs   string
	points string
	unsafe bool
	// dbURL is the release state's database: .cascade/cascade.db, or
	// with CASCADE_TEST_STORE=postgres a PostgreSQL database that every
	// command taking --db is given (see storetest.FromEnv).
	dbURL    string
	postgres bool
	// code is the exit code of the last run.
	code int
}

func newWorld(t *testing.T, bin string) *world {
	t.Helper()
	return newWorldWith(t, bin, runbook, false)
}

// newWorldWith is newWorld with another runbook; the release is started.
// With unsafe, %[1]s in the runbook is the directory of the steps' logs,
// which the steps write directly, run with --unsafe-sandbox (a test of
// the release's state, not of the sandbox); else it is the command that
// reports a step to the recorder.
func newWorldWith(t *testing.T, bin, runbook string, unsafe bool) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, bin: bin, dir: dir, logs: filepath.Join(dir, "logs"), points: filepath.Join(dir, "points"), unsafe: unsafe}
	os.MkdirAll(w.logs, 0o755)
	os.MkdirAll(w.points, 0o755)
	w.dbURL, w.postgres = storetest.FromEnv(t, filepath.Join(dir, ".cascade", "cascade.db"))
	ctx := context.Background()
	g, err := gitrepo.Init(ctx, filepath.Join(dir, "svc"), "main", gitrepo.Author{Name: "T", Email: "t@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	port := recorder(t, w.logs)
	subst := fmt.Sprintf(report, port)
	if unsafe {
		subst = w.logs
	}
	os.WriteFile(filepath.Join(dir, "svc", ".cascade.yaml"), []byte(fmt.Sprintf(runbook, subst)), 0o644)
	os.WriteFile(filepath.Join(dir, "svc", "go.mod"), []byte("module example.com/svc\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "svc", "svc.go"), []byte("package svc\n\n// A is the API.\nfunc A() int { return 1 }\n"), 0o644)
	if _, err := g.CommitAll(ctx, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), "runbook"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cascade.yaml"), []byte(alwaysOpen), 0o644)
	w.run(0, nil, "plan", "new", "p", "--title", "T", "--manager", "alice", "--change", "svc@main", "--version", "svc=v1.0.0")
	w.run(0, nil, "release", "start", "p")
	return w
}

func (w *world) git(args ...string) {
	w.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", filepath.Join(w.dir, "svc"), "-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// run runs the binary and checks its exit code (-9: killed; -1: any).
func (w *world) run(want int, env []string, args ...string) string {
	w.t.Helper()
	if w.unsafe {
		args = append(args[:len(args):len(args)], "--unsafe-sandbox")
	}
	args = w.withDB(args)
	cmd := exec.Command(w.bin, args...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "CASCADE_TEST_AS_CLI=1", "USER=alice", "CASCADE_CACHE_DIR="+filepath.Join(w.dir, ".cache"), "CASCADE_TEST_CRASHPOINT_DIR="+w.points)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = -int(ws.Signal())
		}
	} else if err != nil {
		w.t.Fatal(err)
	}
	if code != want && want != -1 {
		w.t.Fatalf("cascade %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
	}
	w.code = code
	return string(out)
}

func (w *world) lines(step string) int {
	data, _ := os.ReadFile(filepath.Join(w.logs, step))
	return strings.Count(string(data), "\n")
}

// withDB adds --db to the commands that take it when the world's
// database is not the default file.
func (w *world) withDB(args []string) []string {
	if !w.postgres || len(args) < 2 || slices.Contains(args, "--db") {
		return args
	}
	if args[0] == "release" || args[0] == "plan" {
		return append(args[:len(args):len(args)], "--db", w.dbURL)
	}
	return args
}

// freshDB starts the world's release state over with an empty database.
func (w *world) freshDB() {
	if w.postgres {
		w.dbURL = storetest.Postgres(w.t)
		return
	}
	os.Remove(w.dbURL)
	os.Remove(w.dbURL + "-wal")
	os.Remove(w.dbURL + "-shm")
}

func (w *world) states() map[string]string {
	s, err := store.Open(context.Background(), w.dbURL)
	if err != nil {
		w.t.Fatal(err)
	}
	defer s.Close()
	db := s.DB
	rows, err := db.Query("SELECT name, state FROM steps ORDER BY idx")
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, s string
		rows.Scan(&n, &s)
		out[n] = s
	}
	return out
}

// TestKillAtEveryPoint kills the real binary with SIGKILL at every point
// of every step of a release (after the step is marked running, after its
// command ran, after it is marked done), resumes each time as a person
// would, and checks the invariants: a step that succeeded never runs
// again; a non-idempotent step that was interrupted is never re-run
// without a person; the release ends done with every step run exactly as
// often as allowed; the audit log verifies.
func TestKillAtEveryPoint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := buildCascade(t)
	steps := []string{"one", "two", "three", "four"}
	idempotent := map[string]bool{"two": true, "four": true}
	for _, point := range []string{"step-started", "step-executed", "step-finished"} {
		for n := 1; n <= len(steps); n++ {
			t.Run(fmt.Sprintf("%s-%d", point, n), func(t *testing.T) {
				// Each kill point has a world of its own (repo, database,
				// recorder, crash counters): they run side by side.
				t.Parallel()
				w := newWorld(t, bin)
				w.run(-9, []string{"CASCADE_TEST_CRASHPOINT=" + point + ":" + fmt.Sprint(n)}, "release", "next", "p")
				before := map[string]int{}
				for _, s := range steps {
					before[s] = w.lines(s)
				}
				succeeded := w.states()
				// No gate is bypassed after a crash: a commit outside the
				// frozen scope holds the resumed release before any step runs.
				w.git("commit", "-q", "--allow-empty", "-m", "outside the scope")
				out := w.run(-1, nil, "release", "next", "p")
				allDone := true
				for _, st := range succeeded {
					allDone = allDone && st == "succeeded"
				}
				if !strings.Contains(out, "the scope gate fails") && !strings.Contains(out, "was interrupted and may have run in part") && !allDone {
					t.Fatalf("a resumed release with a moved scope was not held:\n%s", out)
				}
				for _, s := range steps {
					if w.lines(s) != before[s] {
						t.Fatalf("step %s ran while the scope gate failed:\n%s", s, out)
					}
				}
				w.git("reset", "-q", "--hard", "HEAD~1")
				for round := 0; round < 10; round++ {
					if allDone {
						break // the held run above finished it: nothing was left to run
					}
					// Done (exit 0), or waiting for a person (exit 4).
					out := w.run(-1, nil, "release", "next", "p")
					// A step recorded as succeeded before the crash never runs again.
					for s, st := range succeeded {
						if st == "succeeded" && w.lines(s) != before[s] {
							t.Fatalf("step %s had succeeded and ran again", s)
						}
					}
					if strings.Contains(out, "the release of p is done") {
						if w.code != 0 {
							t.Fatalf("a finished release exited %d:\n%s", w.code, out)
						}
						break
					}
					if w.code != 4 {
						t.Fatalf("a release waiting for a person exited %d, want 4:\n%s", w.code, out)
					}
					if !strings.Contains(out, "was interrupted and may have run in part") {
						t.Fatalf("unexpected stop:\n%s", out)
					}
					// A person checks what happened: confirm if it ran, else retry.
					var stuck string
					for s, st := range w.states() {
						if st == "interrupted" {
							stuck = s
						}
					}
					if idempotent[stuck] {
						t.Fatalf("an idempotent step (%s) waits for a person", stuck)
					}
					if w.lines(stuck) == 1 {
						// An interrupted command's result is unknown: it is
						// not confirmed, it is overridden with a reason.
						out := w.run(1, nil, "release", "confirm", "p", stuck)
						if !strings.Contains(out, "was interrupted: whether its command ran to the end, and what it found, is unknown, so it cannot be confirmed") {
							t.Fatalf("confirm of an interrupted run step:\n%s", out)
						}
						w.run(0, nil, "release", "override", "p", stuck, "--reason", "it ran: its log line is there")
					} else {
						w.run(0, nil, "release", "retry", "p", stuck)
					}
				}
				for _, s := range steps {
					got := w.lines(s)
					switch {
					case !idempotent[s] && got != 1:
						t.Errorf("non-idempotent step %s ran %d times", s, got)
					case idempotent[s] && (got < 1 || got > 2):
						t.Errorf("idempotent step %s ran %d times", s, got)
					}
				}
				for s, st := range w.states() {
					if st != "succeeded" && (idempotent[s] || st != "overridden") {
						t.Errorf("step %s ends %s", s, st)
					}
				}
				out = w.run(0, nil, "release", "status", "p")
				if !strings.Contains(out, "Release of p: done") {
					t.Errorf("status:\n%s", out)
				}
				w.run(0, nil, "release", "log", "p", "--verify")
			})
		}
	}
}

func TestAuditTamperingIsDetected(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary")
	}
	bin := buildCascade(t)
	w := newWorld(t, bin)
	w.run(0, nil, "release", "next", "p")
	w.run(0, nil, "release", "log", "p", "--verify")
	dbPath := w.dbURL
	s, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(`UPDATE audit SET actor = 'mallory' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out := w.run(1, nil, "release", "log", "p", "--verify")
	if !strings.Contains(out, "entry 2 (step start by mallory) was edited after it was written") {
		t.Errorf("edit not detected:\n%s", out)
	}
	s, _ = store.Open(context.Background(), dbPath)
	s.DB.Exec(`UPDATE audit SET actor = 'alice' WHERE seq = 2`)
	s.DB.Exec(`DELETE FROM audit WHERE seq = 3`)
	s.Close()
	out = w.run(1, nil, "release", "log", "p", "--verify")
	if !strings.Contains(out, "entries 3 to 3 are missing (deleted)") {
		t.Errorf("deletion not detected:\n%s", out)
	}
}

// TestAuditTailAndSignedEdits deletes the tail of the audit log (detected
// against the head in the plan file) and edits a signed entry, recomputing
// every hash after it as anyone with the database could (detected by its
// signature).
func TestAuditTailAndSignedEdits(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real program")
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen")
	}
	bin := buildCascade(t)
	w := newWorld(t, bin)
	ctx := context.Background()
	pub, err := identity.GenerateKey(ctx, filepath.Join(w.dir, "alice"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := os.ReadFile(filepath.Join(w.dir, "cascade.yaml"))
	os.WriteFile(filepath.Join(w.dir, "cascade.yaml"), append(ws, []byte(fmt.Sprintf("people:\n  - name: alice\n    keys: [%q]\n", pub))...), 0o644)
	// The release newWorld started is unsigned; abort it and start a signed one.
	w.freshDB()
	// The plan file's head names the removed database's log: a new plan.
	os.Remove(filepath.Join(w.dir, "plans", "p.yaml"))
	w.run(0, nil, "plan", "new", "p", "--title", "T", "--manager", "alice", "--change", "svc@main", "--version", "svc=v1.0.0")
	w.run(0, nil, "release", "start", "p", "--key", "alice")
	planPath := filepath.Join(w.dir, "plans", "p.yaml")
	afterStart, _ := os.ReadFile(planPath)
	w.run(0, nil, "release", "next", "p", "--key", "alice")
	w.run(0, nil, "release", "log", "p", "--verify")
	restore := w.snapshot()
	current, _ := os.ReadFile(planPath)

	// Without a head that covers the whole log, a deleted tail could not
	// be told: a plan file reverted to an older head, one without its
	// head, or no plan file at all fails the check.
	os.WriteFile(planPath, afterStart, 0o644)
	if out := w.run(1, nil, "release", "log", "p", "--verify"); !strings.Contains(out, "entries after the head plans/p.yaml records") {
		t.Errorf("a plan file with an older head passed:\n%s", out)
	}
	i := strings.Index(string(current), "\naudit:\n")
	if i < 0 {
		t.Fatalf("no audit head in the plan file:\n%s", current)
	}
	os.WriteFile(planPath, current[:i+1], 0o644)
	if out := w.run(1, nil, "release", "log", "p", "--verify"); !strings.Contains(out, "plans/p.yaml records no audit head") {
		t.Errorf("a plan file without a head passed:\n%s", out)
	}
	os.Remove(planPath)
	if out := w.run(1, nil, "release", "log", "p", "--verify"); !strings.Contains(out, "plans/p.yaml cannot be read") {
		t.Errorf("a log without its plan file passed:\n%s", out)
	}
	os.WriteFile(planPath, current, 0o644)
	w.run(0, nil, "release", "log", "p", "--verify")

	// Delete the last three entries (the last step's end and the done).
	s, err := store.Open(ctx, w.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	s.DB.Exec(`DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit)`)
	s.Close()
	out := w.run(1, nil, "release", "log", "p", "--verify")
	if !strings.Contains(out, "the log was truncated") || !strings.Contains(out, "are missing") {
		t.Errorf("a deleted tail was not detected:\n%s", out)
	}

	// Edit the signed start entry (who started it) and recompute every hash.
	restore()
	s, err = store.Open(ctx, w.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(`UPDATE audit SET actor = 'mallory' WHERE action = 'start'`); err != nil {
		t.Fatal(err)
	}
	rehash(t, s)
	s.Close()
	out = w.run(1, nil, "release", "log", "p", "--verify")
	if !strings.Contains(out, "(start by mallory): the signature is not mallory's") {
		t.Errorf("an edited signed entry with recomputed hashes was not detected:\n%s", out)
	}
	if strings.Contains(out, "was edited after it was written") {
		t.Errorf("the hashes were recomputed, yet the chain check complains:\n%s", out)
	}
}

// rehash recomputes the hash chain the way cascade writes it, as anyone
// with the database file could.
func rehash(t *testing.T, s *store.Store) {
	entries, err := s.Entries(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	for _, e := range entries {
		body, _ := json.Marshal([]any{e.Seq, e.Release, e.Plan, e.At, e.Actor, e.Action, e.Details, prev})
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])
		if _, err := s.DB.Exec(`UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?`, prev, h, e.Seq); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
}

// TestLeaseExpiryTakeover: a lease held by a runner on another host (a CI
// container whose hostname changes each job) blocks `release next` only
// until it expires; then the release is taken over, and that is audited.
func TestLeaseExpiryTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real program")
	}
	w := newWorld(t, buildCascade(t))
	dbPath := w.dbURL
	set := func(expires time.Time) {
		s, err := store.Open(context.Background(), dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.DB.Exec(`UPDATE releases SET runner = '4242@ci-job-17', runner_host = 'ci-job-17', runner_pid = 4242, runner_kernel = 'other', lease_token = 'theirs', lease_expires = ?`, expires.UTC().Format(time.RFC3339Nano)); err != nil {
			t.Fatal(err)
		}
	}
	set(time.Now().Add(time.Hour))
	out := w.run(1, nil, "release", "next", "p")
	if !strings.Contains(out, "another `cascade release next` (4242@ci-job-17) holds this release; its lease expires at") || !strings.Contains(out, "cascade does not wait") {
		t.Errorf("a live lease did not hold:\n%s", out)
	}
	if w.lines("one") != 0 {
		t.Fatal("a step ran while another runner held the lease")
	}
	set(time.Now().Add(-time.Minute))
	out = w.run(0, nil, "release", "next", "p")
	if !strings.Contains(out, "took over the release from 4242@ci-job-17, whose lease expired") || !strings.Contains(out, "the release of p is done") {
		t.Errorf("an expired lease was not taken over:\n%s", out)
	}
	out = w.run(0, nil, "release", "log", "p", "--verify")
	if !strings.Contains(out, "takeover") || !strings.Contains(out, `"previous_runner":"4242@ci-job-17"`) {
		t.Errorf("the takeover is not in the audit log:\n%s", out)
	}
}
