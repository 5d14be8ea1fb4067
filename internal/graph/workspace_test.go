package graph

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/ecosystem/catalog"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/scan"
)

func goMod(name string, reqs ...scan.Requirement) scan.Module {
	return scan.Module{Name: name, Ecosystem: scan.Go, Dir: ".", Requires: reqs}
}

func req(module, version string) scan.Requirement {
	return scan.Requirement{Module: module, Version: version, Kind: "require"}
}

func indirect(module, version string) scan.Requirement {
	r := req(module, version)
	r.Indirect = true
	return r
}

func repo(name string, mods ...scan.Module) scan.Repo {
	return scan.Repo{Name: name, Path: "/ws/" + name, Content: scan.Content{Modules: mods}}
}

func edgesOf(w *Workspace) map[string][]string {
	out := map[string][]string{}
	for i, es := range w.Edges {
		for _, e := range es {
			out[w.Repos[i].Name] = append(out[w.Repos[i].Name], w.Repos[e.To].Name+":"+e.Via+":"+e.Module)
		}
	}
	return out
}

func TestBuildEdges(t *testing.T) {
	repos := []scan.Repo{
		repo("db", goMod("ex.com/db", req("ex.com/conv", "v1.2.0"), req("golang.org/x/mod", "v0.1.0"))),
		repo("conv", goMod("ex.com/conv")),
		repo("api", goMod("ex.com/api", req("ex.com/db", "v1.4.0"), indirect("ex.com/conv", "v1.2.0"))),
		// sync needs outside only through an external module: the indirect
		// requirement is the only trace, so it makes an edge.
		repo("sync", goMod("ex.com/sync", req("ex.com/api", "v1.0.0"), indirect("ex.com/db", "v1.4.0"), indirect("ex.com/other", "v1.0.0"))),
		repo("tool", goMod("ex.com/tool", req("example.org/external", "v1.0.0"), indirect("ex.com/db", "v1.4.0"))),
		{Name: "web", Path: "/ws/web", Content: scan.Content{Modules: []scan.Module{{
			Name: "@o/web", Ecosystem: scan.NPM, Dir: ".", Requires: []scan.Requirement{
				{Module: "@o/ui", Version: "^2.0.0", Dev: true},
				{Module: "client", Version: "git+https://h/o/api.git#v1", RepoHint: "api"},
				{Module: "local", Version: "file:../schemas/pkg", PathHint: "../schemas/pkg"},
			}}}}},
		{Name: "ui", Path: "/ws/ui", Content: scan.Content{Modules: []scan.Module{{Name: "@o/ui", Ecosystem: scan.NPM, Dir: "."}}}},
		{Name: "schemas", Path: "/ws/schemas"},
		{Name: "ops", Path: "/ws/ops", Content: scan.Content{Catalog: []catalog.Entity{{Name: "ops-system", DependsOn: []catalog.Ref{catalog.ParseRef("component:default/the-api"), catalog.ParseRef("resource:unknown")}}}}},
		{Name: "api-catalog", Path: "/ws/api-catalog", Content: scan.Content{Catalog: []catalog.Entity{{Name: "the-api"}}}},
	}
	w := Build(repos)
	want := map[string][]string{
		"db":   {"conv:go:ex.com/conv"},
		"api":  {"db:go:ex.com/db"},
		"sync": {"api:go:ex.com/api"},
		"tool": {"db:go:ex.com/db"},
		"web":  {"api:npm:client", "schemas:npm:local", "ui:npm:@o/ui"},
		"ops":  {"api-catalog:catalog:component:default/the-api"},
	}
	if diff := cmp.Diff(want, edgesOf(w)); diff != "" {
		t.Errorf("edges mismatch (-want +got):\n%s", diff)
	}
	down := w.Downstream(1, false) // conv
	var got []string
	for _, it := range down.Items {
		got = append(got, w.Name(it.Node)+"@"+string(rune('0'+it.Depth)))
	}
	if diff := cmp.Diff([]string{"db@1", "api@2", "tool@2", "sync@3", "web@3"}, got); diff != "" {
		t.Errorf("downstream conv mismatch (-want +got):\n%s", diff)
	}
	prod := w.ProdReachable(6, true) // ui
	if prod[5] {
		t.Error("web reaches ui only through a dev requirement, but ProdReachable says otherwise")
	}
}

func TestDuplicateModuleWarns(t *testing.T) {
	w := Build([]scan.Repo{repo("a", goMod("ex.com/m")), repo("b", goMod("ex.com/m")), repo("c", goMod("ex.com/c", req("ex.com/m", "v1.0.0")))})
	if len(w.Warnings) != 1 || !strings.Contains(w.Warnings[0], "go module ex.com/m is in two repos, a and b") {
		t.Errorf("warnings = %q", w.Warnings)
	}
	if diff := cmp.Diff(map[string][]string{"c": {"a:go:ex.com/m"}}, edgesOf(w)); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
}

func TestLookup(t *testing.T) {
	w := Build([]scan.Repo{
		repo("clever-db", goMod("example.com/clever/clever-db")),
		repo("clever-api", goMod("example.com/clever/clever-api")),
		{Name: "clever-js", Content: scan.Content{Modules: []scan.Module{{Name: "@clever/clever-js", Ecosystem: scan.NPM, Dir: "."}}}},
	})
	for name, want := range map[string]string{
		"clever-db":                          "clever-db",
		"example.com/clever/clever-api":      "clever-api",
		"example.com/clever/clever-db/query": "clever-db",
		"@clever/clever-js":                  "clever-js",
	} {
		i, err := w.Lookup(name)
		if err != nil || w.Name(i) != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", name, i, err, want)
		}
	}
	for name, want := range map[string]string{
		"clever-bd":   "did you mean clever-db?",
		"clevr-api":   "did you mean clever-api?",
		"zzz":         "`cascade graph` lists every repo",
		"clever":      "did you mean ", // a substring of several names
		"clever-api2": "did you mean clever-api?",
	} {
		_, err := w.Lookup(name)
		if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), want) {
			t.Errorf("Lookup(%q) = %v, want an Invalid error containing %q", name, err, want)
		}
	}
}

func TestOrder(t *testing.T) {
	w := Build([]scan.Repo{
		repo("api", goMod("ex.com/api", req("ex.com/db", "v1"))),
		repo("db", goMod("ex.com/db", req("ex.com/conv", "v1"))),
		repo("conv", goMod("ex.com/conv")),
		repo("x", goMod("ex.com/x", req("ex.com/y", "v1"))),
		repo("y", goMod("ex.com/y", req("ex.com/x", "v1"), req("ex.com/conv", "v1"))),
	})
	var got [][]string
	for _, level := range w.Order() {
		var l []string
		for _, g := range level {
			l = append(l, strings.Join(names(w, g), "+"))
		}
		got = append(got, l)
	}
	want := [][]string{{"conv"}, {"db", "x+y"}, {"api"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
}

func names(w *Workspace, nodes []int) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, w.Name(n))
	}
	return out
}
