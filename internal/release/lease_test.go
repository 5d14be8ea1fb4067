package release

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// TestLeaseHeartbeat: while a runner holds a release, its heartbeat pushes
// the lease's expiry forward; giving it back clears it.
func TestLeaseHeartbeat(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, testDB(t))
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

// TestWatchStopsOnAbortAndTakeover: while a runner holds a release, an
// abort or a takeover of its lease cancels its context with the reason (a
// step's processes die with it); the release's end, which only the runner
// itself writes while it runs, does not.
func TestWatchStopsOnAbortAndTakeover(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, testDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.DB.Exec(`INSERT INTO releases (id, plan, state, manager, started_at) VALUES (1, 'p', 'active', 'alice', 'x')`); err != nil {
		t.Fatal(err)
	}
	e := &Engine{Store: s, Now: time.Now, LeaseTTL: time.Minute, WatchEvery: 10 * time.Millisecond}
	cancelled := func(runCtx context.Context) *stopped {
		deadline := time.Now().Add(5 * time.Second)
		for runCtx.Err() == nil {
			if time.Now().After(deadline) {
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		var st *stopped
		if !errors.As(context.Cause(runCtx), &st) {
			t.Fatalf("cancelled with %v", context.Cause(runCtx))
		}
		return st
	}

	runCtx, giveBack, err := e.acquireLease(ctx, &Status{ID: 1, Plan: "p"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	s.DB.Exec(`UPDATE releases SET state = 'done'`)
	time.Sleep(100 * time.Millisecond) // ten reads of the state
	if runCtx.Err() != nil {
		t.Fatalf("a done release stopped its runner: %v", context.Cause(runCtx))
	}
	s.DB.Exec(`UPDATE releases SET state = 'aborted', reason = 'no'`)
	if st := cancelled(runCtx); st == nil || st.lost || st.state != Aborted || !strings.Contains(st.Error(), "the release of p was aborted (no)") {
		t.Fatalf("an abort: %v", st)
	}
	giveBack()

	s.DB.Exec(`UPDATE releases SET state = 'active'`)
	runCtx, giveBack, err = e.acquireLease(ctx, &Status{ID: 1, Plan: "p"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer giveBack()
	s.DB.Exec(`UPDATE releases SET lease_token = 'theirs', runner = '7@elsewhere'`)
	if st := cancelled(runCtx); st == nil || !st.lost || !strings.Contains(st.Error(), "lost its lease on the release of p (7@elsewhere holds it now)") {
		t.Fatalf("a takeover: %v", st)
	}
}

// testDB is a fresh database for a test of the engine alone: a SQLite file,
// or a PostgreSQL database with CASCADE_TEST_STORE=postgres.
func testDB(t *testing.T) string {
	u, _ := storetest.FromEnv(t, filepath.Join(t.TempDir(), "c.db"))
	return u
}
