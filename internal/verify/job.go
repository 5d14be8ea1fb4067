package verify

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/ecosystem"
	"github.com/cascade-dev/cascade/internal/ecosystem/gomod"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// maxLog is how much of a failing command's output a result keeps.
const maxLog = 16 << 10

// runJob verifies one downstream in each of its states.
func (e *engine) runJob(ctx context.Context, j job, done func(Result), start func(string)) ([]Result, error) {
	var out []Result
	for _, state := range j.states {
		start(state)
		t0 := time.Now()
		r, err := e.verifyState(ctx, j, state)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			// This downstream gets an error verdict; the others go on. Bad
			// input (a manifest that cannot be read or rewritten) is also
			// reported as a problem of the whole run.
			r = e.base(j, state)
			r.Verdict, r.Reason, r.Baseline, r.Candidate = Error, err.Error(), "none", "none"
			if k := errkind.Of(err); k == errkind.Invalid || k == errkind.NotFound {
				e.mu.Lock()
				e.problems = append(e.problems, fmt.Sprintf("%s (%s): %v", r.Repo, state, err))
				e.mu.Unlock()
			}
		}
		if r.DurationMS == 0 {
			r.DurationMS = time.Since(t0).Milliseconds()
		}
		out = append(out, r)
		done(r)
	}
	return out, nil
}

func (e *engine) base(j job, state string) Result {
	d := e.g.Repos[j.node]
	r := Result{Repo: d.Name, Ref: d.Branch, Commit: d.Commit, State: state, Depth: j.depth}
	if m, ok := e.member(j.node); ok && state == Set {
		r.Ref, r.Commit = m.Ref, m.Commit
	}
	return r
}

// manifestProblems are the downstream's manifests that could not be read:
// a module cascade cannot see cannot be said to be unaffected.
func manifestProblems(d scan.Repo) []string {
	var out []string
	for _, w := range d.Warnings {
		if strings.HasSuffix(w, "skipped; fix the file)") || strings.HasSuffix(w, "; skipped") {
			out = append(out, w)
		}
	}
	return out
}

