package verify

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/ecosystem"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// impact is what the injected members of a state change, per ecosystem,
// measured from the releases a downstream uses.
type impact struct {
	// units are the changed units (Go packages) per ecosystem.
	units map[string]map[string]bool
	// all says, per ecosystem, why a change cannot be narrowed: every
	// module of that ecosystem is then verified whole.
	all map[string]string
}

// names lists the changed units, sorted.
func (im impact) names() []string {
	var out []string
	for _, us := range im.units {
		for u := range us {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// changes returns what the injected members change for downstream module
// d: for each of their modules, the files that differ between the version d
// requires (else the highest release below the member's commit, else its
// merge base with the default branch) and the member's commit, mapped to
// units by the module's ecosystem.
func (e *engine) changes(ctx context.Context, injected []Member, node int, d scan.Module) (impact, error) {
	required := map[string]string{}
	for _, r := range d.Requires {
		required[d.Ecosystem+":"+r.Module] = r.Version
	}
	// What the module reaches through other workspace modules without
	// naming its version (a go.mod before go 1.17 lists no indirect
	// requirements).
	unnamed := map[string]bool{}
	for _, m := range injected {
		for _, mod := range e.g.Repos[m.node].Modules {
			k := mod.Ecosystem + ":" + mod.Name
			if _, ok := required[k]; !ok && mod.Ecosystem == d.Ecosystem && e.reaches(node, d.Name, mod.Name) {
				unnamed[k] = true
			}
		}
	}
	key := digests(injected)
	for k := range unnamed {
		key += "|" + k + "@?"
	}
	for _, m := range injected {
		for _, mod := range e.g.Repos[m.node].Modules {
			if v, ok := required[mod.Ecosystem+":"+mod.Name]; ok {
				key += "|" + mod.Name + "@" + v
			}
		}
	}
	o := e.onceOf(e.changed, key)
	o.Do(func() { o.v, o.err = e.computeChanges(ctx, injected, required, unnamed) })
	im, _ := o.v.(impact)
	return im, o.err
}

func (e *engine) computeChanges(ctx context.Context, injected []Member, required map[string]string, unnamed map[string]bool) (impact, error) {
	im := impact{units: map[string]map[string]bool{}, all: map[string]string{}}
	for _, m := range injected {
		r := e.g.Repos[m.node]
		if m.Dir != "" {
			for _, mod := range r.Modules {
				im.all[mod.Ecosystem] = m.Repo + " is a local directory"
			}
			continue
		}
		nested := map[string][]string{}
		for _, mod := range r.Modules {
			nested[mod.Ecosystem] = append(nested[mod.Ecosystem], mod.Dir)
		}
		tags, names, err := e.repoTags(ctx, m.node)
		if err != nil {
			return im, err
		}
		// The release below the member's commit (a commit that is itself
		// tagged was just released, and is compared with the one before).
		var below []string
		if parent, err := r.Git.Resolve(ctx, m.Commit+"^"); err == nil {
			if below, err = e.mergedTags(ctx, m.node, parent); err != nil {
				return im, err
			}
		} else if errkind.Of(err) != errkind.NotFound {
			return im, err
		} // else the first commit: no release before it
		for _, mod := range r.Modules {
			x, ok := e.ecos[mod.Ecosystem]
			if !ok {
				continue
			}
			ref := ecosystem.Module{Name: mod.Name, Dir: mod.Dir}
			if x.Pins() && unnamed[mod.Ecosystem+":"+mod.Name] {
				// The version it builds with comes from another module's
				// requirement: cascade cannot tell which files it sees.
				im.all[mod.Ecosystem] = fmt.Sprintf("uses %s without naming its version in its own manifest", mod.Name)
				continue
			}
			base := ""
			if v, ok := required[mod.Ecosystem+":"+mod.Name]; ok {
				base = e.resolveRelease(ctx, m.node, x.Release(ref, v, names), tags)
			}
			if base == "" {
				if v := scan.HighestTag(below, scan.TagDir(mod.Name, mod.Dir)); v != "" {
					base = tags[scan.TagName(scan.TagDir(mod.Name, mod.Dir), v)]
				}
			}
			if base == "" {
				if base, err = r.Git.MergeBase(ctx, r.Commit, m.Commit); err != nil {
					return im, err
				}
			}
			if base == "" {
				im.all[mod.Ecosystem] = fmt.Sprintf("%s@%s shares no history with %s", m.Repo, m.Ref, r.Branch)
				continue
			}
			if base == m.Commit {
				continue
			}
			files, err := r.Git.ChangedFiles(ctx, base, m.Commit)
			if err != nil {
				return im, err
			}
			units, all, why := x.Changes(ref, nested[mod.Ecosystem], files,
				lazyTree{e, ctx, m.node, base}, lazyTree{e, ctx, m.node, m.Commit})
			if all {
				im.all[mod.Ecosystem] = fmt.Sprintf("%s: %s", mod.Name, why)
				continue
			}
			if im.units[mod.Ecosystem] == nil {
				im.units[mod.Ecosystem] = map[string]bool{}
			}
			for u := range units {
				im.units[mod.Ecosystem][u] = true
			}
		}
	}
	return im, nil
}

// reaches reports whether module from of repo node requires module
// target, directly or through other workspace modules.
func (e *engine) reaches(node int, from, target string) bool {
	type at struct {
		node   int
		module string
	}
	seen := map[at]bool{}
	queue := []at{{node, from}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, edge := range e.g.Edges[cur.node] {
			if edge.FromModule != cur.module {
				continue
			}
			if edge.Module == target {
				return true
			}
			next := at{edge.To, edge.Module}
			if !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	return false
}

// resolveRelease turns what Release returned (a tag ref, or a commit id
// or its prefix) into a commit id, or "".
func (e *engine) resolveRelease(ctx context.Context, node int, ref string, tags map[string]string) string {
	if ref == "" {
		return ""
	}
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return tags[t]
	}
	// A commit id or its prefix (a pseudo-version's): the full id, so that
	// one commit is one shared tree.
	c, err := e.g.Repos[node].Git.Resolve(ctx, ref)
	if err != nil {
		return ""
	}
	return c
}

// selectUnits picks the units of downstream module m that a change
// reaches, from the import graph of the downstream at its baseline. The
// graph is a function of the downstream's commit and the workspace's
// releases, and the command that reads it is cached as such (like a build
// cache, even with --no-cache).
func (e *engine) selectUnits(ctx context.Context, x ecosystem.Ecosystem, node int, m scan.Module, changed map[string]bool) (ecosystem.Selection, error) {
	d := e.g.Repos[node]
	tree := filepath.Join(e.work, "downstream", d.Name, "imports")
	tool, err := e.toolchain(ctx, x)
	if err != nil {
		return ecosystem.Selection{}, err
	}
	key := runKey{Kind: "imports", Repo: d.Name, Commit: d.Commit, Units: []ecosystem.Unit{{Module: ecosystem.Module{Name: m.Name, Dir: m.Dir}}},
		Toolchains: map[string]string{x.Name(): tool}, Proxy: e.proxyHash}.sum()
	cached := &resultCache{dir: e.cache.dir, key: e.cache.key}
	run := func(ctx context.Context, c sandbox.Cmd) (sandbox.Result, error) {
		var res sandbox.Result
		if cached.get(key, &res) {
			return res, nil
		}
		// The tree is extracted only when the graph is not cached.
		o := e.onceOf(e.imports, d.Name)
		o.Do(func() { _, o.err = e.freshTree(ctx, node, d.Commit, filepath.Join("downstream", d.Name, "imports")) })
		if o.err != nil {
			return res, o.err
		}
		res, err := e.run(ctx, c)
		if err == nil && res.OK() && res.Truncated == 0 {
			cached.put(key, res)
		}
		return res, err
	}
	var requires []string
	for _, r := range m.Requires {
		if !r.Indirect {
			requires = append(requires, r.Module)
		}
	}
	return x.Select(ctx, run, tree, ecosystem.Module{Name: m.Name, Dir: m.Dir, Requires: requires}, changed)
}

// repoConfig reads a repo's .cascade.yaml at a commit (or in a local
// directory).
func (e *engine) repoConfig(ctx context.Context, node int, commit, dir string) (*workspace.RepoConfig, error) {
	if dir != "" {
		return workspace.ReadRepoConfig(dir)
	}
	data, err := e.g.Repos[node].Git.ReadFile(ctx, commit, workspace.RepoConfigFile)
	if errkind.Of(err) == errkind.NotFound {
		return &workspace.RepoConfig{}, nil
	}
	if err != nil {
		return nil, err
	}
	return workspace.ParseRepoConfig(e.g.Repos[node].Name+"@"+commit[:12]+":"+workspace.RepoConfigFile, data)
}
