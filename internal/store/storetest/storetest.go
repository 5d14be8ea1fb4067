// Package storetest is the test suite every store backend passes: the
// same cases run against SQLite and PostgreSQL. Backends lists the
// backends this machine can run; Postgres makes a fresh PostgreSQL
// database for one test.
//
// PostgreSQL is looked for at postgres://postgres@127.0.0.1:5432/postgres,
// or at the URL in CASCADE_TEST_POSTGRES. When it cannot be reached its
// tests skip, saying so, unless CASCADE_TEST_POSTGRES_REQUIRED=1 (CI sets
// it), which makes them fail.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// DefaultPostgres is where the tests look for PostgreSQL.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres"

// Backend is a kind of database the suite runs on.
type Backend struct {
	Name string
	// New returns the --db URL of a fresh, empty database for t, removed
	// when t ends.
	New func(t testing.TB) string
}

// Backends are SQLite and PostgreSQL.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", New: SQLite},
		{Name: "postgres", New: Postgres},
	}
}

// SQLite is a fresh SQLite database in t's temporary directory.
func SQLite(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "cascade.db")
}

// Postgres creates a database cascade_test_<random> on the test server
// and returns its URL; it is dropped when t ends.
func Postgres(t testing.TB) string {
	t.Helper()
	u := adminURL(t)
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if os.Getenv("CASCADE_TEST_POSTGRES_REQUIRED") == "1" {
			t.Fatalf("PostgreSQL at %s is unreachable (%v), and CASCADE_TEST_POSTGRES_REQUIRED=1", u.Redacted(), err)
		}
		t.Skipf("skipped: PostgreSQL at %s is unreachable (%v); start it, or set CASCADE_TEST_POSTGRES=URL (CASCADE_TEST_POSTGRES_REQUIRED=1 makes this a failure)", u.Redacted(), err)
	}
	return create(t, db, u, "")
}

// Copy makes a new test database holding what the PostgreSQL database at
// dbURL holds now (no one may be connected to it), dropped when t ends.
func Copy(t testing.TB, dbURL string) string {
	t.Helper()
	src, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u := adminURL(t)
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	return create(t, db, u, strings.TrimPrefix(src.Path, "/"))
}

// adminURL is the test server's URL (CASCADE_TEST_POSTGRES or
// DefaultPostgres), through which test databases are made and dropped.
func adminURL(t testing.TB) *url.URL {
	t.Helper()
	admin := os.Getenv("CASCADE_TEST_POSTGRES")
	if admin == "" {
		admin = DefaultPostgres
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("CASCADE_TEST_POSTGRES=%q: %v", admin, err)
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
		u.RawQuery = q.Encode()
	}
	return u
}

// create makes a database cascade_test_<random> (a copy of template, when
// given) through db, which it closes when t ends, and returns its URL.
func create(t testing.TB, db *sql.DB, u *url.URL, template string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	rand.Read(b[:])
	name := "cascade_test_" + hex.EncodeToString(b[:])
	q := "CREATE DATABASE " + name
	if template != "" {
		q += " TEMPLATE " + template
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		db.Close()
		t.Fatalf("creating the test database %s on %s: %v", name, u.Redacted(), err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping the test database %s: %v", name, err)
		}
	})
	fresh := *u
	fresh.Path = "/" + name
	return fresh.String()
}

// Raw opens the database at dbURL with its driver alone, as someone
// editing it by hand would: no migrations, no rebinding.
func Raw(t testing.TB, dbURL string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if strings.HasPrefix(dbURL, "postgres") {
		db, err = sql.Open("pgx", dbURL)
	} else {
		db, err = sql.Open("sqlite", strings.TrimPrefix(dbURL, "sqlite:"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// FromEnv is the database a test of the packages above the store keeps its
// state in: the SQLite file at sqlitePath, or, when CASCADE_TEST_STORE is
// "postgres", a fresh PostgreSQL database (see Postgres). It reports
// whether that is PostgreSQL, which callers pass to cascade with --db.
func FromEnv(t testing.TB, sqlitePath string) (dbURL string, postgres bool) {
	t.Helper()
	switch v := os.Getenv("CASCADE_TEST_STORE"); v {
	case "", "sqlite":
		return sqlitePath, false
	case "postgres":
		return Postgres(t), true
	default:
		t.Fatalf("CASCADE_TEST_STORE=%q: want sqlite or postgres", v)
	}
	return "", false
}
