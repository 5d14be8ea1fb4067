package identity

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/workspace"
)

func TestSignAndFindSigner(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen")
	}
	ctx := context.Background()
	dir := t.TempDir()
	keys := map[string]string{}
	for _, n := range []string{"alice", "bob", "mallory"} {
		pub, err := GenerateKey(ctx, filepath.Join(dir, n), n)
		if err != nil {
			t.Fatal(err)
		}
		keys[n] = pub
	}
	people := []workspace.Person{{Name: "alice", Keys: []string{keys["alice"]}}, {Name: "bob", Keys: []string{keys["bob"]}}}
	stmt := Statement("p", "start", "2026-12-01T10:00:00Z", map[string]string{"reason": "x"})
	sig, err := Sign(ctx, filepath.Join(dir, "alice"), false, stmt)
	if err != nil {
		t.Fatal(err)
	}
	if name, err := Signer(ctx, people, sig); err != nil || name != "alice" {
		t.Errorf("Signer = %q, %v; want alice", name, err)
	}
	if err := VerifyAs(ctx, people, "bob", sig); err == nil {
		t.Error("alice's signature verified as bob's")
	}
	forged := *sig
	forged.Statement = strings.Replace(stmt, "start", "abort", 1)
	if err := VerifyAs(ctx, people, "alice", &forged); err == nil {
		t.Error("a signature verified over another statement")
	}
	msig, err := Sign(ctx, filepath.Join(dir, "mallory"), false, stmt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Signer(ctx, people, msig); err == nil || !strings.Contains(err.Error(), "not any person's") {
		t.Errorf("mallory's key: %v", err)
	}
	if _, err := Sign(ctx, "", false, stmt); err == nil || !strings.Contains(err.Error(), "--key FILE") {
		t.Errorf("no key: %v", err)
	}
	if got := StatementField(stmt, "plan"); got != "p" {
		t.Errorf("StatementField(plan) = %q", got)
	}
}