func (e *engine) verifyState(ctx context.Context, j job, state string) (Result, error) {
	t0 := time.Now()
	d := e.g.Repos[j.node]
	res := e.base(j, state)
	if ps := manifestProblems(d); len(ps) > 0 {
		return res, errkind.New(errkind.Invalid, "cannot read its manifests, so cascade cannot tell what it uses: %s", strings.Join(ps, "; "))
	}
	injected := e.injected(state, j.node)
	self, isMember := e.member(j.node)
	selfChanged := isMember && state == Set && self.Digest != d.Commit

	// Which modules, and which of their units, does the change reach? Each
	// module's change is measured from the versions it requires itself.
	var units []ecosystem.Unit
	var skipped, changedNames []string
	for _, m := range d.Modules {
		x, err := e.eco(m)
		if err != nil {
			return res, err
		}
		im, err := e.changes(ctx, e.upstreamOf(j.node, injected), j.node, m)
		if err != nil {
			return res, err
		}
		changedNames = append(changedNames, im.names()...)
		u := ecosystem.Unit{Module: ecosystem.Module{Name: m.Name, Dir: m.Dir}, Ecosystem: m.Ecosystem}
		switch changed := im.units[m.Ecosystem]; {
		case e.opt.AllPackages || selfChanged || im.all[m.Ecosystem] != "" || e.toolChanged(m, changed):
		case len(changed) == 0 || !e.dependsOn(j.node, injected, m.Ecosystem):
			skipped = append(skipped, m.Name)
			continue
		default:
			sel, err := e.selectUnits(ctx, x, j.node, m, changed)
			if err != nil {
				return res, err
			}
			if !sel.All && len(sel.Test) == 0 {
				skipped = append(skipped, m.Name)
				continue
			}
			u.Packages, u.Build = sel.Test, sel.Build
		}
		units = append(units, u)
	}
	if len(units) == 0 {
		res.Verdict, res.Baseline, res.Candidate = Skipped, "none", "none"
		res.Reason = "nothing it uses changed: the candidate's modules are as in the releases it requires"
		if names := uniqSorted(changedNames); len(names) > 0 {
			res.Reason = "imports none of the changed packages (" + strings.Join(shorten(names, 4), ", ") + ") and no requirement changed"
		}
		if len(d.Modules) == 0 {
			res.Reason = "has no Go module or npm package to build"
		}
		res.DurationMS = time.Since(t0).Milliseconds()
		return res, nil
	}

	// The candidate tree: the downstream at its ref in this state.
	candTree := func() (string, error) {
		label := filepath.Join("downstream", d.Name, state)
		if selfChanged && self.Dir != "" {
			return e.copyDir(self.snapshot, label)
		}
		return e.freshTree(ctx, j.node, res.Commit, label)
	}
	candDir, err := candTree()
	if err != nil {
		return res, err
	}
	candCfg, err := workspace.ReadRepoConfig(candDir)
	if err != nil {
		return res, err
	}
	for _, u := range units {
		if _, err := os.Stat(filepath.Join(candDir, filepath.FromSlash(u.Dir))); err != nil {
			// Its modules are read from its default branch: a ref that moves
			// or removes one cannot be verified module by module.
			return res, errkind.New(errkind.Infra, "%s@%s has no %s (module %s on %s): cascade reads a repo's modules from its default branch and cannot verify a ref that moves or removes one; verify it once it has landed",
				d.Name, res.Ref, u.Dir, u.Name, d.Branch)
		}
	}
	for _, u := range units {
		res.Packages = append(res.Packages, u.Packages...)
	}

	baseRuns, baseKey, cached, err := e.baseline(ctx, j.node, units)
	if err != nil {
		return res, err
	}
	ups, err := e.candidateUpstreams(ctx, j.node, units, injected)
	if err != nil {
		return res, err
	}
	key, err := e.key("candidate", d.Name, res.Commit, units, candCfg, ups)
	if err != nil {
		return res, err
	}
	if selfChanged {
		key.Commit = self.Digest
	}
	key.Retries, key.Baseline = e.opt.Retries, baseKey
	candKey := key.sum()
	var attempts []Run
	if last := baseRuns[len(baseRuns)-1]; last.Infra != "" || last.TimedOut {
		// A baseline that could not be judged leaves nothing to compare
		// the candidate with.
		cached = false
	} else if !e.cache.get(candKey, &attempts) || len(attempts) == 0 {
		cached = false
		attempts = nil
		base, _, _ := reference(baseRuns)
		for i := 0; i <= e.opt.Retries; i++ {
			r, err := e.runUnits(ctx, candDir, d.Name+"@"+res.Ref, units, candCfg, ups)
			if err != nil {
				return res, err
			}
			attempts = append(attempts, r)
			if r.Infra != "" {
				break
			}
			if kind, _ := newFailures(base, r, !selfChanged); !retry(kind) {
				break
			}
		}
		if needsConfirmation(baseRuns, attempts, !selfChanged) {
			// Passed only on a retry in the same tree: once more in a new
			// tree, where the baseline passed at once.
			if candDir, err = candTree(); err != nil {
				return res, err
			}
			r, err := e.runUnits(ctx, candDir, d.Name+"@"+res.Ref, units, candCfg, ups)
			if err != nil {
				return res, err
			}
			r.Fresh = true
			attempts = append(attempts, r)
		}
		if cacheable(attempts) {
			e.cache.put(candKey, attempts)
		}
	}
	jd := judge(baseRuns, attempts, !selfChanged)
	res.Verdict, res.Tests, res.Command, res.Reason, res.Log = jd.Verdict, jd.Tests, jd.Command, jd.Reason, jd.Log
	res.Baseline, res.BaselineFlaky, res.BuildFailure = jd.Baseline, jd.BaselineFlaky, jd.Build
	if ref, _, _ := reference(baseRuns); !ref.Passed {
		res.BaselineFailed = ref.Failed
	}
	res.Attempts = len(attempts)
	res.Candidate = "none"
	if len(attempts) > 0 {
		res.Candidate = passFail(attempts[len(attempts)-1])
	}
	res.Cached = cached
	if len(skipped) > 0 && res.Reason == "" {
		res.Reason = "not affected: " + strings.Join(skipped, ", ")
	}
	res.DurationMS = time.Since(t0).Milliseconds()
	return res, nil
}

// upstreamOf keeps the injected members the downstream depends on: a
// change elsewhere cannot reach it.
func (e *engine) upstreamOf(node int, injected []Member) []Member {
	upstream := map[int]bool{}
	for _, r := range e.g.Upstream(node, false).Items {
		upstream[r.Node] = true
	}
	var out []Member
	for _, m := range injected {
		if upstream[m.node] {
			out = append(out, m)
		}
	}
	return out
}

