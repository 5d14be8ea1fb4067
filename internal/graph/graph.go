// Package graph is the dependency graph of a workspace: repos as nodes, an
// edge from A to B when A requires B (through a Go module, an npm package
// or a catalog dependsOn), and the queries cascade needs: who is
// downstream or upstream of a repo and how far, a release order
// (upstream first) and the cycles that prevent one.
package graph

import (
	"slices"
	"sort"
)

// Graph is an immutable directed graph over nodes 0..N-1 with names.
// An edge u→v means u requires v: v is upstream of u.
type Graph struct {
	names  []string
	rank   []int32   // position of each node in name order
	byRank []int32   // node at each position in name order
	out    [][]int32 // requirements, sorted by name
	in     [][]int32 // dependents, sorted by name
}

// NewGraph builds a graph from node names and edges (from, to) by index.
// Duplicate edges and self-loops are kept once.
func NewGraph(names []string, edges [][2]int) *Graph {
	g := &Graph{names: names, out: make([][]int32, len(names)), in: make([][]int32, len(names))}
	for _, e := range edges {
		g.out[e[0]] = append(g.out[e[0]], int32(e[1]))
		g.in[e[1]] = append(g.in[e[1]], int32(e[0]))
	}
	// Order neighbours by name (then index) so that traversals, and so the
	// shortest paths they pick, do not depend on input order.
	rank := make([]int32, len(names))
	idx := make([]int32, len(names))
	for i := range idx {
		idx[i] = int32(i)
	}
	sort.SliceStable(idx, func(a, b int) bool { return names[idx[a]] < names[idx[b]] })
	for r, i := range idx {
		rank[i] = int32(r)
	}
	g.rank, g.byRank = rank, idx
	byRank := func(a, b int32) int { return int(rank[a] - rank[b]) }
	for i := range names {
		slices.SortFunc(g.out[i], byRank)
		g.out[i] = slices.Compact(g.out[i])
		slices.SortFunc(g.in[i], byRank)
		g.in[i] = slices.Compact(g.in[i])
	}
	return g
}

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.names) }

// Name returns node i's name.
func (g *Graph) Name(i int) string { return g.names[i] }

// Requires returns the nodes i requires directly, by name.
func (g *Graph) Requires(i int) []int32 { return g.out[i] }

// Dependents returns the nodes that require i directly, by name.
func (g *Graph) Dependents(i int) []int32 { return g.in[i] }

// Reach is a node found by a traversal: its depth (1 for a direct
// neighbour) and Via, the node before it on one shortest path from the start.
type Reach struct {
	Node  int
	Depth int
	Via   int
}

// Reached is the result of a traversal: the nodes found, nearest first and
// then by name, and the shortest paths to them.
type Reached struct {
	Start int
	Items []Reach
	// parent[v] is the node before v on the path to v, -1 if v was not reached.
	parent []int32
}

// Path returns one shortest path from the start to node, both included,
// or nil when node was not reached.
func (r *Reached) Path(node int) []int {
	if node != r.Start && r.parent[node] < 0 {
		return nil
	}
	n := 1
	for v := node; v != r.Start; v = int(r.parent[v]) {
		n++
	}
	p := make([]int, n)
	for i, v := n-1, node; i >= 0; i-- {
		p[i] = v
		v = int(r.parent[v])
	}
	return p
}

// Downstream returns every node that requires start, directly or
// transitively (only directly with direct).
func (g *Graph) Downstream(start int, direct bool) *Reached { return g.bfs(start, g.in, direct) }

// Upstream returns every node that start requires, directly or transitively.
func (g *Graph) Upstream(start int, direct bool) *Reached { return g.bfs(start, g.out, direct) }

func (g *Graph) bfs(start int, adj [][]int32, direct bool) *Reached {
	parent := make([]int32, len(g.names))
	for i := range parent {
		parent[i] = -1
	}
	parent[start] = int32(start)
	depth := make([]int32, len(g.names))
	// queue[1:] is the discovery order: level by level.
	queue := []int32{int32(start)}
	for head := 0; head < len(queue); head++ {
		u := queue[head]
		if direct && u != int32(start) {
			break
		}
		for _, v := range adj[u] {
			if parent[v] >= 0 {
				continue
			}
			parent[v] = u
			depth[v] = depth[u] + 1
			queue = append(queue, v)
		}
	}
	order := queue[1:]
	// List each level by name, for a stable, readable listing: sort packed
	// (depth, rank) integers, much cheaper than comparing names.
	keys := make([]uint64, len(order))
	for i, v := range order {
		keys[i] = uint64(depth[v])<<32 | uint64(g.rank[v])
	}
	sortKeys(keys)
	items := make([]Reach, len(keys))
	for i, k := range keys {
		v := g.byRank[uint32(k)]
		items[i] = Reach{Node: int(v), Depth: int(depth[v]), Via: int(parent[v])}
	}
	parent[start] = -1
	return &Reached{Start: start, Items: items, parent: parent}
}

