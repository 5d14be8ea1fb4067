package release

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/store"
)

// TestSigningHoldsNoLock: a person's entries are signed before their
// transaction begins, never while it holds the database's write lock (a
// slow signer, an agent asking for a confirmation, would otherwise stall
// every other release action and the running runner's writes).
func TestSigningHoldsNoLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := s.DB.Exec(`INSERT INTO releases (id, plan, state, manager, started_at) VALUES (1, 'p', 'active', 'alice', 'x')`); err != nil {
		t.Fatal(err)
	}
	var signed []string
	var locked []string
	e := &Engine{Store: s, Now: time.Now,
		Signature: &identity.Signature{Statement: identity.Statement("p", "abort", "2026-12-01T10:00:00Z", nil), Armored: "x"},
		Sign: func(ctx context.Context, stmt string) (*identity.Signature, error) {
			// Another process tries to write while this one signs.
			c, err := other.DB.Conn(ctx)
			if err != nil {
				return nil, err
			}
			defer c.Close()
			if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
				return nil, err
			}
			if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
				locked = append(locked, err.Error())
			} else {
				c.ExecContext(ctx, "ROLLBACK")
			}
			signed = append(signed, stmt)
			return &identity.Signature{Statement: stmt, Armored: "sig"}, nil
		}}
	refusal := errors.New("only the release manager may abort it")
	if err := e.refuse(ctx, 1, "p", "bob", "abort", nil, refusal); !errors.Is(err, refusal) {
		t.Fatalf("refuse = %v", err)
	}
	if len(locked) > 0 {
		t.Errorf("an entry was signed while the write lock was held: %v", locked)
	}
	entries, err := s.Entries(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || len(signed) != 1 {
		t.Fatalf("entries %v, signed %d statements", entries, len(signed))
	}
	en := entries[0]
	if stmt, _ := en.Details["signed"].(string); stmt != signed[0] || !strings.Contains(stmt, `entry="abort refused"`) || identity.StatementField(stmt, "at") != en.At {
		t.Errorf("the entry carries %q at %s; signed %q", stmt, en.At, signed[0])
	}
}

// A reason is one line of text, as an input is: a line break, an escape
// sequence or a C1 control is bad input.
func TestReasonText(t *testing.T) {
	for reason, ok := range map[string]bool{
		"checked by hand": true, "naïve — ok": true, "a\nb": false, "x\x1b[31m": false, "del\x7f": false, "c1\u0085": false,
		"rtl\u202eevil": false, "line\u2028sep": false, "zero\u200bwidth": false, "bom\ufeff": false,
		strings.Repeat("x", MaxReason): true, strings.Repeat("x", MaxReason+1): false,
	} {
		if err := reasonText(reason); (err == nil) != ok {
			t.Errorf("reasonText(%.40q) = %v", reason, err)
		}
	}
	// Inputs: each at most MaxReason bytes, at most MaxInputs of them.
	many := map[string]string{}
	for i := range MaxInputs + 1 {
		many[fmt.Sprint("in", i)] = "v"
	}
	for _, c := range []struct {
		inputs map[string]string
		ok     bool
	}{
		{map[string]string{"version": "v1.2.0"}, true},
		{map[string]string{"v": strings.Repeat("x", MaxReason-1)}, true},
		{map[string]string{"v": strings.Repeat("x", MaxReason)}, false},
		{many, false},
	} {
		if err := checkInputs(c.inputs); (err == nil) != c.ok {
			t.Errorf("checkInputs(%d inputs) = %v, want ok %v", len(c.inputs), err, c.ok)
		}
	}
}
