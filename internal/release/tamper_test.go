package release_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// A runbook with a check that fails and a manual step whose input a later
// check reads.
const signedRunbook = `release:
  steps:
    - name: Build
      run: echo built
    - name: Health
      check: "false"
    - name: Deploy
      manual: Deploy it.
      inputs: [deployed]
    - name: Smoke
      check: test "$CASCADE_INPUT_DEPLOYED" = v1.1.0
    - name: Tag
      tag: true
`

// signedWorld is a workspace whose people are alice (the plan's manager)
// and bob, with plan p of svc; no release yet.
func signedWorld(t *testing.T) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the real program")
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen")
	}
	w := newWorld(t, buildCascade(t))
	ctx := context.Background()
	var people string
	for _, name := range []string{"alice", "bob"} {
		pub, err := identity.GenerateKey(ctx, filepath.Join(w.dir, name), name)
		if err != nil {
			t.Fatal(err)
		}
		people += fmt.Sprintf("  - name: %s\n    keys: [%q]\n", name, pub)
	}
	os.WriteFile(filepath.Join(w.dir, "cascade.yaml"), []byte(alwaysOpen+"people:\n"+people), 0o644)
	os.WriteFile(filepath.Join(w.dir, "svc", ".cascade.yaml"), []byte(signedRunbook), 0o644)
	w.git("commit", "-qam", "signed runbook")
	// Start again from nothing: newWorld's release is unsigned.
	os.RemoveAll(filepath.Join(w.dir, ".cascade"))
	w.freshDB()
	os.Remove(filepath.Join(w.dir, "plans", "p.yaml"))
	w.run(0, nil, "plan", "new", "p", "--title", "T", "--manager", "alice", "--change", "svc@main", "--version", "svc=v1.1.0")
	return w
}

// snapshot saves the world's database and plan file as they are now; the
// function it returns puts them back.
func (w *world) snapshot() func() {
	if w.postgres {
		saved := storetest.Copy(w.t, w.dbURL)
		planPath := filepath.Join(w.dir, "plans", "p.yaml")
		savedPlan, _ := os.ReadFile(planPath)
		return func() {
			w.dbURL = storetest.Copy(w.t, saved)
			os.WriteFile(planPath, savedPlan, 0o644)
		}
	}
	dbPath := filepath.Join(w.dir, ".cascade", "cascade.db")
	planPath := filepath.Join(w.dir, "plans", "p.yaml")
	savedDB, _ := os.ReadFile(dbPath)
	savedPlan, _ := os.ReadFile(planPath)
	return func() {
		os.WriteFile(dbPath, savedDB, 0o644)
		os.Remove(dbPath + "-wal")
		os.Remove(dbPath + "-shm")
		os.WriteFile(planPath, savedPlan, 0o644)
	}
}

// either is the statement for the world's backend: SQLite's or
// PostgreSQL's spelling of it.
func (w *world) either(sqlite, postgres string) string {
	if w.postgres {
		return postgres
	}
	return sqlite
}

// sql runs statements on the world's database, as anyone who can write
// the file could.
func (w *world) sql(stmts ...string) {
	w.t.Helper()
	s, err := store.Open(context.Background(), w.dbURL)
	if err != nil {
		w.t.Fatal(err)
	}
	defer s.Close()
	for _, q := range stmts {
		if _, err := s.DB.Exec(q); err != nil {
			w.t.Fatalf("%s: %v", q, err)
		}
	}
}

// forge recomputes every hash of the log and writes the plan files' audit
// heads to match: all an attacker without a person's key can do.
func (w *world) forge() {
	w.t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, w.dbURL)
	if err != nil {
		w.t.Fatal(err)
	}
	defer s.Close()
	// Close the gaps deleted entries left, then recompute the chain.
	all, err := s.Entries(ctx, "")
	if err != nil {
		w.t.Fatal(err)
	}
	for i, e := range all {
		if _, err := s.DB.Exec(`UPDATE audit SET seq = ? WHERE seq = ?`, -(i + 1), e.Seq); err != nil {
			w.t.Fatal(err)
		}
	}
	if _, err := s.DB.Exec(`UPDATE audit SET seq = -seq`); err != nil {
		w.t.Fatal(err)
	}
	rehash(w.t, s)
	ws, err := workspace.Load(filepath.Join(w.dir, "cascade.yaml"))
	if err != nil {
		w.t.Fatal(err)
	}
	logID, err := s.LogID(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	n, h, err := s.PlanHead(ctx, "p")
	if err != nil {
		w.t.Fatal(err)
	}
	if err := plan.WriteAuditHead(ws, "p", plan.AuditHead{Log: logID, Entries: n, Hash: h}); err != nil {
		w.t.Fatal(err)
	}
}

