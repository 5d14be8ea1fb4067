// Package report renders cascade's results as text, JSON, Graphviz DOT and
// Mermaid. Logic packages return values; only this package formats them.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/graph"
)

// GraphJSON is the JSON document of `cascade graph --format json`.
type GraphJSON struct {
	Repos    []RepoJSON `json:"repos"`
	Cycles   [][]string `json:"cycles"`
	Order    [][]string `json:"order"`
	Warnings []string   `json:"warnings"`
}

// RepoJSON is one repo of the graph.
type RepoJSON struct {
	Name     string        `json:"name"`
	Path     string        `json:"path,omitempty"`
	URL      string        `json:"url,omitempty"`
	Branch   string        `json:"branch,omitempty"`
	Tier     string        `json:"tier,omitempty"`
	Commit   string        `json:"commit"`
	Modules  []ModuleJSON  `json:"modules"`
	Requires []RequireJSON `json:"requires"`
}

// ModuleJSON is one module of a repo.
type ModuleJSON struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
	Dir       string `json:"dir"`
	Version   string `json:"version"`
}

// RequireJSON is one requirement on another workspace repo.
type RequireJSON struct {
	Repo       string `json:"repo"`
	Module     string `json:"module"`
	Version    string `json:"version"`
	Dev        bool   `json:"dev"`
	FromModule string `json:"from_module,omitempty"`
	Via        string `json:"via"`
	Indirect   bool   `json:"indirect,omitempty"`
}

// Graph converts a workspace graph to its JSON document.
func Graph(g *graph.Workspace) GraphJSON {
	doc := GraphJSON{Repos: []RepoJSON{}, Cycles: [][]string{}, Order: [][]string{}, Warnings: g.Warnings}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	for i, r := range g.Repos {
		rj := RepoJSON{Name: r.Name, Path: r.Path, URL: gitrepo.RedactURL(r.URL), Branch: r.Branch, Tier: r.Tier, Commit: r.Commit,
			Modules: []ModuleJSON{}, Requires: []RequireJSON{}}
		for _, m := range r.Modules {
			rj.Modules = append(rj.Modules, ModuleJSON{Name: m.Name, Ecosystem: m.Ecosystem, Dir: m.Dir, Version: m.Version})
		}
		for _, e := range g.Edges[i] {
			rj.Requires = append(rj.Requires, RequireJSON{Repo: g.Repos[e.To].Name, Module: e.Module, Version: e.Version,
				Dev: e.Dev, FromModule: e.FromModule, Via: e.Via, Indirect: e.Indirect})
		}
		doc.Repos = append(doc.Repos, rj)
	}
	for _, c := range g.Cycles() {
		doc.Cycles = append(doc.Cycles, names(g, c))
	}
	for _, level := range g.Order() {
		var l []string
		for _, group := range level {
			l = append(l, names(g, group)...)
		}
		doc.Order = append(doc.Order, l)
	}
	return doc
}

func names(g *graph.Workspace, nodes []int) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = g.Name(n)
	}
	return out
}

// JSON writes v as one indented JSON document.
func JSON(w io.Writer, v any) error {
	data, err := marshal(v)
	if err != nil {
		return err
	}
	data = versioned(data)
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err = w.Write(b.Bytes())
	return err
}

// SchemaVersion is the version of the JSON documents cascade prints: a
// consumer reads the top-level "schema_version" first. It changes when a
// field changes meaning or goes away (new fields do not change it).
const SchemaVersion = 1

