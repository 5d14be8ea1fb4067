package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// PostgreSQL through pgx's database/sql driver. Transactions run at READ
// COMMITTED, the default: a write transaction first takes one advisory
// lock shared by every cascade process on the database (waiting up to
// BusyTimeout), so its later statements see everything committed before
// it, as under SQLite's single writer. (A snapshot isolation level would
// have taken its snapshot before the lock was granted.) The schema version
// is kept in the table cascade_schema.
type postgresDialect struct{ where string }

// writeLock is the advisory lock every write transaction holds: the 64-bit
// number spelling "cascade!".
const writeLock = 0x6361736361646521

func openPostgres(ctx context.Context, dbURL string) (*Store, error) {
	where := "the PostgreSQL database"
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, errkind.New(errkind.Invalid, "--db: %q is not a PostgreSQL URL (%v); write postgres://USER@HOST:PORT/DATABASE", where, err)
	}
	where = u.Redacted()
	// Do not wait forever for a host that does not answer.
	if q := u.Query(); q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "10")
		u.RawQuery = q.Encode()
	}
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, errkind.New(errkind.Invalid, "--db %s: %v", where, err)
	}
	db.SetMaxOpenConns(4)
	d := postgresDialect{where: where}
	s := &Store{DB: &DB{rebound[*sql.DB]{db, d}}, Path: where, d: d, url: u.String()}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (postgresDialect) name() string           { return "postgres" }
func (postgresDialect) rebind(q string) string { return dollarPlaceholders(q) }
func (postgresDialect) migrationDir() string   { return "migrations/postgres" }

func (postgresDialect) busy(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03" // lock_not_available
}

func (d postgresDialect) begin(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, d.unreachable(err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", BusyTimeout.Milliseconds())); err != nil {
		tx.Rollback()
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(writeLock)); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// unreachable names the server an error came from, with what to check.
func (d postgresDialect) unreachable(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("%s: %w", d.where, err))
	}
	return errkind.Wrap(errkind.Infra, fmt.Errorf("cannot reach %s: %w (is the server running? try pg_isready)", d.where, err))
}

func (d postgresDialect) version(ctx context.Context, db *sql.DB) (int, error) {
	var table sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT to_regclass('cascade_schema')::text").Scan(&table); err != nil {
		return 0, d.unreachable(err)
	}
	if !table.Valid {
		return 0, nil
	}
	var v int
	if err := db.QueryRowContext(ctx, "SELECT version FROM cascade_schema").Scan(&v); err != nil {
		return 0, errkind.New(errkind.Invalid, "%s: its cascade_schema table holds no version (%v); it is not a cascade database, or it is damaged", d.where, err)
	}
	return v, nil
}

func (d postgresDialect) lockedVersion(ctx context.Context, tx *sql.Tx) (int, bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&n); err != nil {
		return 0, false, d.unreachable(err)
	}
	var table sql.NullString
	if err := tx.QueryRowContext(ctx, "SELECT to_regclass('cascade_schema')::text").Scan(&table); err != nil {
		return 0, false, d.unreachable(err)
	}
	if !table.Valid {
		return 0, n == 0, nil
	}
	var v int
	if err := tx.QueryRowContext(ctx, "SELECT version FROM cascade_schema").Scan(&v); err != nil {
		return 0, false, errkind.New(errkind.Invalid, "%s: its cascade_schema table holds no version (%v); it is not a cascade database, or it is damaged", d.where, err)
	}
	return v, false, nil
}

func (postgresDialect) setVersion(ctx context.Context, tx *sql.Tx, v int) error {
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS cascade_schema (version INTEGER NOT NULL)"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM cascade_schema"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO cascade_schema (version) VALUES ($1)", v)
	return err
}
