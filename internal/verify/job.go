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
	"github.com/cascade-dev/cascade/internal/errkind"
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

	// Which modules, and which of their units, does the change reach?
	im, err := e.changes(ctx, injected, d)
	if err != nil {
		return res, err
	}
	var units []ecosystem.Unit
	var skipped []string
	for _, m := range d.Modules {
		x, err := e.eco(m)
		if err != nil {
			return res, err
		}
		u := ecosystem.Unit{Module: ecosystem.Module{Name: m.Name, Dir: m.Dir}, Ecosystem: m.Ecosystem}
		switch changed := im.units[m.Ecosystem]; {
		case e.opt.AllPackages || selfChanged || im.all[m.Ecosystem] != "":
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
		if names := im.names(); len(names) > 0 {
			res.Reason = "imports none of the changed packages (" + strings.Join(shorten(names, 4), ", ") + ") and no requirement changed"
		}
		if len(d.Modules) == 0 {
			res.Reason = "has no Go module or npm package to build"
		}
		res.DurationMS = time.Since(t0).Milliseconds()
		return res, nil
	}

	// The candidate tree: the downstream at its ref in this state.
	var candDir string
	if selfChanged && self.Dir != "" {
		candDir, err = e.copyDir(self.Dir, filepath.Join("downstream", d.Name, state))
	} else {
		candDir, err = e.freshTree(ctx, j.node, res.Commit, filepath.Join("downstream", d.Name, state))
	}
	if err != nil {
		return res, err
	}
	candCfg, err := workspace.ReadRepoConfig(candDir)
	if err != nil {
		return res, err
	}
	present := units[:0]
	for _, u := range units {
		if _, err := os.Stat(filepath.Join(candDir, filepath.FromSlash(u.Dir))); err == nil {
			present = append(present, u)
		}
	}
	if len(present) == 0 {
		res.Verdict, res.Baseline, res.Candidate = Skipped, "none", "none"
		res.Reason = "has none of its modules at " + res.Ref
		return res, nil
	}
	units = present
	for _, u := range units {
		res.Packages = append(res.Packages, u.Packages...)
	}

	baseRuns, baseKey, cached, err := e.baseline(ctx, j.node, units)
	if err != nil {
		return res, err
	}
	ups, err := e.candidateUpstreams(ctx, j.node, injected)
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
		base := baseRuns[len(baseRuns)-1]
		for i := 0; i <= e.opt.Retries; i++ {
			r, err := e.runUnits(ctx, candDir, d.Name+"@"+res.Ref, units, candCfg, ups)
			if err != nil {
				return res, err
			}
			attempts = append(attempts, r)
			if r.Infra != "" {
				break
			}
			if kind, _ := newFailures(base, r); !retry(kind) {
				break
			}
		}
		if cacheable(attempts) {
			e.cache.put(candKey, attempts)
		}
	}
	jd := judge(baseRuns, attempts)
	res.Verdict, res.Tests, res.Command, res.Reason, res.Log = jd.Verdict, jd.Tests, jd.Command, jd.Reason, jd.Log
	res.Baseline, res.BaselineFlaky = jd.Baseline, jd.BaselineFlaky
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
// it requires today; a failing baseline is tried a second time (in the same
// tree, as a candidate's retries are) to tell a flaky baseline from a
// failing one.
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
		if r.Passed || r.Infra != "" || !r.Built {
			break
		}
	}
	if cacheable(runs) {
		e.cache.put(key, runs)
	}
	return runs, key, false, nil
}