// versioned gives a JSON object its "schema_version" as the first field,
// unless it has one.
func versioned(data []byte) []byte {
	if len(data) == 0 || data[0] != '{' {
		return data
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return data
	}
	if _, ok := fields["schema_version"]; ok {
		return data
	}
	head := fmt.Sprintf(`{"schema_version":%d`, SchemaVersion)
	if len(fields) == 0 {
		return []byte(head + "}")
	}
	return append([]byte(head+","), data[1:]...)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func requirement(g *graph.Workspace, e graph.Edge) string {
	var s string
	switch e.Via {
	case "catalog":
		s = "catalog dependsOn " + e.Module
	default:
		s = e.Module
		if e.Version != "" {
			s += " " + e.Version
		}
	}
	var notes []string
	if e.Dev {
		notes = append(notes, "dev")
	}
	if e.Indirect {
		notes = append(notes, "indirect")
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

// GraphText writes the graph for a person: each repo with its modules and
// what it requires, then the release order and any cycles.
func GraphText(w io.Writer, g *graph.Workspace) error {
	for i, r := range g.Repos {
		if i > 0 {
			fmt.Fprintln(w)
		}
		where := r.Branch
		if r.Commit != "" {
			where = strings.TrimSpace(where + " @ " + short(r.Commit))
		}
		if r.Tier != "" {
			where += ", tier " + r.Tier
		}
		fmt.Fprintf(w, "%s (%s)\n", r.Name, where)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, m := range r.Modules {
			v := m.Version
			if v == "" {
				v = "(untagged)"
			}
			fmt.Fprintf(tw, "  %s module\t%s %s%s\n", m.Ecosystem, m.Name, v, dirNote(m.Dir))
		}
		es := g.Edges[i]
		for k := 0; k < len(es); {
			var reqs []string
			to := es[k].To
			for ; k < len(es) && es[k].To == to; k++ {
				reqs = append(reqs, requirement(g, es[k]))
			}
			fmt.Fprintf(tw, "  requires\t%s: %s\n", g.Repos[to].Name, strings.Join(reqs, "; "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	doc := Graph(g)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Release order (upstream first):")
	for i, l := range doc.Order {
		fmt.Fprintf(w, "  %d. %s\n", i+1, strings.Join(l, ", "))
	}
	for _, c := range doc.Cycles {
		fmt.Fprintf(w, "warning: dependency cycle: %s\n", strings.Join(c, " → "))
	}
	return nil
}

func dirNote(dir string) string {
	if dir == "." {
		return ""
	}
	return " (in " + dir + "/)"
}

// GraphDOT writes the graph in Graphviz DOT: an arrow from each repo to
// what it requires, dashed for dev-only requirements.
func GraphDOT(w io.Writer, g *graph.Workspace) error {
	fmt.Fprintln(w, "digraph cascade {")
	fmt.Fprintln(w, "  rankdir=BT;")
	fmt.Fprintln(w, "  node [shape=box, style=rounded];")
	for _, r := range g.Repos {
		label := r.Name
		for _, m := range r.Modules {
			label += `\n` + m.Name
			if m.Version != "" {
				label += " " + m.Version
			}
		}
		fmt.Fprintf(w, "  %s [label=%s];\n", dotQuote(r.Name), dotQuote(label))
	}
	for i, es := range g.Edges {
		for _, e := range collapse(es) {
			attrs := []string{"label=" + dotQuote(e.label)}
			if e.dev {
				attrs = append(attrs, "style=dashed")
			}
			fmt.Fprintf(w, "  %s -> %s [%s];\n", dotQuote(g.Repos[i].Name), dotQuote(g.Repos[e.to].Name), strings.Join(attrs, ", "))
		}
	}
	fmt.Fprintln(w, "}")
	return nil
}

// dotQuote quotes s as a DOT string; a `\n` already in s stays a line break.
func dotQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// GraphMermaid writes the graph as a Mermaid flowchart.
func GraphMermaid(w io.Writer, g *graph.Workspace) error {
	fmt.Fprintln(w, "flowchart BT")
	id := func(i int) string { return fmt.Sprintf("r%d", i) }
	for i, r := range g.Repos {
		fmt.Fprintf(w, "  %s[\"%s\"]\n", id(i), strings.ReplaceAll(r.Name, `"`, "'"))
	}
	for i, es := range g.Edges {
		for _, e := range collapse(es) {
			arrow := "-->"
			if e.dev {
				arrow = "-.->"
			}
			label := strings.NewReplacer(`"`, "'", "|", "/").Replace(e.label)
			fmt.Fprintf(w, "  %s %s|\"%s\"| %s\n", id(i), arrow, label, id(e.to))
		}
	}
	return nil
}

type collapsed struct {
	to    int
	label string
	dev   bool
}

// collapse merges the module edges between one pair of repos into one
// drawn edge, labelled with the versions required.
func collapse(es []graph.Edge) []collapsed {
	var out []collapsed
	for _, e := range es {
		label := e.Version
		if e.Via == "catalog" {
			label = "dependsOn"
		}
		if n := len(out); n > 0 && out[n-1].to == e.To {
			if label != "" && !strings.Contains(out[n-1].label, label) {
				out[n-1].label = strings.TrimPrefix(out[n-1].label+", "+label, ", ")
			}
			out[n-1].dev = out[n-1].dev && e.Dev
			continue
		}
		out = append(out, collapsed{to: e.To, label: label, dev: e.Dev})
	}
	return out
}
