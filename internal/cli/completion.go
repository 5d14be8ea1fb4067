package cli

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// complete is a shell completion function (cobra's).
type complete = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// registerCompletions gives the arguments and flags of every command their
// shell completions (`cascade completion bash|zsh|fish` writes the script
// that asks for them): repo names from cascade.yaml, REPO@REF with the
// named repo's branches and tags, plan ids, the steps of a plan's
// release, gate names and people. Completion only reads: it never clones,
// fetches, creates a database or prints warnings.
func (a *app) registerCompletions(root *cobra.Command) {
	args := map[string]complete{
		"verify":                nth(a.completeRepoRef(false)),
		"semver":                nth(a.completeRepo),
		"downstream":            nth(a.completeRepo),
		"upstream":              nth(a.completeRepo),
		"check":                 a.completeRepoRef(true),
		"plan show":             nth(a.completePlan),
		"plan check":            nth(a.completePlan),
		"plan rescope":          nth(a.completePlan),
		"release start":         nth(a.completePlan),
		"release status":        nth(a.completePlan),
		"release next":          nth(a.completePlan),
		"release abort":         nth(a.completePlan),
		"release log":           nth(a.completePlan),
		"release confirm":       nth(a.completePlan, a.completeStep),
		"release retry":         nth(a.completePlan, a.completeStep),
		"release override":      nth(a.completePlan, a.completeStep),
		"release override-gate": nth(a.completePlan, fixed(plan.GateNames...)),
		"release unlock":        nth(a.completeRepo),
	}
	flags := map[string]map[string]complete{
		"verify":    {"with": a.completeRepoRef(true), "only": a.completeRepo, "tier": a.completeTier},
		"semver":    {"with": a.completeRepoRef(true), "head": a.completeArgRef, "base": a.completeArgRef},
		"plan new":  {"change": a.completeRepoRef(true), "manager": a.completePerson, "version": a.completeRepoVersion},
		"plan show": {"format": fixed("text", "markdown", "json")},
	}
	for path, f := range args {
		if c := findCommand(root, path); c != nil {
			c.ValidArgsFunction = f
		}
	}
	for path, fs := range flags {
		c := findCommand(root, path)
		if c == nil {
			continue
		}
		for name, f := range fs {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, f)
			}
		}
	}
}

// findCommand is the command at path ("plan show"), or nil.
func findCommand(root *cobra.Command, path string) *cobra.Command {
	c, rest, err := root.Find(strings.Fields(path))
	if err != nil || len(rest) > 0 || c.CommandPath() != root.Name()+" "+path {
		return nil
	}
	return c
}

// nth completes the i-th positional argument with fs[i].
func nth(fs ...complete) complete {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) < len(fs) && fs[len(args)] != nil {
			return fs[len(args)](cmd, args, toComplete)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// fixed completes with a fixed list.
func fixed(values ...string) complete {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return withPrefix(values, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

func withPrefix(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

// completeRepo completes a repo name from cascade.yaml.
func (a *app) completeRepo(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ws, err := a.loadWorkspace()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, r := range ws.Repos {
		names = append(names, r.Name)
	}
	return withPrefix(names, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeRepoRef completes REPO@REF: a repo name (followed by "@" when
// the ref is required), then after the "@" the repo's branches and tags.
func (a *app) completeRepoRef(refRequired bool) complete {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		name, ref, hasAt := strings.Cut(toComplete, "@")
		if !hasAt {
			names, dir := a.completeRepo(cmd, args, toComplete)
			if !refRequired {
				return names, dir
			}
			for i := range names {
				names[i] += "@"
			}
			return names, dir | cobra.ShellCompDirectiveNoSpace
		}
		var out []string
		for _, r := range a.refNames(name) {
			if strings.HasPrefix(r, ref) {
				out = append(out, name+"@"+r)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeArgRef completes a ref of the repo named by the first argument
// (semver REPO --head REF).
func (a *app) completeArgRef(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return withPrefix(a.refNames(args[0]), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// refNames are the branches and tags of the workspace's repo name: a
// local repo's, or a mirror's already in the cache (never cloned here).
func (a *app) refNames(name string) []string {
	ws, err := a.loadWorkspace()
	if err != nil {
		return nil
	}
	var spec *workspace.RepoSpec
	for i := range ws.Repos {
		if ws.Repos[i].Name == name {
			spec = &ws.Repos[i]
		}
	}
	if spec == nil {
		return nil
	}
	dir := spec.Path
	if spec.URL != "" {
		cache, err := a.cache()
		if err != nil {
			return nil
		}
		dir = gitrepo.MirrorPath(cache, spec.URL)
		if _, err := os.Stat(dir); err != nil {
			return nil
		}
	}
	r, err := gitrepo.Open(dir)
	if err != nil {
		return nil
	}
	branches, tags, err := r.RefNames(a.ctx)
	if err != nil {
		return nil
	}
	return append(branches, tags...)
}

// completeRepoVersion completes REPO= for --version REPO=VERSION.
func (a *app) completeRepoVersion(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	names, _ := a.completeRepo(cmd, args, toComplete)
	for i := range names {
		names[i] += "="
	}
	return names, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeTier completes a tier named in cascade.yaml.
func (a *app) completeTier(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ws, err := a.loadWorkspace()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	seen := map[string]bool{}
	var tiers []string
	for _, r := range ws.Repos {
		if r.Tier != "" && !seen[r.Tier] {
			seen[r.Tier] = true
			tiers = append(tiers, r.Tier)
		}
	}
	sort.Strings(tiers)
	return withPrefix(tiers, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completePerson completes a person's name from cascade.yaml.
func (a *app) completePerson(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ws, err := a.loadWorkspace()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, p := range ws.People {
		names = append(names, p.Name)
	}
	return withPrefix(names, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completePlan completes a plan id: the plan files' names (a plan file
// that does not parse is still offered).
func (a *app) completePlan(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ws, err := a.loadWorkspace()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	files, _ := filepath.Glob(filepath.Join(ws.Dir, plan.Dir, "*.yaml"))
	var ids []string
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if plan.ValidID(id) == nil {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return withPrefix(ids, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeStep completes a step of the release of the plan named by the
// first argument: its number (described by its repo, name and state), or,
// for a word that is not a number, its REPO:NAME. Only an existing
// database is read.
func (a *app) completeStep(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	if len(args) == 0 {
		return nil, none
	}
	ws, err := a.loadWorkspace()
	if err != nil {
		return nil, none
	}
	db := ""
	if f := cmd.Flag("db"); f != nil {
		db = f.Value.String()
	}
	db = a.stateDB(ws, db)
	if _, err := os.Stat(strings.TrimPrefix(db, "sqlite:")); err != nil && !store.IsServer(db) {
		return nil, none
	}
	st, err := store.Open(a.ctx, db)
	if err != nil {
		return nil, none
	}
	defer st.Close()
	e := &release.Engine{Store: st, WS: ws, Now: a.now, Log: func(string, ...any) {}}
	status, err := e.Status(a.ctx, args[0])
	if err != nil {
		return nil, none
	}
	var out []string
	for _, s := range status.Steps {
		n := strconv.Itoa(s.Index)
		switch {
		case toComplete == "" || isDigits(toComplete):
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n+"\t"+s.Repo+": "+s.Name+" ("+s.State+")")
			}
		case strings.HasPrefix(s.Repo+":"+s.Name, toComplete):
			out = append(out, s.Repo+":"+s.Name+"\t"+s.State)
		}
	}
	return out, none
}

func isDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}