// toolChanged reports whether a tool the module runs (`go tool`, from a
// tool directive) is a changed package or in a changed package's module:
// its tests may run it, and imports do not show that.
func (e *engine) toolChanged(m scan.Module, changed map[string]bool) bool {
	for _, t := range m.Tools {
		for p := range changed {
			if t == p || strings.HasPrefix(t, p+"/") || strings.HasPrefix(p, t+"/") {
				return true
			}
		}
		for _, mem := range e.members {
			for _, mod := range e.g.Repos[mem.node].Modules {
				if mod.Ecosystem == m.Ecosystem && (t == mod.Name || strings.HasPrefix(t, mod.Name+"/")) && len(changed) > 0 {
					return true
				}
			}
		}
	}
	return false
}

// dependsOn reports whether the downstream depends on an injected member
// that has modules of ecosystem eco.
func (e *engine) dependsOn(node int, injected []Member, eco string) bool {
	upstream := map[int]bool{}
	for _, r := range e.g.Upstream(node, false).Items {
		upstream[r.Node] = true
	}
	for _, m := range injected {
		if !upstream[m.node] {
			continue
		}
		for _, mod := range e.g.Repos[m.node].Modules {
			if mod.Ecosystem == eco {
				return true
			}
		}
	}
	return false
}

func uniqSorted(items []string) []string {
	s := slices.Clone(items)
	sort.Strings(s)
	return slices.Compact(s)
}

func shorten(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(slices.Clone(items[:n]), fmt.Sprintf("%d more", len(items)-n))
}

func digests(ms []Member) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, m.Repo+"="+m.Digest)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// key starts the content address of a run of the downstream's units with
// upstreams ups in place.
func (e *engine) key(kind, repo, commit string, units []ecosystem.Unit, cfg *workspace.RepoConfig, ups []ecosystem.Upstream) (runKey, error) {
	k := runKey{Kind: kind, Repo: repo, Commit: commit, Units: units, Config: ecoConfig(cfg),
		Toolchains: map[string]string{}, Proxy: e.proxyHash, Timeout: e.opt.Timeout}
	for _, u := range units {
		eco := e.unitEco(u)
		if _, ok := k.Toolchains[eco.Name()]; ok {
			continue
		}
		v, err := e.toolchain(context.Background(), eco)
		if err != nil {
			return k, err
		}
		k.Toolchains[eco.Name()] = v
	}
	for _, up := range ups {
		k.Upstreams = append(k.Upstreams, up.Ecosystem+":"+up.Name+"@"+up.Commit+" "+up.Digest)
	}
	return k, nil
}

func ecoConfig(c *workspace.RepoConfig) ecosystem.Config {
	return ecosystem.Config{Build: c.Build, Test: c.Test, TestReport: c.TestReport}
}

// unitEco is the ecosystem of a unit of a downstream module.
func (e *engine) unitEco(u ecosystem.Unit) ecosystem.Ecosystem { return e.ecos[u.Ecosystem] }

// baseline builds and tests the downstream at its default branch with what
// it requires today. A baseline that fails a test or runs out of time is
// tried a second time (in the same tree, as a candidate's retries are) to
// tell a flaky baseline from a failing one; a compile error is not.
func (e *engine) baseline(ctx context.Context, node int, units []ecosystem.Unit) ([]Run, string, bool, error) {
	d := e.g.Repos[node]
	cfg, err := e.repoConfig(ctx, node, d.Commit, "")
	if err != nil {
		return nil, "", false, err
	}
	ups, err := e.baselineUpstreams(ctx, node, units)
	if err != nil {
		return nil, "", false, err
	}
	k, err := e.key("baseline", d.Name, d.Commit, units, cfg, ups)
	if err != nil {
		return nil, "", false, err
	}
	key := k.sum()
	var runs []Run
	if e.cache.get(key, &runs) && len(runs) > 0 {
		return runs, key, true, nil
	}
	dir, err := e.freshTree(ctx, node, d.Commit, filepath.Join("downstream", d.Name, "baseline"))
	if err != nil {
		return nil, "", false, err
	}
	for attempt := 0; attempt < 2; attempt++ {
		r, err := e.runUnits(ctx, dir, d.Name+"@"+d.Branch, units, cfg, ups)
		if err != nil {
			return nil, "", false, err
		}
		runs = append(runs, r)
		if r.Passed || r.Infra != "" || onlyBuildFailures(r) {
			break
		}
	}
	if cacheable(runs) {
		e.cache.put(key, runs)
	}
	return runs, key, false, nil
}

