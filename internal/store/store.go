// Package store keeps cascade's durable state: releases, their steps,
// repo locks and the audit log, in SQLite (modernc.org/sqlite, pure Go; the
// default, a file beside cascade.yaml) or PostgreSQL (pgx).
//
// Both backends run the same SQL: the release engine writes its queries
// once, with ? placeholders, and the store rebinds them for PostgreSQL
// ($1, $2, ...). What differs between the two lives in a small dialect:
// how a write transaction begins, how the schema version is kept, and the
// migrations (embedded, one directory per backend, the same schema).
//
// Every state change is one transaction, and write transactions of all
// cascade processes on one database run one at a time: SQLite begins them
// IMMEDIATE (the write lock is taken at BEGIN, so a transaction that reads
// and then writes never has to upgrade its lock); PostgreSQL takes one
// transaction-level advisory lock first. Either way a second process waits
// (up to BusyTimeout) and then reads what the first committed, so two
// `release next` never both start the same step.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Store is an open database.
type Store struct {
	// DB runs statements outside a transaction (reads, mostly), with ?
	// placeholders on either backend.
	DB *DB
	// Path names the database in messages: the SQLite file, or the
	// PostgreSQL URL without its password.
	Path string
	d    dialect
	// url is the PostgreSQL URL the store was opened with ("" for SQLite).
	url string
}

// SQL is the connection pool under DB, for a library that keeps its own
// tables in the same database (the job queue). On SQLite it is the
// process's one connection: a caller must not wait for it while it holds
// a transaction of the store.
func (s *Store) SQL() *sql.DB { return s.DB.q }

// URL is the PostgreSQL URL the store was opened with, password included,
// for a library that opens its own connections to the same database; ""
// for SQLite.
func (s *Store) URL() string { return s.url }

// Backend names the kind of database: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name() }

// BusyTimeout is how long a cascade process waits for another one's write
// transaction before it gives up.
const BusyTimeout = 30 * time.Second

