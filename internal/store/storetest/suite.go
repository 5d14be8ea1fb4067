package storetest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/store"
)

// Run runs every case of the suite on the backend b.
func Run(t *testing.T, b Backend) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"Migrations", testMigrations},
		{"NewerSchemaRefused", testNewerSchema},
		{"ForeignDatabaseRefused", testForeign},
		{"ConcurrentOpenOfFreshDatabase", testConcurrentOpen},
		{"AuditAppendAndVerify", testAudit},
		{"AuditTamperingFound", testAuditTamper},
		{"WritersSerialise", testWritersSerialise},
		{"ConcurrentWritersChainIntact", testConcurrentWriters},
		{"OneLockPerRepo", testOneLockPerRepo},
		{"LeaseTakenOnce", testLeaseTakenOnce},
		{"FailedTransactionWritesNothing", testRollback},
		{"ReleaseIDsAndSteps", testReleaseRows},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, b) })
	}
}

// Open opens the database at dbURL, failing t on error; it is closed when
// t ends.
func Open(t testing.TB, dbURL string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", dbURL, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendEntry(ctx context.Context, s *store.Store, plan, actor string, i int) error {
	return s.Tx(ctx, func(tx *store.Tx) error {
		return store.Append(ctx, tx, 0, plan, "2026-01-01T00:00:00Z", actor, "test", map[string]any{"i": i})
	})
}

func testMigrations(t *testing.T, b Backend) {
	ctx := context.Background()
	u := b.New(t)
	s := Open(t, u)
	if s.Backend() != b.Name {
		t.Errorf("backend %q, want %q", s.Backend(), b.Name)
	}
	id, err := s.LogID(ctx)
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("log id %q, %v: want 32 hex digits", id, err)
	}
	for _, table := range []string{"releases", "steps", "locks", "audit", "meta"} {
		var n int
		if err := s.DB.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	s.Close()
	// Opening again applies nothing and keeps the log id.
	s2 := Open(t, u)
	if id2, err := s2.LogID(ctx); err != nil || id2 != id {
		t.Errorf("log id after reopening: %q, %v; want %q", id2, err, id)
	}
}