// baselineUpstreams are, for ecosystems whose manifests do not pin
// versions, the workspace modules each unit depends on, directly or
// through other workspace modules, at the releases the requirements select
// today (the highest tag that satisfies the range; the upstream's default
// branch when none does). Installing them all keeps a dependency of a
// dependency from being fetched from a registry that never had it.
func (e *engine) baselineUpstreams(ctx context.Context, node int, units []ecosystem.Unit) ([]ecosystem.Upstream, error) {
	var ups []ecosystem.Upstream
	for _, u := range units {
		x := e.unitEco(u)
		if x == nil || x.Pins() {
			continue
		}
		type from struct {
			node   int
			module string
		}
		seen := map[string]bool{}
		queue := []from{{node, u.Name}}
		for len(queue) > 0 {
			f := queue[0]
			queue = queue[1:]
			for _, edge := range e.g.Edges[f.node] {
				if edge.Via != x.Name() || edge.FromModule != f.module || seen[edge.Module] {
					continue
				}
				seen[edge.Module] = true
				up := e.g.Repos[edge.To]
				mod, ok := findModule(up, edge.Via, edge.Module)
				if !ok {
					continue
				}
				tags, names, err := e.repoTags(ctx, edge.To)
				if err != nil {
					return nil, err
				}
				ref := ecosystem.Module{Name: mod.Name, Dir: mod.Dir}
				commit := e.resolveRelease(ctx, edge.To, x.Release(ref, edge.Version, names), tags)
				if commit == "" {
					commit = up.Commit
				}
				tree, err := e.sharedTree(ctx, edge.To, commit)
				if err != nil {
					return nil, err
				}
				ups = append(ups, ecosystem.Upstream{Module: ref, Ecosystem: edge.Via, For: u.Name, Repo: up.Name,
					Tree: filepath.Join(tree, filepath.FromSlash(path.Clean(mod.Dir))), Root: tree, Commit: commit, Digest: commit})
				queue = append(queue, from{edge.To, mod.Name})
			}
		}
	}
	return ups, nil
}

func findModule(r scan.Repo, eco, name string) (scan.Module, bool) {
	for _, m := range r.Modules {
		if m.Ecosystem == eco && m.Name == name {
			return m, true
		}
	}
	return scan.Module{}, false
}

// candidateUpstreams are what a state puts in place. Go (manifests that pin
// versions): every module of the injected members, at their commits (or in
// their local directories). npm: the baseline's upstreams with the injected
// members' packages in place of their releases, plus any other package of
// a member the downstream depends on.
func (e *engine) candidateUpstreams(ctx context.Context, node int, units []ecosystem.Unit, injected []Member) ([]ecosystem.Upstream, error) {
	upstream := map[int]bool{}
	for _, r := range e.g.Upstream(node, false).Items {
		upstream[r.Node] = true
	}
	member := map[string]ecosystem.Upstream{} // ecosystem:module → its candidate
	var pinned []ecosystem.Upstream
	for _, m := range injected {
		r := e.g.Repos[m.node]
		for _, mod := range r.Modules {
			x, ok := e.ecos[mod.Ecosystem]
			if !ok || (!x.Pins() && !upstream[m.node]) {
				continue
			}
			up := ecosystem.Upstream{Module: ecosystem.Module{Name: mod.Name, Dir: mod.Dir}, Ecosystem: mod.Ecosystem, Repo: r.Name, Commit: m.Commit, Digest: m.Digest}
			if m.Dir != "" {
				up.Tree, up.Root, up.Local = filepath.Join(m.snapshot, filepath.FromSlash(mod.Dir)), m.snapshot, true
			} else {
				tree, err := e.sharedTree(ctx, m.node, m.Commit)
				if err != nil {
					return nil, err
				}
				up.Tree, up.Root = filepath.Join(tree, filepath.FromSlash(path.Clean(mod.Dir))), tree
				if x.Pins() {
					if err := e.serve(ctx, m, &up); err != nil {
						return nil, err
					}
				}
			}
			if mod.Ecosystem == scan.Go {
				// A candidate that moves to a new major path (/v2) is put
				// in place under that path, for downstreams that import it.
				up.Name = gomod.PathAt(up.Root, mod.Dir, mod.Name)
			}
			if x.Pins() {
				pinned = append(pinned, up)
			} else {
				member[up.Ecosystem+":"+up.Name] = up
			}
		}
	}
	base, err := e.baselineUpstreams(ctx, node, units)
	if err != nil {
		return nil, err
	}
	ups := pinned
	used := map[string]bool{}
	for _, b := range base {
		if c, ok := member[b.Ecosystem+":"+b.Name]; ok {
			c.For = b.For
			b, used[b.Ecosystem+":"+b.Name] = c, true
		}
		ups = append(ups, b)
	}
	for k, c := range member {
		if !used[k] {
			ups = append(ups, c)
		}
	}
	sort.SliceStable(ups, func(i, j int) bool {
		return ups[i].Ecosystem+ups[i].Name+ups[i].For < ups[j].Ecosystem+ups[j].Name+ups[j].For
	})
	return ups, nil
}

