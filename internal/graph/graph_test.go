package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// names: a b c d e f; edges mean "requires".
func sample() *Graph {
	names := []string{"a", "b", "c", "d", "e", "f"}
	// d requires b and c; b and c require a; e requires d; f is alone.
	edges := [][2]int{{3, 1}, {3, 2}, {1, 0}, {2, 0}, {4, 3}, {4, 3}}
	return NewGraph(names, edges)
}

type reach struct {
	Name  string
	Depth int
	Path  []string
}

func flat(g *Graph, rs *Reached) []reach {
	var out []reach
	for _, r := range rs.Items {
		var p []string
		for _, n := range rs.Path(r.Node) {
			p = append(p, g.Name(n))
		}
		out = append(out, reach{g.Name(r.Node), r.Depth, p})
	}
	return out
}

func TestDownstreamUpstream(t *testing.T) {
	g := sample()
	tests := []struct {
		name   string
		got    *Reached
		want   []reach
		direct bool
	}{
		{"downstream a", g.Downstream(0, false), []reach{
			{"b", 1, []string{"a", "b"}},
			{"c", 1, []string{"a", "c"}},
			{"d", 2, []string{"a", "b", "d"}}, // b before c by name
			{"e", 3, []string{"a", "b", "d", "e"}},
		}, false},
		{"downstream a direct", g.Downstream(0, true), []reach{
			{"b", 1, []string{"a", "b"}},
			{"c", 1, []string{"a", "c"}},
		}, true},
		{"upstream e", g.Upstream(4, false), []reach{
			{"d", 1, []string{"e", "d"}},
			{"b", 2, []string{"e", "d", "b"}},
			{"c", 2, []string{"e", "d", "c"}},
			{"a", 3, []string{"e", "d", "b", "a"}},
		}, false},
		{"upstream f", g.Upstream(5, false), nil, false},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, flat(g, tt.got)); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestPathsDoNotDependOnInputOrder(t *testing.T) {
	names := []string{"z", "y", "x", "base"}
	// z and y both require base; x requires z and y.
	g1 := NewGraph(names, [][2]int{{0, 3}, {1, 3}, {2, 0}, {2, 1}})
	g2 := NewGraph(names, [][2]int{{2, 1}, {2, 0}, {1, 3}, {0, 3}})
	if diff := cmp.Diff(flat(g1, g1.Downstream(3, false)), flat(g2, g2.Downstream(3, false))); diff != "" {
		t.Errorf("downstream depends on edge order (-g1 +g2):\n%s", diff)
	}
	got := flat(g1, g1.Downstream(3, false))
	if want := []string{"base", "y", "x"}; !cmp.Equal(got[2].Path, want) {
		t.Errorf("path to x = %v, want %v (through y, first by name)", got[2].Path, want)
	}
}

func TestCyclesAndComponents(t *testing.T) {
	// a → b → c → a is a cycle; c → d; e requires itself; f → a.
	names := []string{"a", "b", "c", "d", "e", "f"}
	g := NewGraph(names, [][2]int{{0, 1}, {1, 2}, {2, 0}, {2, 3}, {4, 4}, {5, 0}})
	var cycles [][]string
	for _, c := range g.Cycles() {
		var s []string
		for _, n := range c {
			s = append(s, g.Name(n))
		}
		cycles = append(cycles, s)
	}
	want := [][]string{{"a", "b", "c", "a"}, {"e", "e"}}
	if diff := cmp.Diff(want, cycles); diff != "" {
		t.Errorf("cycles mismatch (-want +got):\n%s", diff)
	}
	// Every component comes after what it requires.
	pos := map[int]int{}
	for i, comp := range g.Components() {
		for _, v := range comp {
			pos[v] = i
		}
	}
	for v := range names {
		for _, u := range g.Requires(v) {
			if pos[int(u)] > pos[v] {
				t.Errorf("%s comes before its requirement %s", names[v], names[u])
			}
		}
	}
}

func TestCycleWalkVisitsEveryMember(t *testing.T) {
	// A strongly connected component with no simple cycle through all of
	// its members: a ⇄ b, a ⇄ c.
	names := []string{"a", "b", "c"}
	g := NewGraph(names, [][2]int{{0, 1}, {1, 0}, {0, 2}, {2, 0}})
	cycles := g.Cycles()
	if len(cycles) != 1 {
		t.Fatalf("cycles = %v", cycles)
	}
	c := cycles[0]
	seen := map[int]bool{}
	for i, v := range c {
		seen[v] = true
		if i > 0 && !containsEdge(g, c[i-1], v) {
			t.Errorf("walk %v uses a missing edge %s → %s", c, names[c[i-1]], names[v])
		}
	}
	if len(seen) != 3 || c[0] != c[len(c)-1] {
		t.Errorf("walk %v does not close through every member", c)
	}
}

func containsEdge(g *Graph, u, v int) bool {
	for _, w := range g.Requires(u) {
		if int(w) == v {
			return true
		}
	}
	return false
}

func TestDeepChainDoesNotOverflow(t *testing.T) {
	n := 200000
	names := make([]string, n)
	edges := make([][2]int, 0, n)
	for i := range names {
		names[i] = fmt.Sprintf("m%07d", i)
		if i > 0 {
			edges = append(edges, [2]int{i, i - 1})
		}
	}
	edges = append(edges, [2]int{0, n - 1}) // one huge cycle
	g := NewGraph(names, edges)
	if c := g.Cycles(); len(c) != 1 || len(c[0]) != n+1 {
		t.Fatalf("want one cycle through all %d nodes", n)
	}
}

// synthetic builds a random acyclic graph of n nodes and m edges: every
// edge goes from a higher index to a lower one.
func synthetic(n, m int) *Graph {
	rng := rand.New(rand.NewPCG(1, 2))
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("example.com/org/mod%05d", i)
	}
	edges := make([][2]int, 0, m)
	for len(edges) < m {
		a, b := rng.IntN(n), rng.IntN(n)
		if a == b {
			continue
		}
		if a < b {
			a, b = b, a
		}
		edges = append(edges, [2]int{a, b})
	}
	return NewGraph(names, edges)
}

