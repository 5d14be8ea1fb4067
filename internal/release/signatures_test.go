package release

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

func TestSignedActionMayWrite(t *testing.T) {
	for _, c := range []struct {
		action, entry string
		want          bool
	}{
		{"start", "start", true},
		{"start", "start refused", true},
		{"next", "step end", true},
		{"override", "done", true},
		{"confirm", "override", false},
		{"start", "abort", false},
		{"next", "override-gate", false},
		{"unknown", "start", false},
	} {
		if got := signedActionMayWrite(c.action, c.entry); got != c.want {
			t.Errorf("signedActionMayWrite(%q, %q) = %v, want %v", c.action, c.entry, got, c.want)
		}
	}
}

func TestVerifySignaturesWithoutSignature(t *testing.T) {
	people := []workspace.Person{{Name: "alice", Keys: []string{"ssh-ed25519 AAAA"}}}
	entries := []store.Entry{
		{Seq: 1, Plan: "p", Actor: "alice", Action: "start", Details: map[string]any{}},
		{Seq: 2, Plan: "p", Actor: "cascade", Action: "interrupted", Details: map[string]any{}},
		{Seq: 3, Plan: "p", Actor: "alice", Action: "override", Details: map[string]any{"signed": "cascade-release action\nplan=p\naction=confirm\n", "signature": "x"}},
		{Seq: 4, Plan: "q", Actor: "alice", Action: "confirm", Details: map[string]any{"signed": "cascade-release action\nplan=p\naction=confirm\n", "signature": "x"}},
		// An unlock signature must name its plan: one for no plan holds on none.
		{Seq: 5, Plan: "q", Actor: "alice", Action: "unlock", Details: map[string]any{"signed": "cascade-release action\nplan=\naction=unlock\n", "signature": "x"}},
	}
	problems, err := VerifySignatures(context.Background(), people, nil, "", entries)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"entry 1 (start by alice) is not signed",
		"entry 2 (interrupted by cascade) is not signed: with people every entry is a person's signed word (cascade writes entries of its own only for a workspace without people)",
		`entry 3 (override by alice) carries a signature for a "confirm" action, which never writes a "override" entry`,
		`entry 4 (confirm by alice) carries a signature for plan "p", not q`,
		`entry 5 (unlock by alice) carries a signature for plan "", not q`,
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	if p, _ := VerifySignatures(context.Background(), nil, nil, "", entries); p != nil {
		t.Errorf("without people nothing can be checked, got %q", p)
	}
}

