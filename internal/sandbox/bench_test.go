package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkTrue measures the cost of the sandbox: `true` isolated and not
// (go test -bench True ./internal/sandbox); "isolated-tree" runs it in a
// writable tree of 2,000 files, which the disk cap counts after the
// command; "isolated-overlay" sees that tree through an overlay (a tmpfs
// for its writes).
func BenchmarkTrue(b *testing.B) {
	tree := b.TempDir()
	for i := range 2000 {
		d := filepath.Join(tree, fmt.Sprint(i%40))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprint(i)), []byte("package x\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name       string
		unisolated bool
		dir        string
		overlay    []string
	}{{"isolated", false, "", nil}, {"unisolated", true, "", nil}, {"isolated-tree", false, tree, nil}, {"isolated-overlay", false, tree, []string{tree}}} {
		b.Run(bc.name, func(b *testing.B) {
			disabled.Store(bc.unisolated)
			defer disabled.Store(false)
			for b.Loop() {
				res, err := Run(context.Background(), Cmd{Args: []string{"true"}, Dir: bc.dir, Overlay: bc.overlay})
				if err != nil || !res.OK() {
					b.Fatal(res, err)
				}
			}
		})
	}
}
