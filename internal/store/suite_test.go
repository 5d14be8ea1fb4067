package store_test

import (
	"testing"

	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// TestSuite runs the store suite on every backend: SQLite always,
// PostgreSQL where it can be reached (see storetest).
func TestSuite(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { storetest.Run(t, b) })
	}
}