// TestSignedContent: every entry is signed as it was written: its kind,
// time and details are the signed ones, even when every hash is
// recomputed; a refusal cannot become the action it refused; a statement
// signs one entry; with people, not even cascade's own entries go
// unsigned.
func TestSignedContent(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen")
	}
	ctx := context.Background()
	dir := t.TempDir()
	pub, err := identity.GenerateKey(ctx, filepath.Join(dir, "alice"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	people := []workspace.Person{{Name: "alice", Keys: []string{pub}}}
	const at = "2026-12-01T10:00:01Z"
	// written signs an entry of kind entry, by action, as cascade does.
	written := func(action, entry string, details map[string]any) map[string]any {
		sig, err := identity.Sign(ctx, filepath.Join(dir, "alice"), false, identity.Statement("p", action, at,
			map[string]string{"entry": entry, "details": signedDetails(details), "head": ""}))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]any{"signed": sig.Statement, "signature": sig.Armored}
		for k, v := range details {
			out[k] = v
		}
		return out
	}
	with := func(d map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for k, v := range d {
			out[k] = v
		}
		out[k] = v
		return out
	}
	confirm := written("confirm", "confirm", map[string]any{"step": 2.0, "inputs": map[string]any{"version": "v1.2.0"}})
	refused := written("start", "start refused", map[string]any{"refused": "2 gates failed"})
	intent, err := identity.Sign(ctx, filepath.Join(dir, "alice"), false, identity.Statement("p", "retry", at, map[string]string{"step": "2", "head": ""}))
	if err != nil {
		t.Fatal(err)
	}
	entries := []store.Entry{
		{Seq: 1, Plan: "p", At: at, Actor: "alice", Action: "confirm", Details: confirm},
		{Seq: 2, Plan: "p", At: at, Actor: "alice", Action: "confirm", Details: with(confirm, "inputs", map[string]any{"version": "v9.9.9"})},
		{Seq: 3, Plan: "p", At: at, Actor: "alice", Action: "start", Details: refused},
		{Seq: 4, Plan: "p", At: "2026-12-01T11:00:00Z", Actor: "alice", Action: "confirm", Details: written("confirm", "confirm", map[string]any{"step": 3.0})},
		{Seq: 5, Plan: "p", At: at, Actor: "cascade", Action: "interrupted", Details: map[string]any{}},
		{Seq: 6, Plan: "p", At: at, Actor: "alice", Action: "retry", Details: map[string]any{"step": 2.0, "signed": intent.Statement, "signature": intent.Armored}},
		{Seq: 7, Plan: "p", At: at, Actor: "alice", Action: "override", Details: written("confirm", "override", map[string]any{"step": 2.0})},
		{Seq: 8, Plan: "p", At: at, Actor: "alice", Action: "confirm", Details: confirm},
	}
	problems, err := VerifySignatures(ctx, people, nil, "", entries)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`entry 2 (confirm by alice) does not say what was signed: its details are {"inputs":{"version":"v9.9.9"},"step":2}, the signed ones {"inputs":{"version":"v1.2.0"},"step":2}`,
		`entry 3 (start by alice) does not say what was signed: it is a "start" entry, the signed one a "start refused" entry`,
		`entry 4 (confirm by alice) does not say what was signed: it is dated 2026-12-01T11:00:00Z, the signed entry 2026-12-01T10:00:01Z`,
		"entry 5 (interrupted by cascade) is not signed: with people every entry is a person's signed word (cascade writes entries of its own only for a workspace without people)",
		"entry 6 (retry by alice) is not signed as it was written (its signature is over the retry action, not over this entry)",
		`entry 7 (override by alice) carries a signature for a "confirm" action, which never writes a "override" entry`,
		`entry 8 (confirm by alice) carries the signature of entry 1 again: one signed statement signs one entry`,
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

// TestServerSignedEntries: an entry written through a server listed in
// cascade.yaml `servers:` holds when the server's key signed a statement
// naming the server and the entry's actor; it does not hold for another
// actor, for a server not listed, when a person's own key signs it as
// if through a server, or when a server's key signs without saying so.
func TestServerSignedEntries(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen")
	}
	ctx := context.Background()
	dir := t.TempDir()
	key := func(name string) string {
		pub, err := identity.GenerateKey(ctx, filepath.Join(dir, name), name)
		if err != nil {
			t.Fatal(err)
		}
		return pub
	}
	people := []workspace.Person{{Name: "alice", Keys: []string{key("alice")}}, {Name: "bob", Keys: []string{key("bob")}}}
	servers := []workspace.Person{{Name: "desk", Keys: []string{key("desk")}}}
	const at = "2026-12-01T10:00:01Z"
	entry := func(seq int64, actor, keyFile string, args map[string]string) store.Entry {
		details := map[string]any{"step": float64(seq)}
		all := map[string]string{"entry": "confirm", "details": signedDetails(details), "head": ""}
		for k, v := range args {
			all[k] = v
		}
		sig, err := identity.Sign(ctx, filepath.Join(dir, keyFile), false, identity.Statement("p"+strconv.FormatInt(seq, 10), "confirm", at, all))
		if err != nil {
			t.Fatal(err)
		}
		details["signed"], details["signature"] = sig.Statement, sig.Armored
		return store.Entry{Seq: seq, Plan: "p" + strconv.FormatInt(seq, 10), At: at, Actor: actor, Action: "confirm", Details: details}
	}
	via := func(server, person string) map[string]string {
		return map[string]string{identity.ViaArg: server, identity.PersonArg: person}
	}
	entries := []store.Entry{
		entry(1, "alice", "desk", via("desk", "alice")),
		entry(2, "bob", "desk", via("desk", "alice")),
		entry(3, "alice", "desk", via("kiosk", "alice")),
		entry(4, "alice", "bob", via("desk", "alice")),
		entry(5, "alice", "desk", nil),
		entry(6, "alice", "alice", map[string]string{identity.PersonArg: "alice"}),
		entry(7, "alice", "alice", nil),
		entry(8, "cascade", "desk", via("desk", "cascade")),
		entry(9, "mallory", "desk", via("desk", "mallory")),
	}
	problems, err := VerifySignatures(ctx, people, servers, "", entries)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		`entry 2 (confirm by bob) carries server desk's signature for "alice", not for bob`,
		`entry 3 (confirm by alice) was signed through server "kiosk", which cascade.yaml ` + "`servers:`" + ` does not list`,
		`entry 4 (confirm by alice): the signature is not server:desk's over this action`,
		`entry 5 (confirm by alice): the signature is not alice's over this action`,
		`entry 6 (confirm by alice) names a person it was signed for but no server`,
		`entry 8 (confirm by cascade) was signed by server desk for cascade, who is not one of the people in cascade.yaml`,
		`entry 9 (confirm by mallory) was signed by server desk for mallory, who is not one of the people in cascade.yaml`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems:\n%s\nwant one containing %q", got, want)
		}
	}
	if len(problems) != 7 {
		t.Errorf("%d problems, want 7 (entries 1 and 7 hold):\n%s", len(problems), got)
	}
}

