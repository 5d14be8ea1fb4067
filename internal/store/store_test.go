package store_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// The helper process: when CASCADE_STORE_HELPER names a database, the test
// binary opens it and appends writes audit entries there, then exits. Each
// entry is a transaction that reads and then writes, the pattern that fails
// with SQLITE_BUSY when transactions begin DEFERRED.
func TestMain(m *testing.M) {
	if db := os.Getenv("CASCADE_STORE_HELPER"); db != "" {
		os.Exit(helper(db))
	}
	os.Exit(m.Run())
}

func helper(path string) int {
	n, _ := strconv.Atoi(os.Getenv("CASCADE_STORE_WRITES"))
	ctx := context.Background()
	s, err := store.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 3
	}
	defer s.Close()
	if os.Getenv("CASCADE_STORE_HANG") == "1" {
		// Write inside a transaction, say so, and wait to be killed.
		s.Tx(ctx, func(tx *store.Tx) error {
			if err := store.Append(ctx, tx, 0, "p", "2026-01-01T00:00:00Z", "hung", "test", nil); err != nil {
				fmt.Fprintln(os.Stderr, "write:", err)
				os.Exit(3)
			}
			fmt.Println("in transaction")
			time.Sleep(time.Hour)
			return nil
		})
		return 3
	}
	for i := range n {
		err := s.Tx(ctx, func(tx *store.Tx) error {
			return store.Append(ctx, tx, 0, "p", "2026-01-01T00:00:00Z", fmt.Sprint(os.Getpid()), "test", map[string]any{"i": i})
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			return 3
		}
	}
	return 0
}

// runHelpers starts procs processes at once on the database at path, each
// making writes transactions, and fails the test if any of them fails.
func runHelpers(t *testing.T, path string, procs, writes int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, procs)
	outs := make([][]byte, procs)
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "CASCADE_STORE_HELPER="+path, "CASCADE_STORE_WRITES="+strconv.Itoa(writes))
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range procs {
		if errs[i] != nil {
			t.Errorf("process %d: %v\n%s", i, errs[i], outs[i])
		}
	}
}

// TestConcurrentOpenOfFreshDatabase: processes opening one fresh database
// at once migrate it once, and all write.
func TestConcurrentOpenOfFreshDatabase(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for round := range 3 {
				path := b.New(t)
				if b.Name == "sqlite" {
					path = filepath.Join(t.TempDir(), "sub dir", fmt.Sprintf("state-%d.db", round))
				}
				runHelpers(t, path, 4, 1)
				if t.Failed() {
					return
				}
				s := storetest.Open(t, path)
				entries, err := s.Entries(context.Background(), "")
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != 4 {
					t.Fatalf("round %d: %d audit entries, want 4", round, len(entries))
				}
			}
		})
	}
}

// TestConcurrentWritersWait: processes writing at once wait for each
// other; every write lands and the audit chain holds.
func TestConcurrentWritersWait(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			path := b.New(t)
			runHelpers(t, path, 4, 25)
			if t.Failed() {
				return
			}
			s := storetest.Open(t, path)
			entries, err := s.Entries(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 100 {
				t.Fatalf("%d audit entries, want 100", len(entries))
			}
			problems, err := s.VerifyChain(context.Background())
			if err != nil || len(problems) > 0 {
				t.Fatalf("audit chain after concurrent writers: %v %v", err, problems)
			}
		})
	}
}

// TestKilledWriter: a process killed (SIGKILL) inside a write transaction
// leaves nothing of it, and the next writer does not wait for it.
func TestKilledWriter(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			path := b.New(t)
			storetest.Open(t, path) // migrated before the helper starts
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "CASCADE_STORE_HELPER="+path, "CASCADE_STORE_HANG=1")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line := make([]byte, 64)
			n, _ := out.Read(line)
			if !strings.Contains(string(line[:n]), "in transaction") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("helper said %q", line[:n])
			}
			cmd.Process.Kill()
			cmd.Wait()
			s := storetest.Open(t, path)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			began := time.Now()
			err = s.Tx(ctx, func(tx *store.Tx) error {
				return store.Append(ctx, tx, 0, "p", "2026-01-01T00:00:00Z", "next", "test", nil)
			})
			if err != nil {
				t.Fatalf("writing after the killed writer: %v", err)
			}
			if d := time.Since(began); d > 5*time.Second {
				t.Errorf("the next write waited %v for a dead process", d)
			}
			entries, err := s.Entries(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Actor != "next" || entries[0].Seq != 1 {
				t.Fatalf("entries after the kill: %+v", entries)
			}
		})
	}
}

func TestDSNSettings(t *testing.T) {
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "a b#c?d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(s.Path); err != nil {
		t.Fatalf("database not at the path given: %v", err)
	}
	for pragma, want := range map[string]string{"busy_timeout": "30000", "synchronous": "2", "journal_mode": "wal", "foreign_keys": "1"} {
		var got string
		if err := s.DB.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}