// sortKeys sorts (depth<<32 | rank) keys. While depth and rank fit in 16
// bits each, it uses a radix sort of four byte-wide passes, linear in the
// number of keys; otherwise a comparison sort.
func sortKeys(keys []uint64) {
	if len(keys) < 256 {
		slices.Sort(keys)
		return
	}
	for _, k := range keys {
		if k>>48 != 0 || k&0xffff0000 != 0 {
			slices.Sort(keys)
			return
		}
	}
	packed := make([]uint32, len(keys))
	for i, k := range keys {
		packed[i] = uint32(k>>32)<<16 | uint32(k&0xffff)
	}
	tmp := make([]uint32, len(packed))
	for shift := 0; shift < 32; shift += 8 {
		var count [257]int
		for _, k := range packed {
			count[(k>>shift&0xff)+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, k := range packed {
			d := k >> shift & 0xff
			tmp[count[d]] = k
			count[d]++
		}
		packed, tmp = tmp, packed
	}
	for i, k := range packed {
		keys[i] = uint64(k>>16)<<32 | uint64(k&0xffff)
	}
}

// Components returns the strongly connected components in an order where
// every component comes after all the components it requires: upstream
// first, the order to release in. Members of a component are sorted by
// name; components of equal standing keep name order.
func (g *Graph) Components() [][]int {
	// Tarjan's algorithm, iterative so deep graphs cannot overflow the stack.
	n := len(g.names)
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int32
	var comps [][]int
	next := int32(0)
	type frame struct {
		v  int32
		ei int
	}
	// Visit roots in name order for a deterministic result.
	roots := make([]int, n)
	for i := range roots {
		roots[i] = i
	}
	sort.SliceStable(roots, func(a, b int) bool { return g.names[roots[a]] < g.names[roots[b]] })
	for _, root := range roots {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{v: int32(root)}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, int32(root))
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.ei < len(g.out[f.v]) {
				w := g.out[f.v][f.ei]
				f.ei++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{v: w})
				} else if onStack[w] && index[w] < low[f.v] {
					low[f.v] = index[w]
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				if low[v] < low[p] {
					low[p] = low[v]
				}
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, int(w))
					if w == v {
						break
					}
				}
				sort.Slice(comp, func(a, b int) bool { return g.names[comp[a]] < g.names[comp[b]] })
				comps = append(comps, comp)
			}
		}
	}
	// Tarjan emits a component only after every component it reaches:
	// requirements first, which is release order.
	return comps
}

// Cycles returns every dependency cycle: for each strongly connected
// component with more than one member (or a node that requires itself), a
// closed walk that starts and ends at its first member by name and passes
// through every member along real edges.
func (g *Graph) Cycles() [][]int {
	var cycles [][]int
	for _, comp := range g.Components() {
		if len(comp) == 1 {
			v := comp[0]
			if slices.Contains(g.out[v], int32(v)) {
				cycles = append(cycles, []int{v, v})
			}
			continue
		}
		cycles = append(cycles, g.walkThrough(comp))
	}
	sort.SliceStable(cycles, func(a, b int) bool { return g.names[cycles[a][0]] < g.names[cycles[b][0]] })
	return cycles
}

// walkThrough returns a closed walk inside the component comp that visits
// every member, joining shortest paths between successive unvisited members.
func (g *Graph) walkThrough(comp []int) []int {
	in := make(map[int]bool, len(comp))
	for _, v := range comp {
		in[v] = true
	}
	visited := map[int]bool{comp[0]: true}
	walk := []int{comp[0]}
	cur := comp[0]
	for _, target := range append(comp[1:], comp[0]) {
		if visited[target] && target != comp[0] {
			continue
		}
		p := g.pathWithin(cur, target, in)
		for _, v := range p[1:] {
			visited[v] = true
		}
		walk = append(walk, p[1:]...)
		cur = target
	}
	return walk
}

// pathWithin is a shortest path from a to b using only nodes in allowed.
func (g *Graph) pathWithin(a, b int, allowed map[int]bool) []int {
	parent := map[int]int{a: a}
	queue := []int{a}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, w := range g.out[u] {
			v := int(w)
			if !allowed[v] {
				continue
			}
			if v == b {
				path := []int{b}
				for x := u; x != a; x = parent[x] {
					path = append(path, x)
				}
				path = append(path, a)
				slices.Reverse(path)
				return path
			}
			if _, ok := parent[v]; !ok {
				parent[v] = u
				queue = append(queue, v)
			}
		}
	}
	return []int{a, b} // unreachable inside a strongly connected component
}