// serve fills in what a module proxy needs to serve a member's commit: the
// tags reachable from it and the commit's time.
func (e *engine) serve(ctx context.Context, m Member, up *ecosystem.Upstream) error {
	tags, err := e.mergedTags(ctx, m.node, m.Commit)
	if err != nil {
		return err
	}
	all, _, err := e.repoTags(ctx, m.node)
	if err != nil {
		return err
	}
	up.Tags = map[string]string{}
	for _, t := range tags {
		up.Tags[t] = all[t]
	}
	t, err := e.g.Repos[m.node].Git.CommitTime(ctx, m.Commit)
	if err != nil {
		return err
	}
	up.Time = time.Unix(t, 0)
	return nil
}

// runUnits builds and tests every unit in root: one attempt. A repo that
// says how it is built and tested (.cascade.yaml) still gets every unit's
// upstreams put in place (each module's go.mod, each package's installs),
// then its own commands run once, at its root.
func (e *engine) runUnits(ctx context.Context, root, label string, units []ecosystem.Unit, cfg *workspace.RepoConfig, ups []ecosystem.Upstream) (Run, error) {
	t0 := time.Now()
	total := Run{Built: true, Passed: true, Named: true, PassedKnown: true}
	custom := cfg.Build != "" || cfg.Test != ""
	for _, u := range units {
		total.Units = append(total.Units, u.Dir)
	}
	var sigs []string
	var installs, own []ecosystem.Step
	for i, u := range units {
		x := e.unitEco(u)
		var mine []ecosystem.Upstream
		for _, up := range ups {
			if up.Ecosystem == x.Name() && (up.For == "" || up.For == u.Name) {
				mine = append(mine, up)
			}
		}
		dir := filepath.Join(root, filepath.FromSlash(u.Dir))
		c := ecoConfig(cfg)
		c.Label = label
		steps, err := x.Prepare(ctx, e.run, root, dir, u, c, mine)
		if err != nil {
			return total, err
		}
		if custom {
			for _, st := range steps {
				switch {
				case st.Stage == ecosystem.Install || st.Stage == ecosystem.Fetch:
					installs = append(installs, st)
				case i == 0:
					// The repo's own build and test commands, once, at its root.
					st.Cmd.Dir = root
					own = append(own, st)
				}
			}
			continue
		}
		r, err := e.runSteps(ctx, steps)
		if err != nil {
			return total, err
		}
		if done := total.add(r, u.Dir, &sigs); done {
			total.DurationMS = time.Since(t0).Milliseconds()
			return total, nil
		}
	}
	if custom {
		r, err := e.runSteps(ctx, append(installs, own...))
		if err != nil {
			return total, err
		}
		if done := total.add(r, ".", &sigs); done {
			total.DurationMS = time.Since(t0).Milliseconds()
			return total, nil
		}
	}
	if total.Passed {
		total.Named = true
	}
	sort.Strings(total.Failed)
	sort.Strings(total.BuildFailed)
	total.Signature = strings.Join(sigs, ",")
	total.DurationMS = time.Since(t0).Milliseconds()
	return total, nil
}