// BenchmarkDownstream measures a full transitive downstream query, with
// depths and paths, on a graph of 10,000 modules and 50,000 edges. The
// start is the node, among the lowest, with the largest downstream.
func BenchmarkDownstream(b *testing.B) {
	g := synthetic(10000, 50000)
	start := largest(g)
	reached := 0
	for b.Loop() {
		reached = len(g.Downstream(start, false).Items)
	}
	b.ReportMetric(float64(reached), "reached")
}

// BenchmarkDownstreamWithPaths also materialises every path, as the
// command line does for its output.
func BenchmarkDownstreamWithPaths(b *testing.B) {
	g := synthetic(10000, 50000)
	start := largest(g)
	for b.Loop() {
		r := g.Downstream(start, false)
		for _, it := range r.Items {
			r.Path(it.Node)
		}
	}
}

func BenchmarkDownstreamDirect(b *testing.B) {
	g := synthetic(10000, 50000)
	for b.Loop() {
		g.Downstream(10, true)
	}
}

// largest returns the node, among the 50 lowest, whose downstream is
// largest: the worst case for a query.
func largest(g *Graph) int {
	start, most := 0, 0
	for i := range 50 {
		if n := len(g.Downstream(i, false).Items); n > most {
			start, most = i, n
		}
	}
	return start
}

func TestSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ n, maxDepth, maxRank int }{{10, 5, 100}, {5000, 40, 10000}, {3000, 70000, 10}, {3000, 3, 1 << 20}} {
		keys := make([]uint64, tc.n)
		for i := range keys {
			keys[i] = uint64(rng.IntN(tc.maxDepth))<<32 | uint64(rng.IntN(tc.maxRank))
		}
		want := slices.Clone(keys)
		slices.Sort(want)
		sortKeys(keys)
		if !slices.Equal(keys, want) {
			t.Errorf("sortKeys(%+v) differs from slices.Sort", tc)
		}
	}
}
