package sandbox

import (
	"context"
	"testing"
)

// BenchmarkTrue measures the cost of the sandbox: `true` isolated and not
// (go test -bench True ./internal/sandbox).
func BenchmarkTrue(b *testing.B) {
	for _, unisolated := range []bool{false, true} {
		b.Run(map[bool]string{false: "isolated", true: "unisolated"}[unisolated], func(b *testing.B) {
			disabled.Store(unisolated)
			defer disabled.Store(false)
			for b.Loop() {
				res, err := Run(context.Background(), Cmd{Args: []string{"true"}})
				if err != nil || !res.OK() {
					b.Fatal(res, err)
				}
			}
		})
	}
}