// dialect is what differs between the backends.
type dialect interface {
	name() string
	// rebind turns the engine's ? placeholders into the backend's.
	rebind(query string) string
	// begin starts a write transaction: when it returns, no other cascade
	// process writes to the database until this transaction ends.
	begin(ctx context.Context, db *sql.DB) (*sql.Tx, error)
	// busy reports an error of waiting too long for another writer.
	busy(err error) bool
	// version reads the schema version outside a transaction; an error
	// here means the database cannot be read as a cascade database.
	version(ctx context.Context, db *sql.DB) (int, error)
	// lockedVersion reads it again inside the migration's transaction,
	// with empty reporting whether the database holds no tables at all.
	lockedVersion(ctx context.Context, tx *sql.Tx) (version int, empty bool, err error)
	setVersion(ctx context.Context, tx *sql.Tx, version int) error
	migrationDir() string
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// IsServer reports whether dbURL names a database server (PostgreSQL)
// rather than a SQLite file.
func IsServer(dbURL string) bool {
	return strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://")
}

// CheckURL says what is wrong with dbURL as a database name, without
// opening it (nil when Open would try it): a scheme cascade does not keep
// its state in, "sqlite:" with no file, or nothing at all.
func CheckURL(dbURL string) error {
	switch {
	case IsServer(dbURL):
		return nil
	case strings.HasPrefix(dbURL, "sqlite:"):
		if strings.TrimPrefix(dbURL, "sqlite:") == "" {
			return errkind.New(errkind.Invalid, "--db %q names no file: write sqlite:PATH, a PATH, or postgres://USER@HOST/DATABASE", dbURL)
		}
		return nil
	case schemeRE.MatchString(dbURL):
		return errkind.New(errkind.Invalid, "--db %q: cascade keeps its state in SQLite (sqlite:PATH, or a PATH) or PostgreSQL (postgres://USER@HOST/DATABASE), not %s", dbURL, dbURL[:strings.Index(dbURL, ":")])
	case dbURL == "":
		return errkind.New(errkind.Invalid, "no database given: pass --db sqlite:PATH or postgres://USER@HOST/DATABASE")
	}
	return nil
}

// Open opens the database named by dbURL and applies the migrations:
// "postgres://..." (or "postgresql://...") is a PostgreSQL database,
// "sqlite:PATH" or a bare PATH a SQLite file (created, with its
// directory, when missing). A database written by a newer cascade, or one
// that is not a cascade database, is an error, never reset.
func Open(ctx context.Context, dbURL string) (*Store, error) {
	if err := CheckURL(dbURL); err != nil {
		return nil, err
	}
	if IsServer(dbURL) {
		return openPostgres(ctx, dbURL)
	}
	return openSQLite(ctx, strings.TrimPrefix(dbURL, "sqlite:"))
}

// Close closes the database.
func (s *Store) Close() error { return s.DB.q.Close() }

func (s *Store) migrate(ctx context.Context) error {
	dir := s.d.migrationDir()
	entries, err := migrations.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	latest := len(names)
	version, err := s.d.version(ctx, s.DB.q)
	if err != nil {
		return err
	}
	if version == latest {
		return nil
	}
	// Migrate inside a write transaction, and read the version again
	// there: another process opening the same fresh database may have
	// migrated it while this one waited.
	return s.Tx(ctx, func(tx *Tx) error {
		version, empty, err := s.d.lockedVersion(ctx, tx.q)
		if err != nil {
			return err
		}
		if version > latest {
			return errkind.New(errkind.Invalid, "%s was written by a newer cascade (schema %d, this one knows %d); upgrade cascade rather than risk the release state", s.Path, version, latest)
		}
		if version == 0 && !empty {
			return errkind.New(errkind.Invalid, "%s holds tables but no cascade schema; it is not a cascade database", s.Path)
		}
		for i := version; i < latest; i++ {
			data, err := fs.ReadFile(migrations, dir+"/"+names[i])
			if err != nil {
				return err
			}
			if _, err := tx.q.ExecContext(ctx, string(data)); err != nil {
				return errkind.Wrap(errkind.Infra, fmt.Errorf("migration %s: %w", names[i], err))
			}
		}
		if err := s.d.setVersion(ctx, tx.q, latest); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		return nil
	})
}

// Tx runs fn in one write transaction: committed when fn returns nil,
// rolled back otherwise. Write transactions of every process on the
// database run one at a time (see the package comment); one that cannot
// begin within BusyTimeout is an infrastructure error naming the database.
func (s *Store) Tx(ctx context.Context, fn func(*Tx) error) error {
	tx, err := s.d.begin(ctx, s.DB.q)
	if err != nil {
		if s.d.busy(err) {
			return busyError(s.Path, err)
		}
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := fn(&Tx{rebound[*sql.Tx]{tx, s.d}}); err != nil {
		tx.Rollback()
		if s.d.busy(err) && errkind.Of(err) != errkind.Infra {
			return busyError(s.Path, err)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	return nil
}

// busyError is a wait for another writer that ran out: an infrastructure
// condition (another process holds the database), not a corrupt one.
func busyError(path string, err error) error {
	return errkind.Wrap(errkind.Infra, fmt.Errorf("%s is locked by another cascade process: %w", path, err))
}

// querier is what *sql.DB and *sql.Tx share: the statements rebound
// wraps.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rebound runs q's statements with ? placeholders on both backends.
type rebound[Q querier] struct {
	q Q
	d dialect
}

func (r rebound[Q]) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.q.ExecContext(ctx, r.d.rebind(query), args...)
}

func (r rebound[Q]) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.q.QueryContext(ctx, r.d.rebind(query), args...)
}

func (r rebound[Q]) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.q.QueryRowContext(ctx, r.d.rebind(query), args...)
}

// DB runs statements outside a transaction. Queries use ? placeholders on
// both backends.
type DB struct{ rebound[*sql.DB] }

func (db *DB) Exec(query string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), query, args...)
}

func (db *DB) Query(query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), query, args...)
}

func (db *DB) QueryRow(query string, args ...any) *sql.Row {
	return db.QueryRowContext(context.Background(), query, args...)
}

// Conn is one connection of the pool, for tests that set a connection's
// own options; its statements are not rebound.
func (db *DB) Conn(ctx context.Context) (*sql.Conn, error) { return db.q.Conn(ctx) }

// Tx is a write transaction (see Store.Tx). Queries use ? placeholders on
// both backends.
type Tx struct{ rebound[*sql.Tx] }

// dollarPlaceholders rewrites each ? outside quotes and comments as $1,
// $2, ... (PostgreSQL's placeholders).
func dollarPlaceholders(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case c == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