func wantIn(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

// TestTamperedRowsAreRefused: the releases and steps tables are only a
// record. A manager, step state or input edited in them is refused before
// anything acts ("tampered", exit 1): the manager is the one who signed
// the start, a step succeeded only if its signed entries say so, and the
// inputs are the confirmed ones.
func TestTamperedRowsAreRefused(t *testing.T) {
	w := signedWorld(t)
	w.run(0, nil, "release", "start", "p", "--key", "alice")
	out := w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "step 2 (Health) failed")

	// bob made manager in the releases table.
	w.sql(`UPDATE releases SET manager = 'bob'`)
	out = w.run(1, nil, "release", "override", "p", "2", "--reason", "bob says fine", "--key", "bob")
	wantIn(t, out, "tampered: the releases table names bob the manager of release 1 of p, but the signed start was alice's")
	out = w.run(1, nil, "release", "override-gate", "p", "scope", "--reason", "fine", "--key", "bob")
	wantIn(t, out, "tampered: the releases table names bob the manager")
	w.run(1, nil, "release", "next", "p", "--key", "bob")
	w.sql(`UPDATE releases SET manager = 'alice'`)

	// The failed check and the unconfirmed manual step marked succeeded.
	w.sql(`UPDATE steps SET state = 'succeeded' WHERE idx IN (2, 3)`)
	out = w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "tampered: the steps table says step 2 (Health) of p is succeeded, but its audit log says failed")
	if w.tags() != "" {
		t.Fatalf("tagged %s on a forged state", w.tags())
	}
	w.sql(`UPDATE steps SET state = 'failed' WHERE idx = 2`, `UPDATE steps SET state = 'pending' WHERE idx = 3`)

	// An input changed after alice confirmed another value.
	w.run(0, nil, "release", "override", "p", "2", "--reason", "known flake", "--key", "alice")
	out = w.run(4, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "step 3 (Deploy) is for a person")
	w.run(0, nil, "release", "confirm", "p", "3", "--input", "deployed=v1.0.9", "--key", "alice")
	w.sql(`UPDATE steps SET inputs = '{"deployed":"v1.1.0"}' WHERE idx = 3`)
	out = w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "tampered: the steps table gives step 3 (Deploy) of p the inputs map[deployed:v1.1.0], but the confirmed ones in its audit log are map[deployed:v1.0.9]")
	if w.tags() != "" {
		t.Fatalf("tagged %s on a forged input", w.tags())
	}
	// Put back, the release goes on with what alice confirmed.
	w.sql(`UPDATE steps SET inputs = '{"deployed":"v1.0.9"}' WHERE idx = 3`)
	out = w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "step 4 (Smoke) failed")
	w.run(0, nil, "release", "log", "p", "--verify")
}

