package dashboard

import (
	"slices"
	"sort"

	"github.com/cascade-dev/cascade/internal/graph"
)

// Graph drawing sizes, in SVG user units.
const (
	nodeW   = 200
	nodeH   = 40
	gapX    = 24
	gapY    = 56
	margin  = 16
	maxName = 24 // characters of a repo name shown in its box
)

// svgGraph is the workspace graph laid out in layers by release order:
// upstream at the top, each repo below everything it requires.
type svgGraph struct {
	Width, Height int
	Nodes         []svgNode
	Edges         []svgEdge
	Levels        int
}

type svgNode struct {
	Name   string // the full name (title, link)
	Label  string // shortened to fit the box
	X, Y   int
	TextX  int
	TextY  int
	Level  int
	Cycle  bool
	Width  int
	Height int
}

type svgEdge struct {
	From, To       string // From requires To
	X1, Y1, X2, Y2 int
	Dev            bool
}

// layout places every repo of g: one row per release-order level, each
// repo under what it requires where the row leaves room, a cycle's
// members side by side.
func layout(g *graph.Workspace) svgGraph {
	var out svgGraph
	pos := make([]int, g.Len()) // node -> index into out.Nodes, -1 until placed
	for i := range pos {
		pos[i] = -1
	}
	right := margin // the right edge of the widest row
	levels := g.Order()
	for li, level := range levels {
		// Within a level, each group sits under the mean position of what
		// it requires, as far as the boxes before it in the row allow;
		// groups requiring nothing keep name order, first.
		center := func(group []int) float64 {
			sum, n := 0.0, 0
			for _, v := range group {
				for _, u := range g.Requires(v) {
					if ni := pos[u]; ni >= 0 {
						sum += float64(out.Nodes[ni].X)
						n++
					}
				}
			}
			if n == 0 {
				return -1
			}
			return sum / float64(n)
		}
		groups := slices.Clone(level)
		centers := map[int]float64{}
		for _, gr := range groups {
			centers[gr[0]] = center(gr)
		}
		sort.SliceStable(groups, func(a, b int) bool { return centers[groups[a][0]] < centers[groups[b][0]] })
		next := margin
		for _, group := range groups {
			x := max(next, int(centers[group[0]]))
			for _, n := range group {
				y := margin + li*(nodeH+gapY)
				name := g.Name(n)
				pos[n] = len(out.Nodes)
				out.Nodes = append(out.Nodes, svgNode{Name: name, Label: shorten(name, maxName), X: x, Y: y,
					TextX: x + nodeW/2, TextY: y + nodeH/2 + 5, Level: li + 1, Cycle: len(group) > 1, Width: nodeW, Height: nodeH})
				x += nodeW + gapX
			}
			next = x
		}
		right = max(right, next-gapX)
	}
	for from, es := range g.Edges {
		seen := map[int]bool{}
		for _, e := range es {
			if seen[e.To] {
				continue
			}
			seen[e.To] = true
			a, b := out.Nodes[pos[from]], out.Nodes[pos[e.To]]
			dev := true
			for _, o := range es {
				if o.To == e.To && !o.Dev {
					dev = false
				}
			}
			// From the bottom of what is required to the top of the repo
			// requiring it (or across, inside a cycle's row).
			ed := svgEdge{From: a.Name, To: b.Name, Dev: dev, X1: b.X + nodeW/2, Y1: b.Y + nodeH, X2: a.X + nodeW/2, Y2: a.Y}
			if b.Y >= a.Y {
				ed.Y1, ed.Y2 = b.Y+nodeH/2, a.Y+nodeH/2
			}
			out.Edges = append(out.Edges, ed)
		}
	}
	out.Levels = len(levels)
	out.Width = max(right, margin+nodeW) + margin
	out.Height = 2*margin + max(len(levels), 1)*(nodeH+gapY) - gapY
	return out
}

// shorten cuts s to n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