// baselineUpstreams are, for ecosystems whose manifests do not pin
// versions, the releases the downstream's requirements on workspace
// modules select today (the highest tag that satisfies the range; the
// upstream's default branch when none does).
func (e *engine) baselineUpstreams(ctx context.Context, node int, units []ecosystem.Unit) ([]ecosystem.Upstream, error) {
	ecos := map[string]bool{}
	for _, u := range units {
		if x := e.unitEco(u); x != nil && !x.Pins() {
			ecos[x.Name()] = true
		}
	}
	var ups []ecosystem.Upstream
	for _, edge := range e.g.Edges[node] {
		if !ecos[edge.Via] {
			continue
		}
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
		commit := resolveRelease(e.ecos[edge.Via].Release(ref, edge.Version, names), tags)
		if commit == "" {
			commit = up.Commit
		}
		tree, err := e.sharedTree(ctx, edge.To, commit)
		if err != nil {
			return nil, err
		}
		ups = append(ups, ecosystem.Upstream{Module: ref, Tree: filepath.Join(tree, filepath.FromSlash(path.Clean(mod.Dir))), Commit: commit, Ecosystem: edge.Via})
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

// candidateUpstreams are the modules of the injected members, at their
// commits (or in their local directories). An ecosystem whose manifests
// do not pin versions gets only the members the downstream depends on.
func (e *engine) candidateUpstreams(ctx context.Context, node int, injected []Member) ([]ecosystem.Upstream, error) {
	upstream := map[int]bool{}
	for _, r := range e.g.Upstream(node, false).Items {
		upstream[r.Node] = true
	}
	var ups []ecosystem.Upstream
	for _, m := range injected {
		r := e.g.Repos[m.node]
		for _, mod := range r.Modules {
			x, ok := e.ecos[mod.Ecosystem]
			if !ok || (!x.Pins() && !upstream[m.node]) {
				continue
			}
			up := ecosystem.Upstream{Module: ecosystem.Module{Name: mod.Name, Dir: mod.Dir}, Ecosystem: mod.Ecosystem, Commit: m.Commit, Digest: m.Digest}
			if m.Dir != "" {
				up.Tree, up.Local = filepath.Join(m.Dir, filepath.FromSlash(mod.Dir)), true
			} else {
				tree, err := e.sharedTree(ctx, m.node, m.Commit)
				if err != nil {
					return nil, err
				}
				up.Tree = filepath.Join(tree, filepath.FromSlash(path.Clean(mod.Dir)))
				tags, err := e.mergedTags(ctx, m.node, m.Commit)
				if err != nil {
					return nil, err
				}
				all, _, err := e.repoTags(ctx, m.node)
				if err != nil {
					return nil, err
				}
				up.Tags = map[string]string{}
				for _, t := range tags {
					up.Tags[t] = all[t]
				}
				t, err := r.Git.CommitTime(ctx, m.Commit)
				if err != nil {
					return nil, err
				}
				up.Time = time.Unix(t, 0)
			}
			ups = append(ups, up)
		}
	}
	return ups, nil
}

// runUnits builds and tests every unit in root: one attempt.
func (e *engine) runUnits(ctx context.Context, root, label string, units []ecosystem.Unit, cfg *workspace.RepoConfig, ups []ecosystem.Upstream) (Run, error) {
	t0 := time.Now()
	total := Run{Built: true, Passed: true, Named: true}
	// A repo that says how it is built and tested is run its way, once.
	if cfg.Build != "" || cfg.Test != "" {
		units = []ecosystem.Unit{{Module: ecosystem.Module{Name: units[0].Name, Dir: "."}, Ecosystem: units[0].Ecosystem}}
	}
	var sigs []string
	for _, u := range units {
		x := e.unitEco(u)
		var mine []ecosystem.Upstream
		for _, up := range ups {
			if up.Ecosystem == x.Name() {
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
		r, err := e.runSteps(ctx, steps)
		if err != nil {
			return total, err
		}
		if r.Infra != "" || r.TimedOut {
			r.DurationMS = time.Since(t0).Milliseconds()
			return r, nil
		}
		if !r.Built {
			total.Built = false
		}
		prefix := ""
		if u.Dir != "." {
			prefix = u.Dir + ": "
		}
		for _, t := range r.Failed {
			total.Failed = append(total.Failed, prefix+t)
		}
		if !r.Passed {
			total.Passed = false
			total.Named = total.Named && r.Named
			sigs = append(sigs, prefix+r.Signature)
			if total.Command == "" {
				total.Command, total.Log = r.Command, r.Log
			}
		}
	}
	if !total.Built {
		total.Failed = nil
	}
	if total.Passed {
		total.Named = true
	}
	sort.Strings(total.Failed)
	total.Signature = strings.Join(sigs, ",")
	total.DurationMS = time.Since(t0).Milliseconds()
	return total, nil
}

// runSteps runs a unit's steps in order, stopping at the first failure.
func (e *engine) runSteps(ctx context.Context, steps []ecosystem.Step) (Run, error) {
	r := Run{Built: true, Passed: true, Named: true}
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
		var results ecosystem.Results
		if p != nil {
			results = p.Finish()
		}
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
		case res.ExitCode < 0:
			return Run{Infra: fmt.Sprintf("`%s` was killed", c), Command: c.String(), Log: log}, nil
		case res.OK():
			continue
		}
		r.Passed, r.Command, r.Log = false, c.String(), log
		if s.Stage != ecosystem.Test {
			r.Built = false
			return r, nil
		}
		r.Failed, r.Named, r.Signature = results.Failed, results.Named, results.Signature
		if p == nil {
			r.Named = false
			r.Signature = ecosystem.NewNormalizer().Sum()
		}
		// Units that do not compile fail the build stage.
		if len(results.BuildFailed) > 0 && len(r.Failed) > 0 && subset(r.Failed, results.BuildFailed) {
			r.Built, r.Failed = false, nil
		}
		return r, nil
	}
	return r, nil
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
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
