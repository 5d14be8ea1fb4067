// Package demo builds the demo organisation: real git repositories, with
// history, tags and branches, that tell the story cascade was made for. A
// library change (clever-db's strict-where branch) breaks the API built on
// it (clever-api) while the API's fix sits on an unmerged branch; a tightened
// JSON Schema would start rejecting some partners' requests; a downstream
// has a flaky test; another uses only untouched code. The tests, the
// `cascade demo` walk-through and the benchmarks all use it.
package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Org is the module path prefix of the demo's Go modules.
const Org = "example.com/clever"

// Branch is the default branch of every demo repo.
const Branch = "master"

// Repos lists the demo repos in the order they are built.
var Repos = []string{
	"json-schema-converter", "clever-db", "clever-api", "clever-jobs",
	"district-sync", "flaky-reports", "clever-schemas", "clever-js",
}

// Author is who the demo's commits are by.
var Author = gitrepo.Author{Name: "Demo Engineer", Email: "engineer@clever.example"}

// step is one commit (and optional tag) on a branch of a demo repo.
type step struct {
	branch string // "" for the current branch; a new name creates it from the current HEAD
	files  map[string]string
	remove []string
	msg    string
	tag    string
}

type repoDef struct {
	name  string
	steps []step
}

// Build creates the demo organisation in dir (which must be empty or
// absent) and writes dir/cascade.yaml. It returns the workspace file's path.
func Build(ctx context.Context, dir string) (string, error) {
	return BuildAt(ctx, dir, time.Now())
}

// Zone is the demo organisation's time zone.
const Zone = "America/Los_Angeles"

// demoWindow is one release window of the demo's policy: a weekday and
// minutes since midnight.
type demoWindow struct {
	day      time.Weekday
	from, to int
}

// demoWindows are the release windows the demo opens around now (local to
// Zone): the whole of now's hour and the three after it, so that the
// walk-through can release while it runs, never by a fake clock. Four hours
// that cross midnight are two windows, the second on the next day: a
// walk-through started just before midnight still releases after it.
func demoWindows(now time.Time) []demoWindow {
	loc, _ := time.LoadLocation(Zone)
	lt := now.In(loc)
	from := lt.Hour() * 60
	end := from + 4*60
	ws := []demoWindow{{lt.Weekday(), from, min(end, 24*60)}}
	if end > 24*60 {
		ws = append(ws, demoWindow{(lt.Weekday() + 1) % 7, 0, end - 24*60})
	}
	return ws
}

// FridayAt is a Friday morning the walk-through checks the plan at, to
// show the window gate's refusal: outside every window of the demo's
// policy built at now.
func FridayAt(now time.Time) string {
	ws := demoWindows(now)
	for _, h := range []int{10, 8, 18, 22, 1} {
		inside := false
		for _, w := range ws {
			if w.day == time.Friday && h*60 >= w.from && h*60 < w.to {
				inside = true
			}
		}
		if !inside {
			return fmt.Sprintf("2026-11-27T%02d:00:00-08:00", h)
		}
	}
	return "2026-11-27T10:00:00-08:00"
}

var dayKeys = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func workspaceFile(now time.Time) string {
	var b strings.Builder
	b.WriteString(workspaceYAML)
	fmt.Fprintf(&b, "    # The demo's own window, open while the walk-through runs (built %s).\n", now.UTC().Format(time.RFC3339))
	for _, w := range demoWindows(now) {
		fmt.Fprintf(&b, "    - days: [%s]\n      from: \"%02d:%02d\"\n      to: \"%02d:%02d\"\n",
			dayKeys[w.day], w.from/60, w.from%60, w.to/60, w.to%60)
	}
	return b.String()
}

// makePeople makes SSH keys for the demo's people (alice, the release
// manager, and bob) under dir/keys and returns their `people:` section.
func makePeople(ctx context.Context, dir string) (string, error) {
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	var b strings.Builder
	b.WriteString("# Who may act in releases; every action is signed with one of these keys\n# (the private keys are in keys/, for the demo only).\npeople:\n")
	for _, name := range []string{"alice", "bob"} {
		pub, err := identity.GenerateKey(ctx, filepath.Join(keys, name), name+"@clever.example")
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "  - name: %s\n    emails: [%s@clever.example]\n    keys: [%q]\n", name, name, pub)
	}
	return b.String(), nil
}

