package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/errkind"
)

func TestDollarPlaceholders(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		{"INSERT INTO t VALUES (?, 'a?b', ?)", "INSERT INTO t VALUES ($1, 'a?b', $2)"},
		{`SELECT "odd?name" FROM t WHERE x = ?`, `SELECT "odd?name" FROM t WHERE x = $1`},
		{"SELECT 'it''s ?' , ?", "SELECT 'it''s ?' , $1"},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
	} {
		if got := dollarPlaceholders(c.in); got != c.want {
			t.Errorf("dollarPlaceholders(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "x", "state.db")
	s, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != "sqlite" || s.Path != path {
		t.Errorf("sqlite:PATH opened %s at %q", s.Backend(), s.Path)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("sqlite:PATH made no file at PATH: %v", err)
	}
	for _, bad := range []struct{ url, want string }{
		{"mysql://root@localhost/cascade", "not mysql"},
		{"sqlite:", "names no file"},
		{"", "no database given"},
	} {
		_, err := Open(ctx, bad.url)
		if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Open(%q): %v (kind %v), want bad input saying %q", bad.url, err, errkind.Of(err), bad.want)
		}
	}
	// A server that does not answer is an infrastructure error naming it,
	// without the password.
	_, err = Open(ctx, "postgres://u:secret@127.0.0.1:1/db")
	if err == nil || errkind.Of(err) != errkind.Infra || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "cannot reach postgres://u:xxxxx@127.0.0.1:1/db") {
		t.Errorf("unreachable server: %v (kind %v)", err, errkind.Of(err))
	}
}
