package graph

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/suggest"
)

// Workspace is the dependency graph of a scanned workspace: one node per
// repo, with the module-level edges behind every repo edge.
type Workspace struct {
	Repos []scan.Repo
	*Graph
	// Edges holds, for every repo, the requirements on other workspace repos
	// that make its edges, sorted by required repo then module.
	Edges [][]Edge
	// Warnings are problems found while building the graph (duplicate
	// module names), after the repos' own warnings.
	Warnings []string

	byRepo   map[string]int
	byModule map[string]int
}

// Edge is one requirement of a repo on another workspace repo.
type Edge struct {
	From, To int
	// FromModule requires Module (empty for a catalog dependency).
	FromModule string
	Module     string
	Version    string
	Dev        bool
	Indirect   bool
	// Via is "go", "npm" or "catalog".
	Via string
}

// Build makes the graph of the scanned repos.
func Build(repos []scan.Repo) *Workspace {
	w := &Workspace{Repos: repos, byRepo: map[string]int{}, byModule: map[string]int{}}
	for i, r := range repos {
		w.byRepo[r.Name] = i
		w.Warnings = append(w.Warnings, r.Warnings...)
	}
	type modKey struct{ eco, name string }
	owner := map[modKey]int{}
	for i, r := range repos {
		for _, m := range r.Modules {
			k := modKey{m.Ecosystem, m.Name}
			if j, ok := owner[k]; ok && j != i {
				w.Warnings = append(w.Warnings, fmt.Sprintf("%s module %s is in two repos, %s and %s; cascade uses the one in %s (rename or remove the other)",
					m.Ecosystem, m.Name, repos[j].Name, r.Name, repos[j].Name))
				continue
			}
			owner[k] = i
			if _, ok := w.byModule[m.Name]; !ok {
				w.byModule[m.Name] = i
			}
		}
	}
	// Catalog entity names, matched like repo names.
	entity := map[string]int{}
	for i, r := range repos {
		for _, e := range r.Catalog {
			if e.Name != "" {
				entity[e.Name] = i
			}
		}
	}
	w.Edges = make([][]Edge, len(repos))
	var indirect []Edge
	add := func(e Edge) {
		if e.From == e.To {
			return // a module of a repo requiring another module of the same repo
		}
		if e.Indirect {
			indirect = append(indirect, e)
			return
		}
		w.Edges[e.From] = append(w.Edges[e.From], e)
	}
	for i, r := range repos {
		for _, m := range r.Modules {
			for _, req := range m.Requires {
				j, ok := owner[modKey{m.Ecosystem, req.Module}]
				if !ok && m.Ecosystem == scan.NPM {
					j, ok = w.npmTarget(i, req)
				}
				if !ok {
					continue
				}
				add(Edge{From: i, To: j, FromModule: m.Name, Module: req.Module, Version: req.Version, Dev: req.Dev, Indirect: req.Indirect, Via: m.Ecosystem})
			}
		}
		for _, e := range r.Catalog {
			for _, ref := range e.DependsOn {
				j, ok := entity[ref.Name]
				if !ok {
					j, ok = w.byRepo[ref.Name]
				}
				if ok {
					add(Edge{From: i, To: j, FromModule: e.Name, Module: ref.Raw, Via: "catalog"})
				}
			}
		}
	}
	// An indirect Go requirement records a module needed only through
	// another module. It makes an edge only when no path of direct edges
	// explains it (the module in between is outside the workspace);
	// otherwise depth would be understated.
	direct := w.graphOf(w.Edges)
	reach := map[int][]bool{}
	for _, e := range indirect {
		seen, ok := reach[e.From]
		if !ok {
			seen = make([]bool, len(repos))
			for _, r := range direct.Upstream(e.From, false).Items {
				seen[r.Node] = true
			}
			reach[e.From] = seen
		}
		if !seen[e.To] {
			w.Edges[e.From] = append(w.Edges[e.From], e)
		}
	}
	for i := range w.Edges {
		es := w.Edges[i]
		sort.SliceStable(es, func(a, b int) bool {
			if es[a].To != es[b].To {
				return repos[es[a].To].Name < repos[es[b].To].Name
			}
			return es[a].Module < es[b].Module
		})
	}
	w.Graph = w.graphOf(w.Edges)
	return w
}

func (w *Workspace) graphOf(edges [][]Edge) *Graph {
	names := make([]string, len(w.Repos))
	for i, r := range w.Repos {
		names[i] = r.Name
	}
	var pairs [][2]int
	for _, es := range edges {
		for _, e := range es {
			pairs = append(pairs, [2]int{e.From, e.To})
		}
	}
	return NewGraph(names, pairs)
}

