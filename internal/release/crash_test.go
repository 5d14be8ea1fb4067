package release_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/store"
)

// buildCascade builds the real binary once per test run.
func buildCascade(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cascade")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/cascade")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

const runbook = `release:
  steps:
    - name: one
      run: echo one >> %[1]s/one
    - name: two
      run: echo two >> %[1]s/two
      idempotent: true
    - name: three
      run: echo three >> %[1]s/three
    - name: four
      check: echo four >> %[1]s/four
      idempotent: true
`

type world struct {
	t      *testing.T
	bin    string
	dir    string
	logs   string
	points string
}

func newWorld(t *testing.T, bin string) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, bin: bin, dir: dir, logs: filepath.Join(dir, "logs"), points: filepath.Join(dir, "points")}
	os.MkdirAll(w.logs, 0o755)
	os.MkdirAll(w.points, 0o755)
	ctx := context.Background()
	g, err := gitrepo.Init(ctx, filepath.Join(dir, "svc"), "main", gitrepo.Author{Name: "T", Email: "t@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "svc", ".cascade.yaml"), []byte(fmt.Sprintf(runbook, w.logs)), 0o644)
	if _, err := g.CommitAll(ctx, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), "runbook"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cascade.yaml"), []byte("repos:\n  - path: ./svc\n"), 0o644)
	w.run(0, nil, "plan", "new", "p", "--title", "T", "--manager", "alice", "--change", "svc@main", "--version", "svc=v1.0.0")
	w.run(0, nil, "release", "start", "p", "--as", "alice")
	return w
}

// run runs the binary and checks its exit code (-9: killed).
func (w *world) run(want int, env []string, args ...string) string {
	w.t.Helper()
	// The steps count their runs in a log outside their tree, which the
	// sandbox forbids: this test is about the release's state, unisolated.
	cmd := exec.Command(w.bin, append(args, "--unsafe-sandbox")...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "CASCADE_CACHE_DIR="+filepath.Join(w.dir, ".cache"), "CASCADE_CRASHPOINT_DIR="+w.points)
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
	if code != want {
		w.t.Fatalf("cascade %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
	}
	return string(out)
}

func (w *world) lines(step string) int {
	data, _ := os.ReadFile(filepath.Join(w.logs, step))
	return strings.Count(string(data), "\n")
}

func (w *world) states() map[string]string {
	db, err := sql.Open("sqlite", filepath.Join(w.dir, ".cascade", "cascade.db"))
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
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
				w := newWorld(t, bin)
				w.run(-9, []string{"CASCADE_CRASHPOINT=" + point + ":" + fmt.Sprint(n)}, "release", "next", "p", "--as", "alice")
				before := map[string]int{}
				for _, s := range steps {
					before[s] = w.lines(s)
				}
				succeeded := w.states()
				for round := 0; round < 10; round++ {
					out := w.run(0, nil, "release", "next", "p", "--as", "alice")
					// A step recorded as succeeded before the crash never runs again.
					for s, st := range succeeded {
						if st == "succeeded" && w.lines(s) != before[s] {
							t.Fatalf("step %s had succeeded and ran again", s)
						}
					}
					if strings.Contains(out, "the release of p is done") {
						break
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
						w.run(0, nil, "release", "confirm", "p", stuck, "--as", "alice")
					} else {
						w.run(0, nil, "release", "retry", "p", stuck, "--as", "alice")
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
					if st != "succeeded" {
						t.Errorf("step %s ends %s", s, st)
					}
				}
				out := w.run(0, nil, "release", "status", "p")
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
	w.run(0, nil, "release", "next", "p", "--as", "alice")
	w.run(0, nil, "release", "log", "p", "--verify")
	dbPath := filepath.Join(w.dir, ".cascade", "cascade.db")
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
