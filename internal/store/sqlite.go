package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// SQLite: WAL mode, foreign keys on, synchronous=FULL (a committed step
// survives power loss), one connection per process, every transaction
// begun IMMEDIATE.
type sqliteDialect struct{ path string }

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	// SQLite answers "database is locked" at once, without its busy
	// handler, while another connection switches a fresh file to WAL or
	// recovers its log: such an open is tried again until BusyTimeout.
	deadline := time.Now().Add(BusyTimeout)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		s, err := openSQLiteOnce(ctx, path)
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

func openSQLiteOnce(ctx context.Context, path string) (*Store, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	db.SetMaxOpenConns(1)
	d := sqliteDialect{path: path}
	s := &Store{DB: &DB{rebound[*sql.DB]{db, d}}, Path: path, d: d}
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

func (sqliteDialect) name() string           { return "sqlite" }
func (sqliteDialect) rebind(q string) string { return q }
func (sqliteDialect) busy(err error) bool    { return isBusy(err) }
func (sqliteDialect) migrationDir() string   { return "migrations/sqlite" }

// begin: the DSN makes every transaction BEGIN IMMEDIATE.
func (sqliteDialect) begin(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, nil)
}

func (d sqliteDialect) version(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		if isBusy(err) {
			return 0, busyError(d.path, err)
		}
		return 0, d.notADatabase(err)
	}
	return v, nil
}

func (d sqliteDialect) notADatabase(err error) error {
	return errkind.New(errkind.Invalid, "%s is not a cascade database (or it is corrupt): %v; move it aside, or pass --db another file", d.path, err)
}

func (d sqliteDialect) lockedVersion(ctx context.Context, tx *sql.Tx) (int, bool, error) {
	var v, n int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, false, d.notADatabase(err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		return 0, false, d.notADatabase(err)
	}
	return v, n == 0, nil
}

func (sqliteDialect) setVersion(ctx context.Context, tx *sql.Tx, v int) error {
	_, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(v))
	return err
}

// IsNotADatabase reports errors of a file that SQLite cannot read.
func IsNotADatabase(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "malformed"))
}
