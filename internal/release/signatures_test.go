package release

import (
	"context"
	"strings"
	"testing"

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
	}
	problems, err := VerifySignatures(context.Background(), people, entries)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"entry 1 (start by alice) is not signed",
		`entry 3 (override by alice) carries a signature for a "confirm" action, which never writes a "override" entry`,
		"entry 4 (confirm by alice) carries a signature for plan p, not q",
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	if p, _ := VerifySignatures(context.Background(), nil, entries); p != nil {
		t.Errorf("without people nothing can be checked, got %q", p)
	}
}
