// Package store keeps cascade's durable state in SQLite (modernc.org/sqlite,
// pure Go): releases, their steps, repo locks and the audit log. The
// database runs in WAL mode with foreign keys on and synchronous=FULL (a
// committed step survives power loss); migrations are embedded
// and applied when it opens. Every state change is one transaction.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

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
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	db.SetMaxOpenConns(1)
	s := &Store{DB: db, Path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
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
		return errkind.New(errkind.Invalid, "%s is not a cascade database (or it is corrupt): %v; move it aside, or pass --db another file", s.Path, err)
	}
	if version > latest {
		return errkind.New(errkind.Invalid, "%s was written by a newer cascade (schema %d, this one knows %d); upgrade cascade rather than risk the release state", s.Path, version, latest)
	}
	if version == 0 {
		// A file that holds tables but no cascade schema version is someone else's.
		var n int
		if err := s.DB.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
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
		tx, err := s.DB.BeginTx(ctx, nil)
		if err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		if _, err := tx.ExecContext(ctx, string(data)); err != nil {
			tx.Rollback()
			return errkind.Wrap(errkind.Infra, fmt.Errorf("migration %s: %w", names[i], err))
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return errkind.Wrap(errkind.Infra, err)
		}
		if err := tx.Commit(); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
	}
	return nil
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
