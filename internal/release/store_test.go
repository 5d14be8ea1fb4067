package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/store"
)

func TestStoreRefusesForeignAndNewerDatabases(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.DB.Exec("PRAGMA user_version = 99")
	s.Close()
	if _, err := store.Open(ctx, path); err == nil || !strings.Contains(err.Error(), "written by a newer cascade (schema 99") {
		t.Errorf("newer schema: %v", err)
	}
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o644)
	if _, err := store.Open(ctx, junk); err == nil || !strings.Contains(err.Error(), "is not a cascade database") {
		t.Errorf("junk file: %v", err)
	}
	// Opening twice applies the migrations once.
	fresh := filepath.Join(dir, "fresh.db")
	for range 2 {
		s, err := store.Open(ctx, fresh)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}
