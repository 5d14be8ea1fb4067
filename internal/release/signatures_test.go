package release

import (
	"context"
	"os/exec"
	"path/filepath"
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
	problems, err := VerifySignatures(context.Background(), people, "", entries)
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
	if p, _ := VerifySignatures(context.Background(), nil, "", entries); p != nil {
		t.Errorf("without people nothing can be checked, got %q", p)
	}
}

// TestSignedContent: an entry must say what its person signed (step,
// inputs, gate, repo, reason, time); an entry edited after it was signed
// fails even when every hash is recomputed. With people, not even
// cascade's own entries go unsigned.
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
	signed := func(action string, args map[string]string, details map[string]any) map[string]any {
		args["head"] = ""
		sig, err := identity.Sign(ctx, filepath.Join(dir, "alice"), false, identity.Statement("p", action, "2026-12-01T10:00:00Z", args))
		if err != nil {
			t.Fatal(err)
		}
		details["signed"], details["signature"] = sig.Statement, sig.Armored
		return details
	}
	confirm := func(version string) map[string]any {
		return signed("confirm", map[string]string{"step": "2", "inputs": "version=v1.2.0", "reason": ""},
			map[string]any{"step": 2.0, "name": "Deploy", "repo": "svc", "inputs": map[string]any{"version": version}})
	}
	gate := func(g, reason string) map[string]any {
		return signed("override-gate", map[string]string{"gate": "semver", "reason": "agreed", "heads": "k1"}, map[string]any{"gate": g, "reason": reason, "heads": "k1"})
	}
	at := "2026-12-01T10:00:01Z"
	entries := []store.Entry{
		{Seq: 1, Plan: "p", At: at, Actor: "alice", Action: "confirm", Details: confirm("v1.2.0")},
		{Seq: 2, Plan: "p", At: at, Actor: "alice", Action: "override-gate", Details: gate("semver", "agreed")},
		{Seq: 3, Plan: "p", At: at, Actor: "cascade", Action: "interrupted", Details: map[string]any{}},
		{Seq: 4, Plan: "p", At: at, Actor: "alice", Action: "confirm", Details: confirm("v9.9.9")},
		{Seq: 5, Plan: "p", At: at, Actor: "alice", Action: "override-gate", Details: gate("semver", "edited")},
		{Seq: 6, Plan: "p", At: at, Actor: "alice", Action: "override-gate", Details: gate("performance", "agreed")},
		{Seq: 7, Plan: "p", At: "2026-12-01T09:00:00Z", Actor: "alice", Action: "override-gate", Details: gate("semver", "agreed")},
		{Seq: 8, Plan: "p", At: "2026-12-02T10:00:00Z", Actor: "alice", Action: "override-gate", Details: gate("semver", "agreed")},
		{Seq: 9, Plan: "p", At: at, Actor: "cascade", Action: "override-gate", Details: map[string]any{"gate": "semver", "reason": "x"}},
		// The override's scope moved to another frozen scope (heads key).
		{Seq: 10, Plan: "p", At: at, Actor: "alice", Action: "override-gate", Details: func() map[string]any { d := gate("semver", "agreed"); d["heads"] = "k2"; return d }()},
		// A copy of a signed entry further down the log.
		{Seq: 11, Plan: "p", At: at, Actor: "alice", Action: "confirm", Details: confirm("v1.2.0")},
		// A refused action's signature, then the same on the action's
		// own entry.
		{Seq: 12, Plan: "p", At: at, Actor: "alice", Action: "override-gate refused", Details: gate("semver", "agreed")},
		{Seq: 13, Plan: "p", At: at, Actor: "alice", Action: "override-gate", Details: gate("semver", "agreed")},
	}
	problems, err := VerifySignatures(ctx, people, "", entries)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"entry 3 (interrupted by cascade) is not signed: with people every entry is a person's signed word (cascade writes entries of its own only for a workspace without people)",
		`entry 4 (confirm by alice) does not say what was signed: its inputs are map[version:v9.9.9], the signed ones map[version:v1.2.0]`,
		`entry 5 (override-gate by alice) does not say what was signed: its reason is "edited", the signed one "agreed"`,
		`entry 6 (override-gate by alice) does not say what was signed: its gate is "performance", the signed one "semver"`,
		`entry 7 (override-gate by alice) does not say what was signed: it is dated 2026-12-01T09:00:00Z, before the action was signed (2026-12-01T10:00:00Z)`,
		`entry 8 (override-gate by alice) does not say what was signed: it is dated 2026-12-02T10:00:00Z, long after the action was signed (2026-12-01T10:00:00Z)`,
		"entry 9 (override-gate by cascade) is not signed: with people every entry is a person's signed word (cascade writes entries of its own only for a workspace without people)",
		`entry 10 (override-gate by alice) does not say what was signed: its heads is "k2", the signed one "k1"`,
		`entry 11 (confirm by alice) carries the signature of entry 1 again: one signed statement signs one entry`,
		`entry 12 (override-gate refused by alice) carries the signature of entry 2 again: one signed statement signs one entry`,
		`entry 13 (override-gate by alice) carries the signature of entry 2 again: one signed statement signs one entry`,
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}