// TestSignedHistoryIsPinned: every signed statement pins the plan's
// history before it, and a `next` run signs each step's start and end as
// it writes them. Deleting refusals from the middle of the log, or turning
// a failed step's end into a success, is detected even after every hash
// and the plan file's head are recomputed; a run refuses the forged log.
func TestSignedHistoryIsPinned(t *testing.T) {
	w := signedWorld(t)
	w.run(1, nil, "release", "start", "p", "--key", "bob")
	w.run(0, nil, "release", "start", "p", "--key", "alice")
	w.run(1, nil, "release", "next", "p", "--key", "alice")
	w.run(1, nil, "release", "override", "p", "2", "--reason", "x", "--key", "bob")
	w.run(0, nil, "release", "log", "p", "--verify")
	restore := w.snapshot()

	// bob's refusals deleted.
	w.sql(`DELETE FROM audit WHERE action LIKE '% refused'`)
	w.forge()
	out := w.run(1, nil, "release", "log", "p", "--verify")
	wantIn(t, out, "(start by alice): it was signed after the plan's entry with hash", "the history before it was rewritten")
	if strings.Contains(out, "was edited after it was written") || strings.Contains(out, "truncated") {
		t.Errorf("the forgery recomputed every hash and the head, yet the chain or head check complains:\n%s", out)
	}
	out = w.run(1, nil, "release", "override", "p", "2", "--reason", "x", "--key", "alice")
	wantIn(t, out, "tampered: the audit log of p does not hold")

	// The failed check's end turned into a success.
	restore()
	w.sql(w.either(`UPDATE audit SET details = json_set(details, '$.exit', 0, '$.state', 'succeeded') WHERE action = 'step end' AND json_extract(details, '$.step') = 2`,
		`UPDATE audit SET details = (details::jsonb || '{"exit": 0, "state": "succeeded"}')::text WHERE action = 'step end' AND (details::jsonb->>'step')::int = 2`),
		`UPDATE steps SET state = 'succeeded' WHERE idx = 2`)
	w.forge()
	out = w.run(1, nil, "release", "log", "p", "--verify")
	wantIn(t, out, "(step end by alice) does not say what was signed: its details are {\"exit\":0")
	out = w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "tampered")
	if w.tags() != "" {
		t.Fatalf("tagged %s on a forged log", w.tags())
	}

	// The intact log still verifies and the release goes on.
	restore()
	w.run(0, nil, "release", "log", "p", "--verify")
	w.run(0, nil, "release", "override", "p", "2", "--reason", "known flake", "--key", "alice")
}

// TestSecondDatabaseIsRefused: the plan file's audit head names its log;
// a release of the plan from another database (--db) is refused and the
// plan file's head is left as it was.
func TestSecondDatabaseIsRefused(t *testing.T) {
	w := signedWorld(t)
	w.run(0, nil, "release", "start", "p", "--key", "alice")
	planPath := filepath.Join(w.dir, "plans", "p.yaml")
	before, _ := os.ReadFile(planPath)
	out := w.run(1, nil, "release", "start", "p", "--key", "alice", "--db", filepath.Join(w.dir, "second.db"))
	wantIn(t, out, "plans/p.yaml records its audit log as log ", "holds log", "pass that one with --db")
	out = w.run(1, nil, "release", "override-gate", "p", "semver", "--reason", "x", "--key", "alice", "--db", filepath.Join(w.dir, "second.db"))
	wantIn(t, out, "plans/p.yaml records its audit log as log ")
	if after, _ := os.ReadFile(planPath); string(after) != string(before) {
		t.Errorf("the plan file changed:\n%s", after)
	}
	w.run(0, nil, "release", "log", "p", "--verify")
}

