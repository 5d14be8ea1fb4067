package plan

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPerfCache: samples come back as stored; --no-cache (off) reads
// nothing but still stores; a different key finds nothing; the verdict is
// computed from the samples again, so a cached check decides as the first.
func TestPerfCache(t *testing.T) {
	dir := t.TempDir()
	s := &BenchSamples{Runs: 4,
		Base: map[BenchKey][]float64{{Pkg: "p", Name: "BenchmarkA"}: {1, 1.1, 0.9, 1}, {Pkg: "p", Name: "BenchmarkOld"}: {2, 2, 2, 2}},
		Head: map[BenchKey][]float64{{Pkg: "p", Name: "BenchmarkA"}: {2, 2.1, 1.9, 2}},
	}
	k1 := perfKey{Repo: "app", Base: "b", Head: "h", Command: "go test -bench ."}.sum()
	k2 := perfKey{Repo: "app", Base: "b", Head: "h2", Command: "go test -bench ."}.sum()
	if k1 == k2 {
		t.Fatal("keys of different heads are equal")
	}
	off := newPerfCache(dir, true)
	off.put(k1, s)
	if _, ok := off.get(k1); ok {
		t.Fatal("an off cache returned samples")
	}
	on := newPerfCache(dir, false)
	got, ok := on.get(k1)
	if !ok {
		t.Fatal("samples stored with the cache off were not stored")
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("samples changed through the cache (-stored +read):\n%s", diff)
	}
	if _, ok := on.get(k2); ok {
		t.Error("another key found samples")
	}
	// An entry edited by anyone without the installation's secret is
	// discarded, not trusted.
	files, _ := filepath.Glob(filepath.Join(dir, "perf", k1[:2], k1+".json"))
	if len(files) != 1 {
		t.Fatalf("stored entry not found: %v", files)
	}
	data, _ := os.ReadFile(files[0])
	if err := os.WriteFile(files[0], bytes.Replace(data, []byte("2.1"), []byte("0.1"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := on.get(k1); ok {
		t.Error("an edited entry was read")
	}
	pol := DefaultPerfPolicy()
	if diff := cmp.Diff(s.Compare("app", pol), got.Compare("app", pol)); diff != "" {
		t.Errorf("the verdict from cached samples differs:\n%s", diff)
	}
}
