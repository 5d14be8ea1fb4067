package store_test

import (
	"context"
	"testing"

	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// BenchmarkAppend: one audit entry per write transaction, as every release
// state change writes, on each backend.
func BenchmarkAppend(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			s := storetest.Open(b, be.New(b))
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				err := s.Tx(ctx, func(tx *store.Tx) error {
					return store.Append(ctx, tx, 0, "p", "2026-01-01T00:00:00Z", "alice", "test", map[string]any{"i": i})
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