// TestRescopeIsSignedAndAudited: a re-freeze is a signed action in the
// audit log, and so is a refused one; the gates trust a plan file's
// frozen heads only as the last signed re-freeze left them.
func TestRescopeIsSignedAndAudited(t *testing.T) {
	w := signedWorld(t)
	planPath := filepath.Join(w.dir, "plans", "p.yaml")
	os.WriteFile(filepath.Join(w.dir, "svc", "late.go"), []byte("package svc\n\nfunc Late() int { return 3 }\n"), 0o644)
	w.git("add", "-A")
	w.git("commit", "-qm", "late")
	out := w.run(1, nil, "plan", "rescope", "p", "--reason", "take it", "--key", "bob")
	wantIn(t, out, "only the release manager (alice) may re-freeze the scope of p; bob may not")
	out = w.run(0, nil, "release", "log", "p", "--verify")
	wantIn(t, out, "bob        rescope refused (signed)")

	// bob moves the frozen head by hand and says alice re-froze it.
	saved, _ := os.ReadFile(planPath)
	head, err := exec.Command("git", "-C", filepath.Join(w.dir, "svc"), "rev-parse", "main").Output()
	if err != nil {
		t.Fatal(err)
	}
	// First the claim alone (the heads as frozen): the scope gate holds.
	claimed := strings.Replace(string(saved), "\ncomputed:", "\nrescoped:\n  - by: alice\n    at: 2026-11-28T08:18:00Z\n    reason: take the fix\ncomputed:", 1)
	os.WriteFile(planPath, []byte(claimed), 0o644)
	out = w.run(0, nil, "plan", "show", "p")
	wantIn(t, out, "Re-frozen by alice at 2026-11-28 08:18:00 UTC take the fix (UNVERIFIED: no signed re-freeze in the audit log)")
	out = w.run(1, nil, "release", "start", "p", "--key", "alice")
	wantIn(t, out, "scope        FAIL       plans/p.yaml says its scope was re-frozen by alice at 2026-11-28T08:18:00Z, but the audit log holds no signed re-freeze of it")
	out = w.run(1, nil, "plan", "check", "p")
	wantIn(t, out, "plans/p.yaml says its scope was re-frozen by alice at 2026-11-28T08:18:00Z, but the audit log holds no signed re-freeze of it")
	// With the head moved as well, the base no longer matches git either:
	// refused before any gate (exit 2).
	forged := regexpReplace(claimed, `(?m)^    head: .*$`, "    head: "+strings.TrimSpace(string(head)))
	os.WriteFile(planPath, []byte(forged), 0o644)
	out = w.run(2, nil, "release", "start", "p", "--key", "alice")
	wantIn(t, out, "is not where the change starts")

	// alice re-freezes: signed, recorded, trusted.
	os.WriteFile(planPath, saved, 0o644)
	out = w.run(0, nil, "plan", "rescope", "p", "--reason", "take the late fix", "--key", "alice")
	wantIn(t, out, "re-froze the scope of p, recorded as alice")
	out = w.run(0, nil, "plan", "show", "p")
	wantIn(t, out, "Re-frozen by alice at ")
	if strings.Contains(out, "UNVERIFIED") {
		t.Errorf("alice's signed re-freeze is not trusted:\n%s", out)
	}
	out = w.run(0, nil, "release", "log", "p", "--verify")
	wantIn(t, out, "alice      rescope      (signed)", "audit log verified")

	// A version edited by hand after it is a scope no one froze.
	rescoped, _ := os.ReadFile(planPath)
	os.WriteFile(planPath, []byte(strings.Replace(string(rescoped), "version: v1.1.0", "version: v1.2.0", 1)), 0o644)
	out = w.run(1, nil, "release", "start", "p", "--key", "alice")
	wantIn(t, out, "are not the ones its last signed re-freeze froze")
	os.WriteFile(planPath, rescoped, 0o644)
	out = w.run(0, nil, "release", "start", "p", "--key", "alice")
	wantIn(t, out, "scope        PASS")
}

func regexpReplace(s, re, with string) string {
	return regexp.MustCompile(re).ReplaceAllLiteralString(s, with)
}

// TestRunnerEntriesAreSigned: with people, no entry is cascade's own
// unsigned word. A "retry" entry appended by anyone who can write the
// database (the chain and the plan file's head recomputed) would set a
// failed check back to pending and let the release run on; it is
// refused. The output a step's entry vouches for cannot be swapped
// either.
func TestRunnerEntriesAreSigned(t *testing.T) {
	w := signedWorld(t)
	w.run(0, nil, "release", "start", "p", "--key", "alice")
	out := w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "step 2 (Health) failed")
	restore := w.snapshot()

	// A retry "by cascade", unsigned, for the failed check.
	w.sql(`INSERT INTO audit (seq, release_id, plan, at, actor, action, details, prev_hash, hash)
		SELECT max(seq) + 1, 1, 'p', `+w.either(`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`, `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`)+`, 'cascade', 'retry',
		'{"name":"Health","note":"idempotent: run again after an interruption","repo":"svc","state":"pending","step":2}', '', '' FROM audit`,
		`UPDATE steps SET state = 'pending' WHERE idx = 2`)
	w.forge()
	out = w.run(1, nil, "release", "log", "p", "--verify")
	wantIn(t, out, "(retry by cascade) is not signed: with people every entry is a person's signed word")
	out = w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "tampered: the audit log of p does not hold")
	if strings.Contains(out, "step 3 (Deploy)") {
		t.Fatalf("the release went on past the failed check on a forged retry:\n%s", out)
	}

	// The failed check's output replaced with a passing one.
	restore()
	w.sql(`UPDATE steps SET output = 'all healthy' WHERE idx = 2`)
	out = w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "tampered: the steps table holds an output for step 2 (Health) of p that its audit log does not vouch for")
	out = w.run(1, nil, "release", "status", "p")
	wantIn(t, out, "WARNING: tampered: the steps table holds an output for step 2", "not what happened")
	out = w.run(1, nil, "release", "status", "p", "--json")
	wantIn(t, out, `"tampered": "tampered: the steps table holds an output`)

	restore()
	w.run(0, nil, "release", "log", "p", "--verify")
}

