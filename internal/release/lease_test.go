package release

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/store"
)

// TestLeaseHeartbeat: while a runner holds a release, its heartbeat pushes
// the lease's expiry forward; giving it back clears it.
func TestLeaseHeartbeat(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.DB.Exec(`INSERT INTO releases (id, plan, state, manager, started_at) VALUES (1, 'p', 'active', 'alice', 'x')`); err != nil {
		t.Fatal(err)
	}
	e := &Engine{Store: s, Now: time.Now, LeaseTTL: 300 * time.Millisecond}
	expiry := func() time.Time {
		var v string
		if err := s.DB.QueryRow(`SELECT coalesce(lease_expires, '') FROM releases WHERE id = 1`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339Nano, v)
		return at
	}
	_, giveBack, err := e.acquireLease(ctx, &Status{ID: 1, Plan: "p"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	first := expiry()
	deadline := time.Now().Add(5 * time.Second)
	for !expiry().After(first) {
		if time.Now().After(deadline) {
			t.Fatal("the heartbeat never renewed the lease")
		}
		time.Sleep(20 * time.Millisecond)
	}
	giveBack()
	if !expiry().IsZero() {
		t.Error("the lease was not given back")
	}
}
