package plan

import (
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
	off := perfCache{dir: dir, off: true}
	off.put(k1, s)
	if _, ok := off.get(k1); ok {
		t.Fatal("an off cache returned samples")
	}
	on := perfCache{dir: dir}
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
	pol := DefaultPerfPolicy()
	if diff := cmp.Diff(s.Compare("app", pol), got.Compare("app", pol)); diff != "" {
		t.Errorf("the verdict from cached samples differs:\n%s", diff)
	}
}