// TestPlanLogAcceptsServerEntries: the log every action reads before it
// acts (planLog) verifies entries signed through a listed server as
// `release log --verify` does: a server-signed confirm does not make the
// release look tampered with.
func TestPlanLogAcceptsServerEntries(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen")
	}
	ctx := context.Background()
	dir := t.TempDir()
	key := func(name string) string {
		pub, err := identity.GenerateKey(ctx, filepath.Join(dir, name), name)
		if err != nil {
			t.Fatal(err)
		}
		return pub
	}
	ws := &workspace.Workspace{
		People:  []workspace.Person{{Name: "alice", Keys: []string{key("alice")}}},
		Servers: []workspace.Person{{Name: "desk", Keys: []string{key("desk")}}},
	}
	s, err := store.Open(ctx, filepath.Join(dir, "cascade.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	logID, err := s.LogID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const at = "2026-12-01T10:00:01Z"
	details := map[string]any{"step": 1.0}
	stmt := identity.Statement("p", "confirm", at, map[string]string{"entry": "confirm", "details": signedDetails(details), "head": "", "log": logID,
		identity.ViaArg: "desk", identity.PersonArg: "alice"})
	sig, err := identity.Sign(ctx, filepath.Join(dir, "desk"), false, stmt)
	if err != nil {
		t.Fatal(err)
	}
	details["signed"], details["signature"] = sig.Statement, sig.Armored
	if err := s.Tx(ctx, func(tx *store.Tx) error { return store.Append(ctx, tx, 0, "p", at, "alice", "confirm", details) }); err != nil {
		t.Fatal(err)
	}
	e := &Engine{Store: s, WS: ws}
	if _, problems, err := e.planLog(ctx, "p"); err != nil || len(problems) != 0 {
		t.Errorf("planLog = %v, %v; want no problem", problems, err)
	}
	// Without the server listed, the same entry is refused.
	e = &Engine{Store: s, WS: &workspace.Workspace{People: ws.People}}
	if _, problems, err := e.planLog(ctx, "p"); err != nil || len(problems) != 1 {
		t.Errorf("planLog without servers: = %v, %v; want one problem", problems, err)
	}
}
