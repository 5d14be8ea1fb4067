package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cascade-dev/cascade/internal/store"
)

// TestSynchronousFull: a committed release step must survive power loss,
// so every connection runs with synchronous=FULL (2).
func TestSynchronousFull(t *testing.T) {
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode int
	if err := s.DB.QueryRow("PRAGMA synchronous").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Errorf("PRAGMA synchronous = %d, want 2 (FULL)", mode)
	}
}