// BuildAt is Build with the demo's release window opened around now.
func BuildAt(ctx context.Context, dir string, now time.Time) (string, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return "", errkind.New(errkind.Invalid, "%s is not empty; give `cascade demo` a new or empty directory", dir)
	}
	clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, def := range definitions() {
		w, err := gitrepo.Init(ctx, filepath.Join(dir, def.name), Branch, Author)
		if err != nil {
			return "", err
		}
		for _, s := range def.steps {
			if s.branch != "" {
				create := true
				if _, err := w.Repo.Resolve(ctx, "refs/heads/"+s.branch); err == nil {
					create = false
				}
				if err := w.Checkout(ctx, s.branch, create); err != nil {
					return "", err
				}
			}
			if err := writeFiles(w.Repo.WorkDir, s.files, s.remove); err != nil {
				return "", err
			}
			clock = clock.Add(47 * time.Minute)
			if _, err := w.CommitAll(ctx, clock, s.msg); err != nil {
				return "", err
			}
			if s.tag != "" {
				if err := w.Tag(ctx, clock, s.tag, "Release "+s.tag); err != nil {
					return "", err
				}
			}
		}
		if err := w.Checkout(ctx, Branch, false); err != nil {
			return "", err
		}
	}
	people, err := makePeople(ctx, dir)
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, workspace.FileName)
	if err := workspace.WriteFile(file, []byte(workspaceFile(now)+people), 0o644); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	return file, nil
}

func writeFiles(root string, files map[string]string, remove []string) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(root, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		if err := os.WriteFile(p, []byte(strings.TrimLeft(files[n], "\n")), 0o644); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
	}
	for _, n := range remove {
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(n))); err != nil {
			return errkind.Wrap(errkind.Infra, fmt.Errorf("demo: %w", err))
		}
	}
	return nil
}

const workspaceYAML = `# The demo organisation, built by ` + "`cascade demo`" + `.
repos:
  - path: ./json-schema-converter
  - path: ./clever-db
    tier: critical
  - path: ./clever-api
    tier: critical
  - path: ./clever-jobs
  - path: ./district-sync
  - path: ./flaky-reports
  - path: ./clever-schemas
  - path: ./clever-js
policy:
  timezone: America/Los_Angeles
  windows:
    - days: [mon, tue, wed, thu]
      from: "09:00"
      to: "16:00"
`

// PushQuickFix commits an out-of-scope "quick fix" to clever-api's
// adapt-strict-where branch in the demo organisation at dir, as someone
// might right before the release. It makes the API very slow.
func PushQuickFix(ctx context.Context, dir string) (string, error) {
	r, err := gitrepo.Open(filepath.Join(dir, "clever-api"))
	if err != nil {
		return "", err
	}
	w := &gitrepo.Writer{Repo: r, Author: gitrepo.Author{Name: "Hasty Engineer", Email: "hasty@clever.example"}}
	if err := w.Checkout(ctx, "adapt-strict-where", false); err != nil {
		return "", err
	}
	defer w.Checkout(ctx, Branch, false)
	fix := slowFix
	if mod, err := os.ReadFile(filepath.Join(r.WorkDir, "go.mod")); err == nil && strings.HasPrefix(string(mod), "module "+Org+"/clever-api/v2\n") {
		fix = v2(fix)
	}
	if err := writeFiles(r.WorkDir, map[string]string{"client/client.go": fix}, nil); err != nil {
		return "", err
	}
	return w.CommitAll(ctx, time.Date(2026, 11, 25, 17, 30, 0, 0, time.UTC), "Quick fix: accept where fields in any case")
}

// QuickFixSubject is the subject of the quick fix's commit.
const QuickFixSubject = "Quick fix: accept where fields in any case"

// RevertQuickFix reverts the quick fix on clever-api's adapt-strict-where
// branch (a new commit that restores client/client.go as it was before it),
// as the team does once the performance gate has shown what it costs.
func RevertQuickFix(ctx context.Context, dir string) (string, error) {
	r, err := gitrepo.Open(filepath.Join(dir, "clever-api"))
	if err != nil {
		return "", err
	}
	w := &gitrepo.Writer{Repo: r, Author: Author}
	if err := w.Checkout(ctx, "adapt-strict-where", false); err != nil {
		return "", err
	}
	defer w.Checkout(ctx, Branch, false)
	before, err := r.ReadFile(ctx, "HEAD~1", "client/client.go")
	if err != nil {
		return "", err
	}
	if err := writeFiles(r.WorkDir, map[string]string{"client/client.go": string(before)}, nil); err != nil {
		return "", err
	}
	return w.CommitAll(ctx, time.Date(2026, 11, 25, 18, 5, 0, 0, time.UTC), "Revert \""+QuickFixSubject+"\"")
}