// appendSigned appends an entry by who to plan p's log, signed with who's
// key over a statement of action with args (pinned to the log's head and
// id, as cascade signs), its hash chained, and the plan file's head
// moved to it: what a listed person who can write the database can do
// without cascade.
func (w *world) appendSigned(who, action string, args map[string]string, entry string, details map[string]any) {
	w.t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, w.dbURL)
	if err != nil {
		w.t.Fatal(err)
	}
	defer s.Close()
	head, logID, err := (&release.Engine{Store: s}).Pin(ctx, "p")
	if err != nil {
		w.t.Fatal(err)
	}
	// Signed as cascade signs an entry as it writes it.
	raw, _ := json.Marshal(details)
	var stored map[string]any
	_ = json.Unmarshal(raw, &stored)
	canon, _ := json.Marshal(stored)
	args["head"], args["log"], args["entry"], args["details"] = head, logID, entry, string(canon)
	at := time.Now().UTC().Format(time.RFC3339Nano)
	sig, err := identity.Sign(ctx, filepath.Join(w.dir, who), false, identity.Statement("p", action, at, args))
	if err != nil {
		w.t.Fatal(err)
	}
	details["signed"], details["signature"] = sig.Statement, sig.Armored
	if err := s.Tx(ctx, func(tx *store.Tx) error { return store.Append(ctx, tx, 1, "p", at, who, entry, details) }); err != nil {
		w.t.Fatal(err)
	}
	n, h, err := s.PlanHead(ctx, "p")
	if err != nil {
		w.t.Fatal(err)
	}
	ws, err := workspace.Load(filepath.Join(w.dir, "cascade.yaml"))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := plan.WriteAuditHead(ws, "p", plan.AuditHead{Log: logID, Entries: n, Hash: h}); err != nil {
		w.t.Fatal(err)
	}
}

// TestOnlyTheManagersEntriesMoveARelease: bob, a listed person but not
// the manager, is refused an override through cascade, then writes one
// into the database signed with his own key: it is refused as tampered
// by every release command and by --verify. An input with a line break
// is bad input.
func TestOnlyTheManagersEntriesMoveARelease(t *testing.T) {
	w := signedWorld(t)
	w.run(0, nil, "release", "start", "p", "--key", "alice")
	out := w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "step 2 (Health) failed")
	w.run(1, nil, "release", "override", "p", "2", "--reason", "bob says fine", "--key", "bob")
	restore := w.snapshot()

	w.appendSigned("bob", "override", map[string]string{"step": "2", "reason": "bob says fine"}, "override",
		map[string]any{"step": 2, "name": "Health", "repo": "svc", "state": "overridden", "reason": "bob says fine"})
	w.sql(`UPDATE steps SET state = 'overridden', actor = 'bob' WHERE idx = 2`)
	const notManager = "(override by bob) acts on release 1 of p, whose manager is alice: only the manager's actions move a release"
	out = w.run(1, nil, "release", "status", "p")
	wantIn(t, out, "WARNING: tampered: entry", notManager)
	out = w.run(1, nil, "release", "next", "p", "--key", "alice")
	wantIn(t, out, "tampered: entry", notManager)
	if strings.Contains(out, "step 3 (Deploy)") {
		t.Fatalf("the release went on past the failed check on bob's override:\n%s", out)
	}
	out = w.run(1, nil, "release", "log", "p", "--verify")
	wantIn(t, out, "release 1: the releases and steps tables do not match the log: entry", notManager)

	// An input with a line break is bad input, not a release every later
	// action calls tampered.
	restore()
	w.run(0, nil, "release", "override", "p", "2", "--reason", "known flake", "--key", "alice")
	w.run(4, nil, "release", "next", "p", "--key", "alice")
	out = w.run(2, nil, "release", "confirm", "p", "3", "--input", "deployed=v1.1.0\nline=two", "--key", "alice")
	wantIn(t, out, "the value holds a control character")
	w.run(0, nil, "release", "confirm", "p", "3", "--input", "deployed=v1.1.0", "--key", "alice")
	w.run(0, nil, "release", "log", "p", "--verify")
}
