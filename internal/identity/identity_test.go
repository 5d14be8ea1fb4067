package identity

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestSignWithAgent: a .pub file whose private key is in ssh-agent signs
// through the agent.
func TestSignWithAgent(t *testing.T) {
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("no ssh-agent")
	}
	ctx := context.Background()
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agent.Process.Kill(); agent.Wait() }()
	t.Setenv("SSH_AUTH_SOCK", sock)
	pub, err := GenerateKey(ctx, filepath.Join(dir, "alice"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for range 50 { // the agent needs a moment to listen
		if out, err = exec.Command("ssh-add", "-q", filepath.Join(dir, "alice")).CombinedOutput(); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	// Only the public key is left on disk: the agent must sign.
	os.Remove(filepath.Join(dir, "alice"))
	stmt := Statement("p", "start", "now", nil)
	sig, err := Sign(ctx, filepath.Join(dir, "alice.pub"), true, stmt)
	if err != nil {
		t.Fatal(err)
	}
	if name, err := Signer(ctx, []workspace.Person{{Name: "alice", Keys: []string{pub}}}, sig); err != nil || name != "alice" {
		t.Errorf("Signer = %q, %v", name, err)
	}
}