// MoveToV2 gives the strict-where change set the module paths its major
// releases need: clever-db's strict-where branch moves to
// example.com/clever/clever-db/v2, and clever-api's adapt-strict-where
// branch moves to example.com/clever/clever-api/v2 and imports
// clever-db/v2. It returns the two new commits.
func MoveToV2(ctx context.Context, dir string) (db, api string, err error) {
	for _, c := range []struct {
		repo, branch string
		files        map[string]string
		msg          string
		id           *string
	}{
		{"clever-db", "strict-where", dbV2Files(), "Module path " + Org + "/clever-db/v2 for the v2 release", &db},
		{"clever-api", "adapt-strict-where", apiV2Files(), "Module path " + Org + "/clever-api/v2 for the v2 release; import clever-db/v2", &api},
	} {
		r, err := gitrepo.Open(filepath.Join(dir, c.repo))
		if err != nil {
			return "", "", err
		}
		w := &gitrepo.Writer{Repo: r, Author: Author}
		if err := w.Checkout(ctx, c.branch, false); err != nil {
			return "", "", err
		}
		if err := writeFiles(r.WorkDir, c.files, nil); err != nil {
			w.Checkout(ctx, Branch, false)
			return "", "", err
		}
		*c.id, err = w.CommitAll(ctx, time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC), c.msg)
		if cerr := w.Checkout(ctx, Branch, false); err == nil {
			err = cerr
		}
		if err != nil {
			return "", "", err
		}
	}
	return db, api, nil
}

// syncCountsDoc is a small change to district-sync, ready for release
// while the strict-where release waits for its gates.
const syncCountsDoc = `// Package sync copies a district's students from the API.
//
// Students returns the names of a school's students; an empty school
// returns none.
package sync
`

// PrepareSyncCounts commits a small, separate change (documentation) to
// district-sync's sync-docs branch in the demo organisation at dir.
func PrepareSyncCounts(ctx context.Context, dir string) (string, error) {
	r, err := gitrepo.Open(filepath.Join(dir, "district-sync"))
	if err != nil {
		return "", err
	}
	w := &gitrepo.Writer{Repo: r, Author: Author}
	if err := w.Checkout(ctx, "sync-docs", true); err != nil {
		return "", err
	}
	defer w.Checkout(ctx, Branch, false)
	if err := writeFiles(r.WorkDir, map[string]string{"sync/doc.go": syncCountsDoc}, nil); err != nil {
		return "", err
	}
	return w.CommitAll(ctx, time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC), "sync: document Students")
}

// DeleteLastAuditEntry deletes the newest audit entry from the demo
// organisation's release database, as someone covering their tracks might.
func DeleteLastAuditEntry(ctx context.Context, dir string) (string, error) {
	s, err := store.Open(ctx, filepath.Join(dir, ".cascade", "cascade.db"))
	if err != nil {
		return "", err
	}
	defer s.Close()
	var seq int64
	var action, actor string
	if err := s.DB.QueryRowContext(ctx, "SELECT seq, action, actor FROM audit ORDER BY seq DESC LIMIT 1").Scan(&seq, &action, &actor); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	if _, err := s.DB.ExecContext(ctx, "DELETE FROM audit WHERE seq = ?", seq); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	return fmt.Sprintf("deleted entry %d (%s by %s)", seq, action, actor), nil
}

// KillRunnerMidStep starts cmd, a `cascade release next PLAN` process, and
// kills it with SIGKILL (its whole process group) as soon as step of the
// active release of plan is running, as a crash would. It returns what it
// did; a runner that ends before the step starts is an error.
func KillRunnerMidStep(ctx context.Context, dir string, cmd *exec.Cmd, plan string, step int) (string, error) {
	s, err := store.Open(ctx, filepath.Join(dir, ".cascade", "cascade.db"))
	if err != nil {
		return "", err
	}
	defer s.Close()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return "", errkind.New(errkind.Infra, "the runner ended (%v) before step %d of %s started; nothing to kill", err, step, plan)
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			return "", ctx.Err()
		case <-tick.C:
		}
		var state, name string
		err := s.DB.QueryRowContext(ctx, `SELECT s.state, s.name FROM steps s JOIN releases r ON r.id = s.release_id
			WHERE r.plan = ? AND r.state = 'active' AND s.idx = ?`, plan, step).Scan(&state, &name)
		if err != nil || state != "running" {
			continue
		}
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return "", errkind.Wrap(errkind.Infra, err)
		}
		<-exited
		return fmt.Sprintf("killed the runner (SIGKILL) while step %d (%s) was running", step, name), nil
	}
}