// add folds one unit's run into the attempt; done is true when the
// attempt ends here (a timeout or an infrastructure failure).
func (total *Run) add(r Run, dir string, sigs *[]string) (done bool) {
	if r.Infra != "" || r.TimedOut {
		*total = r
		return true
	}
	prefix := ""
	if dir != "." {
		prefix = dir + ": "
	}
	for _, t := range r.Failed {
		total.Failed = append(total.Failed, prefix+t)
	}
	for _, t := range r.BuildFailed {
		total.BuildFailed = append(total.BuildFailed, prefix+t)
	}
	for _, t := range r.PassedTests {
		total.PassedTests = append(total.PassedTests, prefix+t)
	}
	total.PassedKnown = total.PassedKnown && r.PassedKnown
	if r.Reports < 0 {
		total.Reports = -1
	} else if total.Reports >= 0 {
		total.Reports += r.Reports
	}
	total.Built = total.Built && r.Built
	if !r.Passed {
		total.Passed = false
		total.Named = total.Named && r.Named
		if total.Stopped == "" {
			total.Stopped = r.Stopped
		}
		*sigs = append(*sigs, prefix+r.Signature)
		if total.Command == "" {
			total.Command, total.Log = r.Command, r.Log
		}
	}
	return false
}

// runSteps runs a unit's steps in order, stopping at the first failure.
// An install that fails says nothing about the code (a registry, a
// network): the attempt could not be judged.
func (e *engine) runSteps(ctx context.Context, steps []ecosystem.Step) (Run, error) {
	r := Run{Built: true, Passed: true, Named: true, Reports: -1}
	for _, s := range steps {
		if s.Skip != nil && s.Skip() {
			continue
		}
		var p ecosystem.Parser
		c := s.Cmd
		if s.Results != nil {
			p = s.Results()
			c.Stream = p
		}
		res, err := e.run(ctx, c)
		if err != nil {
			return r, err
		}
		if s.Refused != nil {
			if err := s.Refused(res.Output); err != nil {
				return r, err
			}
		}
		results := ecosystem.Results{Reports: -1}
		if p != nil {
			results = p.Finish()
			r.PassedTests, r.PassedKnown = results.Passed, results.PassedKnown
		}
		r.Reports = results.Reports
		log := results.Log
		if log == "" {
			log = tail(res.Output)
		}
		switch {
		case res.TimedOut:
			return Run{TimedOut: true, Command: c.String(), Log: log,
				Note: fmt.Sprintf("timed out after %s running `%s` (raise --timeout if it needs longer)", e.opt.Timeout, c)}, nil
		case res.StartErr != nil:
			return Run{Infra: fmt.Sprintf("could not run `%s`: %v", c, res.StartErr), Command: c.String(), Log: log}, nil
		case res.DiskExceeded:
			// Out of disk says nothing about the code: never a pass, never
			// a regression.
			return Run{Infra: fmt.Sprintf("`%s` ran out of disk (%s)", c, res.Note), Command: c.String(), Log: log}, nil
		case res.ExitCode < 0:
			return Run{Infra: fmt.Sprintf("`%s` was killed%s", c, noteOf(res)), Command: c.String(), Log: log}, nil
		case s.Stage == ecosystem.Fetch:
			continue
		case res.OK() && len(results.Failed) == 0:
			continue
		case res.OK() && s.Stage != ecosystem.Test:
			continue
		case s.Stage == ecosystem.Install:
			return Run{Infra: fmt.Sprintf("`%s` failed: %s", c, lastLine(res.Output)), Command: c.String(), Log: log}, nil
		}
		r.Passed, r.Command, r.Log = false, c.String(), log
		if s.Stage != ecosystem.Test {
			r.Built, r.Failed, r.BuildFailed = false, []string{buildStage}, []string{buildStage}
			return r, nil
		}
		r.Failed, r.BuildFailed, r.Named, r.Signature, r.Stopped = results.Failed, results.BuildFailed, results.Named, results.Signature, results.Stopped
		r.PassedTests = results.Passed
		// Nothing built when every result is a build failure.
		r.Built = !(results.Tested == 0 && len(r.BuildFailed) > 0)
		if p == nil {
			r.Named = false
			r.Signature = ecosystem.NewNormalizer().Sum()
		}
		return r, nil
	}
	return r, nil
}

// lastLine is the last non-empty line of an output.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// tail keeps the end of a log.
func tail(s string) string {
	if len(s) <= maxLog {
		return s
	}
	s = s[len(s)-maxLog:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "...\n" + s
}

// noteOf is what the sandbox said about how a command ended, as a suffix.
func noteOf(res sandbox.Result) string {
	if res.Note == "" {
		return ""
	}
	return " (" + res.Note + ")"
}
