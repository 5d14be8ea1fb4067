// Package store keeps cascade's durable state in SQLite (modernc.org/sqlite,
// pure Go): releases, their steps, repo locks and the audit log. The
// database runs in WAL mode with foreign keys on and synchronous=FULL;
// migrations are embedded and applied when it opens. Every state change is
// one transaction, begun with BEGIN IMMEDIATE so that concurrent cascade
// processes wait for each other (up to the busy timeout) instead of failing
// with SQLITE_BUSY when a reader upgrades to a writer.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/cascade-dev/cascade/internal/errkind"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open database.
type Store struct {
	DB   *sql.DB
	Path string
}

// Open opens (creating if needed) the database at path and applies the
// migrations. A database written by a newer cascade, or a file that is
// not a cascade database, is an error, never reset.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	// SQLite answers "database is locked" at once, without its busy
	// handler, while another connection switches a fresh file to WAL or
	// recovers its log: such an open is tried again until BusyTimeout.
	deadline := time.Now().Add(BusyTimeout)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		s, err := open(ctx, path)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func open(ctx context.Context, path string) (*Store, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	db.SetMaxOpenConns(1)
	s := &Store{DB: db, Path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		if isBusy(err) && errkind.Of(err) != errkind.Infra {
			err = busyError(path, err)
		}
		return nil, err
	}
	return s, nil
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// busyError is an open that found the database locked: an infrastructure
// condition (another process holds it), not a corrupt file.
func busyError(path string, err error) error {
	return errkind.Wrap(errkind.Infra, fmt.Errorf("%s is locked by another cascade process: %w", path, err))
}

// BusyTimeout is how long a cascade process waits for another one's write
// transaction before it gives up.
const BusyTimeout = 30 * time.Second

// DSN is the driver's data source name for the database at path. The busy
// timeout is applied first (the driver runs it before every other pragma,
// so even the switch to WAL on a fresh file waits rather than failing),
// every transaction begins IMMEDIATE (it takes the write lock at BEGIN, so
// a transaction that reads and then writes never has to upgrade its lock,
// which SQLite refuses at once with SQLITE_BUSY), and commits are durable
// (synchronous=FULL).
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: q.Encode()}
	return u.String()
}

// Close closes the database.
func (s *Store) Close() error { return s.DB.Close() }

func (s *Store) migrate(ctx context.Context) error {
	entries, err := migrations.ReadDir("migrations")
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	latest := len(names)
	var version int
	if err := s.DB.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		if isBusy(err) {
			return busyError(s.Path, err)
		}
		return errkind.New(errkind.Invalid, "%s is not a cascade database (or it is corrupt): %v; move it aside, or pass --db another file", s.Path, err)
	}
	if version == latest {
		return nil
	}
	// Migrate under the write lock (the transaction begins IMMEDIATE), and
	// read the version again inside it: another process opening the same
	// fresh database may have migrated it while this one waited.
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
			return errkind.New(errkind.Invalid, "%s is not a cascade database (or it is corrupt): %v; move it aside, or pass --db another file", s.Path, err)
		}
		if version > latest {
			return errkind.New(errkind.Invalid, "%s was written by a newer cascade (schema %d, this one knows %d); upgrade cascade rather than risk the release state", s.Path, version, latest)
		}
		if version == 0 {
			// A file that holds tables but no cascade schema version is someone else's.
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
				return errkind.New(errkind.Invalid, "%s is not a cascade database (or it is corrupt): %v", s.Path, err)
			}
			if n > 0 {
				return errkind.New(errkind.Invalid, "%s holds tables but no cascade schema; it is not a cascade database", s.Path)
			}
		}
		for i := version; i < latest; i++ {
			data, err := migrations.ReadFile("migrations/" + names[i])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(data)); err != nil {
				return errkind.Wrap(errkind.Infra, fmt.Errorf("migration %s: %w", names[i], err))
			}
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(latest)); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		return nil
	})
}

// Tx runs fn in one transaction.
func (s *Store) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	return nil
}

// IsNotADatabase reports errors of a file that SQLite cannot read.
func IsNotADatabase(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "malformed"))
}