// npmTarget matches a dependency that names no workspace package by its
// git URL (the repo name) or its file: path (a path inside another repo).
func (w *Workspace) npmTarget(from int, req scan.Requirement) (int, bool) {
	if req.RepoHint != "" {
		if j, ok := w.byRepo[req.RepoHint]; ok {
			return j, true
		}
	}
	if req.PathHint != "" {
		src := w.Repos[from]
		if src.Path != "" {
			abs := filepath.Join(src.Path, filepath.FromSlash(req.PathHint))
			for j, r := range w.Repos {
				if r.Path != "" && (abs == r.Path || strings.HasPrefix(abs, r.Path+string(filepath.Separator))) {
					return j, true
				}
			}
		}
		if j, ok := w.byRepo[path.Base(req.PathHint)]; ok {
			return j, true
		}
	}
	return 0, false
}

// Lookup finds a repo by repo name, Go module path or npm package name.
// An unknown name is an Invalid error that suggests the closest names.
func (w *Workspace) Lookup(name string) (int, error) {
	if i, ok := w.byRepo[name]; ok {
		return i, nil
	}
	if i, ok := w.byModule[name]; ok {
		return i, nil
	}
	// A package path inside a Go module names that module's repo.
	best, bestLen := -1, 0
	for mod, i := range w.byModule {
		if strings.HasPrefix(name, mod+"/") && len(mod) > bestLen {
			best, bestLen = i, len(mod)
		}
	}
	if best >= 0 {
		return best, nil
	}
	msg := fmt.Sprintf("no repo, Go module or npm package named %q in the workspace", name)
	if s := w.suggest(name); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, ", ") + "?"
	} else {
		msg += "; `cascade graph` lists every repo"
	}
	return 0, errkind.New(errkind.Invalid, "%s", msg)
}

// suggest returns up to three known names closest to name.
func (w *Workspace) suggest(name string) []string {
	type cand struct {
		name string
		dist int
	}
	var cands []cand
	seen := map[string]bool{}
	best := -1
	lower := strings.ToLower(name)
	consider := func(known string) {
		if seen[known] {
			return
		}
		seen[known] = true
		k := strings.ToLower(known)
		d := suggest.Distance(lower, k)
		switch {
		case d <= max(1, len(name)/3):
			// a near miss: keep only the nearest ones, below
		case len(name) >= 3 && strings.Contains(k, lower):
			d = -1 // a part of a name: always worth showing
		default:
			return
		}
		if d >= 0 && (best < 0 || d < best) {
			best = d
		}
		cands = append(cands, cand{known, d})
	}
	for _, r := range w.Repos {
		consider(r.Name)
	}
	for m := range w.byModule {
		consider(m)
	}
	// Near misses first, nearest first; then names that contain the input.
	rank := func(c cand) int {
		if c.dist < 0 {
			return 1 << 20
		}
		return c.dist
	}
	sort.Slice(cands, func(a, b int) bool {
		if ra, rb := rank(cands[a]), rank(cands[b]); ra != rb {
			return ra < rb
		}
		return cands[a].name < cands[b].name
	})
	var out []string
	for _, c := range cands {
		if len(out) == 3 {
			break
		}
		if c.dist >= 0 && c.dist > best {
			continue
		}
		out = append(out, c.name)
	}
	return out
}

// Order returns the repos in release order, upstream first, as levels: a
// repo's level is one more than the highest level of what it requires.
// Members of a cycle share a group inside their level. Within a level,
// groups are sorted by name.
func (w *Workspace) Order() [][][]int {
	comps := w.Components()
	compOf := make([]int, w.Len())
	for ci, c := range comps {
		for _, v := range c {
			compOf[v] = ci
		}
	}
	level := make([]int, len(comps))
	maxLevel := 0
	for ci, c := range comps { // requirements come first
		for _, v := range c {
			for _, u := range w.Requires(v) {
				if cu := compOf[u]; cu != ci && level[cu]+1 > level[ci] {
					level[ci] = level[cu] + 1
				}
			}
		}
		maxLevel = max(maxLevel, level[ci])
	}
	levels := make([][][]int, maxLevel+1)
	for ci, c := range comps {
		levels[level[ci]] = append(levels[level[ci]], c)
	}
	for _, l := range levels {
		sort.Slice(l, func(a, b int) bool { return w.Name(l[a][0]) < w.Name(l[b][0]) })
	}
	if len(comps) == 0 {
		return nil
	}
	return levels
}

// ProdReachable marks the repos reachable from start (downstream or
// upstream) through requirements that are not dev-only. A repo reached
// only through dev requirements is affected by tests alone.
func (w *Workspace) ProdReachable(start int, downstream bool) []bool {
	prodOut := make([][]int, len(w.Repos))
	for _, es := range w.Edges {
		for _, e := range es {
			if e.Dev {
				continue
			}
			if downstream {
				prodOut[e.To] = append(prodOut[e.To], e.From)
			} else {
				prodOut[e.From] = append(prodOut[e.From], e.To)
			}
		}
	}
	seen := make([]bool, len(w.Repos))
	seen[start] = true
	queue := []int{start}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range prodOut[u] {
			if !seen[v] {
				seen[v] = true
				queue = append(queue, v)
			}
		}
	}
	return seen
}