func setVersion(t *testing.T, s *store.Store, v int) {
	t.Helper()
	q := fmt.Sprintf("PRAGMA user_version = %d", v)
	if s.Backend() == "postgres" {
		q = fmt.Sprintf("UPDATE cascade_schema SET version = %d", v)
	}
	if _, err := s.DB.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func testNewerSchema(t *testing.T, b Backend) {
	u := b.New(t)
	s := Open(t, u)
	setVersion(t, s, 99)
	s.Close()
	_, err := store.Open(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "written by a newer cascade (schema 99") {
		t.Fatalf("newer schema: %v", err)
	}
}

func testForeign(t *testing.T, b Backend) {
	u := b.New(t)
	if _, err := Raw(t, u).Exec("CREATE TABLE someone_elses (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "holds tables but no cascade schema") {
		t.Fatalf("foreign database: %v", err)
	}
	// Nothing was written to it.
	var n int
	if err := Raw(t, u).QueryRow("SELECT count(*) FROM someone_elses").Scan(&n); err != nil {
		t.Fatal(err)
	}
}

// testConcurrentOpen: processes opening one fresh database at once
// migrate it once.
func testConcurrentOpen(t *testing.T, b Backend) {
	u := b.New(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(context.Background(), u)
			if err == nil {
				err = appendEntry(context.Background(), s, "p", "w", i)
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	s := Open(t, u)
	all, err := s.Entries(context.Background(), "")
	if err != nil || len(all) != 4 {
		t.Fatalf("%d entries, %v; want 4", len(all), err)
	}
}

func testAudit(t *testing.T, b Backend) {
	ctx := context.Background()
	s := Open(t, b.New(t))
	for i, plan := range []string{"p", "q", "p"} {
		if err := appendEntry(ctx, s, plan, "alice", i); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Entries(ctx, "")
	if err != nil || len(all) != 3 {
		t.Fatalf("entries: %d, %v", len(all), err)
	}
	for i, e := range all {
		if e.Seq != int64(i+1) || e.Hash != store.HashEntry(e) || (i > 0 && e.PrevHash != all[i-1].Hash) {
			t.Errorf("entry %d: %+v", i, e)
		}
		if got, _ := e.Details["i"].(float64); int(got) != i {
			t.Errorf("entry %d details %v", i, e.Details)
		}
	}
	p, err := s.Entries(ctx, "p")
	if err != nil || len(p) != 2 || p[1].Seq != 3 {
		t.Fatalf("plan p's entries: %+v, %v", p, err)
	}
	n, head, err := s.PlanHead(ctx, "p")
	if err != nil || n != 2 || head != all[2].Hash {
		t.Errorf("plan head %d %s %v", n, head, err)
	}
	if n, head, err := s.PlanHead(ctx, "none"); err != nil || n != 0 || head != "" {
		t.Errorf("empty plan head %d %q %v", n, head, err)
	}
	if problems, err := s.VerifyChain(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("intact chain: %v %v", problems, err)
	}
}

func testAuditTamper(t *testing.T, b Backend) {
	ctx := context.Background()
	s := Open(t, b.New(t))
	for i := range 4 {
		if err := appendEntry(ctx, s, "p", "alice", i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DB.Exec(`UPDATE audit SET actor = ? WHERE seq = ?`, "mallory", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(`DELETE FROM audit WHERE seq = ?`, 3); err != nil {
		t.Fatal(err)
	}
	problems, err := s.VerifyChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	for _, want := range []string{"entry 2 (test by mallory) was edited", "entries 3 to 3 are missing"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
}

// testWritersSerialise: while one write transaction runs, another (from a
// second connection pool, as another process would have) waits, and then
// sees what the first committed.
func testWritersSerialise(t *testing.T, b Backend) {
	ctx := context.Background()
	u := b.New(t)
	s1, s2 := Open(t, u), Open(t, u)
	inFirst := make(chan struct{})
	var firstDone atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	var err1 error
	go func() {
		defer wg.Done()
		err1 = s1.Tx(ctx, func(tx *store.Tx) error {
			if err := store.Append(ctx, tx, 0, "p", "t", "first", "test", nil); err != nil {
				return err
			}
			close(inFirst)
			time.Sleep(300 * time.Millisecond)
			firstDone.Store(true)
			return nil
		})
	}()
	<-inFirst
	var sawFirst bool
	err2 := s2.Tx(ctx, func(tx *store.Tx) error {
		if !firstDone.Load() {
			t.Error("the second write transaction began while the first ran")
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM audit WHERE actor = ?", "first").Scan(&n); err != nil {
			return err
		}
		sawFirst = n == 1
		return store.Append(ctx, tx, 0, "p", "t", "second", "test", nil)
	})
	wg.Wait()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !sawFirst {
		t.Error("the second transaction did not see the first one's entry")
	}
	if problems, err := s1.VerifyChain(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("chain: %v %v", problems, err)
	}
}

func testConcurrentWriters(t *testing.T, b Backend) {
	ctx := context.Background()
	u := b.New(t)
	stores := []*store.Store{Open(t, u), Open(t, u), Open(t, u)}
	var wg sync.WaitGroup
	errs := make([]error, len(stores)*2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 15 {
				if err := appendEntry(ctx, stores[i%len(stores)], "p", fmt.Sprint("w", i), j); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	all, err := stores[0].Entries(ctx, "")
	if err != nil || len(all) != 90 {
		t.Fatalf("%d entries, %v; want 90", len(all), err)
	}
	if problems, err := stores[0].VerifyChain(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("chain after concurrent writers: %v %v", problems, err)
	}
}

func newRelease(ctx context.Context, t *testing.T, s *store.Store, plan string) int64 {
	t.Helper()
	var id int64
	err := s.Tx(ctx, func(tx *store.Tx) error {
		return tx.QueryRowContext(ctx, "INSERT INTO releases (id, plan, state, manager, started_at) VALUES ((SELECT coalesce(max(id), 0) + 1 FROM releases), ?, 'active', ?, ?) RETURNING id", plan, "alice", "t").Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testOneLockPerRepo: releases racing for one repo's lock, each checking
// for a holder and then taking it in one transaction (as release start
// does): exactly one gets it.
func testOneLockPerRepo(t *testing.T, b Backend) {
	ctx := context.Background()
	u := b.New(t)
	var ids []int64
	base := Open(t, u)
	for i := range 6 {
		ids = append(ids, newRelease(ctx, t, base, fmt.Sprint("p", i)))
	}
	won := race(t, openMany(t, u, len(ids)), func(i int, tx *store.Tx) (bool, error) {
		id := ids[i]
		var holder string
		err := tx.QueryRowContext(ctx, "SELECT holder FROM locks WHERE repo = ?", "svc").Scan(&holder)
		if err == nil {
			return false, nil // held: refused
		}
		time.Sleep(100 * time.Millisecond) // widen the window
		if _, err := tx.ExecContext(ctx, "INSERT INTO locks (repo, release_id, plan, holder, since) VALUES (?,?,?,?,?)", "svc", id, fmt.Sprint("p", i), "alice", "t"); err != nil {
			return false, err
		}
		return true, nil
	})
	if won != 1 {
		t.Fatalf("%d releases took the lock, want 1", won)
	}
}

// testLeaseTakenOnce: runners racing for a release's lease (read the
// token, take it when free, as release next does): one holds it.
func testLeaseTakenOnce(t *testing.T, b Backend) {
	ctx := context.Background()
	u := b.New(t)
	id := newRelease(ctx, t, Open(t, u), "p")
	won := race(t, openMany(t, u, 6), func(i int, tx *store.Tx) (bool, error) {
		var token *string
		if err := tx.QueryRowContext(ctx, "SELECT lease_token FROM releases WHERE id = ?", id).Scan(&token); err != nil {
			return false, err
		}
		if token != nil {
			return false, nil
		}
		time.Sleep(100 * time.Millisecond)
		if _, err := tx.ExecContext(ctx, "UPDATE releases SET lease_token = ?, runner = ?, runner_pid = ?, lease_expires = ? WHERE id = ?", fmt.Sprint("tok", i), fmt.Sprint(i, "@host"), 1<<40+i, "2026-01-01T00:00:00Z", id); err != nil {
			return false, err
		}
		return true, nil
	})
	if won != 1 {
		t.Fatalf("%d runners took the lease, want 1", won)
	}
	// A heartbeat by a token that is not the holder's changes nothing.
	s := Open(t, u)
	res, err := s.DB.Exec("UPDATE releases SET lease_expires = ? WHERE id = ? AND lease_token = ?", "later", id, "not-mine")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 0 {
		t.Errorf("a stranger's heartbeat changed %d rows", n)
	}
	var pid int64
	if err := s.DB.QueryRow("SELECT runner_pid FROM releases WHERE id = ?", id).Scan(&pid); err != nil || pid < 1<<40 {
		t.Errorf("runner pid %d, %v: want a 64-bit value kept", pid, err)
	}
}

// testRollback: a transaction whose work fails leaves nothing behind, and
// the next one runs.
func testRollback(t *testing.T, b Backend) {
	ctx := context.Background()
	s := Open(t, b.New(t))
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx *store.Tx) error {
		if err := store.Append(ctx, tx, 0, "p", "t", "alice", "test", nil); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO releases (id, plan, state, manager, started_at) VALUES (?, ?, 'active', ?, ?)", 1, "p", "alice", "t"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want boom", err)
	}
	// A statement that breaks a constraint fails its transaction too.
	err = s.Tx(ctx, func(tx *store.Tx) error {
		if err := store.Append(ctx, tx, 0, "p", "t", "alice", "test", nil); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO releases (id, plan, state, manager, started_at) VALUES (?, ?, 'unknown', ?, ?)", 1, "p", "alice", "t")
		return err
	})
	if err == nil {
		t.Fatal("a release in state 'unknown' was written")
	}
	for _, table := range []string{"audit", "releases"} {
		var n int
		if err := s.DB.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s holds %d rows after failed transactions (%v)", table, n, err)
		}
	}
	if err := appendEntry(ctx, s, "p", "alice", 0); err != nil {
		t.Fatalf("writing after failed transactions: %v", err)
	}
}

// testReleaseRows: ids come back from INSERT ... RETURNING, steps keep
// their order, and foreign keys hold.
func testReleaseRows(t *testing.T, b Backend) {
	ctx := context.Background()
	s := Open(t, b.New(t))
	a := newRelease(ctx, t, s, "p")
	// A start rolled back (as the pass that prepares a signature is)
	// leaves no gap in the release numbers.
	boom := errors.New("boom")
	if err := s.Tx(ctx, func(tx *store.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, "INSERT INTO releases (id, plan, state, manager, started_at) VALUES ((SELECT coalesce(max(id), 0) + 1 FROM releases), ?, 'active', ?, ?) RETURNING id", "x", "alice", "t").Scan(&id); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	c := newRelease(ctx, t, s, "q")
	if a != 1 || c != 2 {
		t.Fatalf("release ids %d then %d, want 1 then 2", a, c)
	}
	err := s.Tx(ctx, func(tx *store.Tx) error {
		for i := range 3 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO steps (release_id, idx, repo, name, kind, spec, state) VALUES (?,?,?,?,?,?, 'pending')", a, i, "svc", fmt.Sprint("s", i), "run", "{}"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.DB.Query("SELECT idx, name, coalesce(actor, ''), runs FROM steps WHERE release_id = ? ORDER BY idx", a)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var idx, runs int
		var name, actor string
		if err := rows.Scan(&idx, &name, &actor, &runs); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if strings.Join(names, ",") != "s0,s1,s2" {
		t.Errorf("steps %v", names)
	}
	err = s.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO steps (release_id, idx, repo, name, kind, spec, state) VALUES (?,?,?,?,?,?, 'pending')", 999, 0, "svc", "x", "run", "{}")
		return err
	})
	if err == nil {
		t.Error("a step of a release that does not exist was written")
	}
}

// openMany opens n stores on one database, as n processes would.
func openMany(t *testing.T, u string, n int) []*store.Store {
	var out []*store.Store
	for range n {
		s := Open(t, u)
		// Connect now, so that the race starts at the transactions.
		if err := s.DB.QueryRow("SELECT 1").Scan(new(int)); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// race runs fn in one write transaction on each store, all started at
// once, and counts the transactions in which fn says it won. An error
// fails the test.
func race(t *testing.T, stores []*store.Store, fn func(i int, tx *store.Tx) (bool, error)) int32 {
	t.Helper()
	var won atomic.Int32
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	start := make(chan struct{})
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = stores[i].Tx(context.Background(), func(tx *store.Tx) error {
				ok, err := fn(i, tx)
				if ok && err == nil {
					won.Add(1)
				}
				return err
			})
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return won.Load()
}
