package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/cascade-dev/cascade/internal/ecosystem/gomod"
	"github.com/cascade-dev/cascade/internal/ecosystem/npm"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/goproxy"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// cacheVersion changes whenever the meaning of a cached result changes.
const cacheVersion = "verify-v6"

// maxLog is how much of a failing command's output a result keeps.
const maxLog = 16 << 10

func (e *engine) setup(ctx context.Context) error {
	e.npmCache = filepath.Join(e.opt.CacheDir, "npm")
	sources := goModules(e.g)
	if len(sources) == 0 {
		return nil
	}
	tool, err := gomod.LookupToolchain(ctx)
	if err != nil {
		return err
	}
	e.tool = tool
	e.proxy, err = goproxy.Start(sources, filepath.Join(e.opt.CacheDir, "goproxy"))
	if err != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("starting the workspace module proxy: %w", err))
	}
	var names []string
	h := sha256.New()
	for _, s := range sources {
		names = append(names, s.Module)
	}
	for _, r := range e.g.Repos {
		if r.Git != nil {
			fmt.Fprintf(h, "%s %s\n", r.Name, r.Git.TagsState())
		}
	}
	e.proxyHash = hex.EncodeToString(h.Sum(nil))[:16]
	e.goEnv = gomod.BuildEnv(tool, e.proxy.URL, filepath.Join(e.opt.CacheDir, "gomod"), filepath.Join(e.opt.CacheDir, "gopath"), names)
	return nil
}

func (e *engine) close() {
	if e.proxy != nil {
		e.proxy.Close()
	}
}

// member returns the change set's member for a repo, if any.
func (e *engine) member(node int) (Member, bool) {
	for _, m := range e.members {
		if m.node == node {
			return m, true
		}
	}
	return Member{}, false
}

// injected are the members in place in a state, other than the downstream itself.
func (e *engine) injected(state string, node int) []Member {
	ms := e.members[:1]
	if state == Set {
		ms = e.members
	}
	var out []Member
	for _, m := range ms {
		if m.node != node {
			out = append(out, m)
		}
	}
	return out
}

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
			// input (a manifest that cannot be rewritten) is also reported
			// as a problem of the whole run.
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

// unit is one module of a downstream to build and test: a Go module (with
// the packages to test, nil for all) or an npm package.
type unit struct {
	Dir       string   `json:"dir"`
	Ecosystem string   `json:"ecosystem"`
	Name      string   `json:"name"`
	Packages  []string `json:"packages,omitempty"`
	// Build lists the packages with code to build; nil with Packages nil
	// means the whole module.
	Build []string `json:"build,omitempty"`
}

func (e *engine) verifyState(ctx context.Context, j job, state string) (Result, error) {
	t0 := time.Now()
	d := e.g.Repos[j.node]
	res := e.base(j, state)
	injected := e.injected(state, j.node)
	self, isMember := e.member(j.node)
	selfChanged := isMember && state == Set && self.Digest != d.Commit

	// Which modules, and which of their packages, does the change reach?
	var units []unit
	var skipped []string
	// What the downstream requires today of each injected module: the
	// change is measured from there.
	required := map[string]string{}
	for _, m := range d.Modules {
		for _, r := range m.Requires {
			required[r.Module] = r.Version
		}
	}
	changedAll, changed, changedNames, err := e.changes(ctx, injected, required)
	if err != nil {
		return res, err
	}
	var npmDeps []Member
	for _, m := range d.Modules {
		switch m.Ecosystem {
		case scan.Go:
			u := unit{Dir: m.Dir, Ecosystem: scan.Go, Name: m.Name}
			if !e.opt.AllPackages && !selfChanged && !changedAll {
				sel, err := e.affected(ctx, j.node, m, changed)
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
		case scan.NPM:
			deps := e.npmUpstream(j.node, injected)
			if len(deps) == 0 && !selfChanged {
				skipped = append(skipped, m.Name)
				continue
			}
			npmDeps = deps
			units = append(units, unit{Dir: m.Dir, Ecosystem: scan.NPM, Name: m.Name})
		}
	}
	if len(units) == 0 {
		res.Verdict, res.Baseline, res.Candidate = Skipped, "none", "none"
		what := "the changed packages"
		if len(changedNames) > 0 {
			what = "the changed packages (" + strings.Join(shorten(changedNames, 4), ", ") + ")"
		}
		res.Reason = "imports none of " + what + " and no requirement changed"
		if len(d.Modules) == 0 {
			res.Reason = "has no Go module or npm package to build"
		}
		res.DurationMS = time.Since(t0).Milliseconds()
		return res, nil
	}

	// The candidate tree: the downstream at its ref in this state, with the
	// injected members put in place.
	var candDir string
	if selfChanged && self.Dir != "" {
		candDir, err = e.copyDir(self.Dir, filepath.Join("downstream", d.Name, state))
	} else {
		candDir, err = e.freshTree(ctx, j.node, res.Commit, filepath.Join("downstream", d.Name, state))
	}
	if err != nil {
		return res, err
	}
	cfg, err := workspace.ReadRepoConfig(candDir)
	if err != nil {
		return res, err
	}
	present := units[:0]
	for _, u := range units {
		modDir := filepath.Join(candDir, filepath.FromSlash(u.Dir))
		if _, err := os.Stat(modDir); err != nil {
			continue // the module does not exist at this ref
		}
		if u.Ecosystem == scan.Go {
			name := d.Name + "@" + res.Ref + ":" + path.Join(u.Dir, gomod.FileName)
			if err := e.replace(ctx, modDir, name, injected); err != nil {
				return res, err
			}
		}
		present = append(present, u)
	}
	units = present
	if len(units) == 0 {
		res.Verdict, res.Baseline, res.Candidate = Skipped, "none", "none"
		res.Reason = "has none of its modules at " + res.Ref
		return res, nil
	}
	tarballs, err := e.packAll(ctx, npmDeps)
	if err != nil {
		return res, err
	}
	for _, u := range units {
		res.Packages = append(res.Packages, u.Packages...)
	}

	baseKey := e.key("baseline", d.Commit, units, cfg)
	base, cached, err := e.baseline(ctx, j.node, baseKey, units, cfg)
	if err != nil {
		return res, err
	}
	candKey := e.key("candidate", res.Commit, units, cfg, baseKey, fmt.Sprint(e.opt.Retries), digests(injected), self.Digest)
	var attempts []Run
	if !e.cache.get(candKey, &attempts) || len(attempts) == 0 {
		cached = false
		for i := 0; i <= e.opt.Retries; i++ {
			r, err := e.runUnits(ctx, candDir, units, cfg, tarballs)
			if err != nil {
				return res, err
			}
			attempts = append(attempts, r)
			if broke, tests := newFailures(base, r); r.Infra != "" || (!broke && len(tests) == 0) {
				break
			}
		}
		e.cache.put(candKey, attempts)
	}
	jd := judge(base, attempts)
	res.Verdict, res.Tests, res.Command, res.Reason = jd.Verdict, jd.Tests, jd.Command, jd.Reason
	res.Log = jd.Log
	res.Attempts = len(attempts)
	res.Baseline = passFail(base)
	res.Candidate = passFail(attempts[len(attempts)-1])
	res.Cached = cached
	if len(skipped) > 0 && res.Reason == "" {
		res.Reason = "not affected: " + strings.Join(skipped, ", ")
	}
	res.DurationMS = time.Since(t0).Milliseconds()
	return res, nil
}

func passFail(r Run) string {
	if r.Infra != "" {
		return "none"
	}
	if r.Passed {
		return "pass"
	}
	return "fail"
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

// key is the content address of a run: everything its outcome depends on.
func (e *engine) key(kind, commit string, units []unit, cfg *workspace.RepoConfig, extra ...string) string {
	data, _ := json.Marshal(struct {
		V, Kind, Commit, Go, Proxy string
		Units                      []unit
		Build, Test                string
		Timeout                    time.Duration
		Extra                      []string
	}{cacheVersion, kind, commit, e.tool.Version, e.proxyHash, units, cfg.Build, cfg.Test, e.opt.Timeout, extra})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// baseline builds and tests the downstream at its default branch with what
// it requires today; a failing baseline is retried once.
func (e *engine) baseline(ctx context.Context, node int, key string, units []unit, cfg *workspace.RepoConfig) (Run, bool, error) {
	var r Run
	if e.cache.get(key, &r) {
		return r, true, nil
	}
	d := e.g.Repos[node]
	dir, err := e.freshTree(ctx, node, d.Commit, filepath.Join("downstream", d.Name, "baseline"))
	if err != nil {
		return r, false, err
	}
	bcfg, err := workspace.ReadRepoConfig(dir)
	if err != nil {
		return r, false, err
	}
	tarballs, err := e.npmBaseline(ctx, node, units)
	if err != nil {
		return r, false, err
	}
	for attempt := 0; attempt < 2; attempt++ {
		r, err = e.runUnits(ctx, dir, units, bcfg, tarballs)
		if err != nil {
			return r, false, err
		}
		if r.Passed || r.Infra != "" {
			break
		}
	}
	e.cache.put(key, r)
	return r, false, nil
}

// runUnits builds and tests every unit in root: one attempt.
func (e *engine) runUnits(ctx context.Context, root string, units []unit, cfg *workspace.RepoConfig, tarballs []string) (Run, error) {
	t0 := time.Now()
	total := Run{Built: true, Passed: true}
	fail := func(r Run) {
		total.Passed = false
		if total.Command == "" {
			total.Command, total.Log = r.Command, r.Log
		}
	}
	// A repo that says how it is built and tested is run its way, once.
	if cfg.Build != "" || cfg.Test != "" {
		units = []unit{{Dir: ".", Ecosystem: units[0].Ecosystem, Name: "repo"}}
	}
	for _, u := range units {
		dir := filepath.Join(root, filepath.FromSlash(u.Dir))
		var r Run
		var err error
		switch u.Ecosystem {
		case scan.Go:
			r, err = e.runGo(ctx, dir, u, cfg)
		case scan.NPM:
			r, err = e.runNPM(ctx, dir, cfg, tarballs)
		}
		if err != nil {
			return total, err
		}
		if r.Infra != "" {
			r.DurationMS = time.Since(t0).Milliseconds()
			return r, nil
		}
		if !r.Built {
			total.Built = false
		}
		for _, t := range r.Failed {
			if u.Dir != "." {
				t = u.Dir + ": " + t
			}
			total.Failed = append(total.Failed, t)
		}
		if !r.Passed {
			fail(r)
		}
	}
	if !total.Built {
		total.Failed = nil
	}
	sort.Strings(total.Failed)
	total.DurationMS = time.Since(t0).Milliseconds()
	return total, nil
}

// exec runs one sandboxed command and turns an infrastructure failure into
// Run.Infra.
func (e *engine) exec(ctx context.Context, c sandbox.Cmd) (sandbox.Result, string, error) {
	c.Timeout = e.opt.Timeout
	res, err := sandbox.Run(ctx, c)
	if err != nil {
		return res, "", err
	}
	switch {
	case res.TimedOut:
		return res, fmt.Sprintf("timed out after %s running `%s` (raise --timeout if it needs longer)", e.opt.Timeout, c), nil
	case res.StartErr != nil:
		return res, fmt.Sprintf("could not run `%s`: %v", c, res.StartErr), nil
	case res.ExitCode < 0:
		return res, fmt.Sprintf("`%s` was killed", c), nil
	}
	return res, "", nil
}

func (e *engine) runGo(ctx context.Context, dir string, u unit, cfg *workspace.RepoConfig) (Run, error) {
	pkgs, buildPkgs := u.Packages, u.Build
	if len(pkgs) == 0 {
		pkgs, buildPkgs = []string{"./..."}, []string{"./..."}
	}
	build := sandbox.Cmd{Args: append([]string{"go", "build"}, buildPkgs...), Dir: dir, Env: e.goEnv}
	test := sandbox.Cmd{Args: append([]string{"go", "test", "-json"}, pkgs...), Dir: dir, Env: e.goEnv}
	if cfg.Build != "" {
		build = sandbox.Cmd{Shell: cfg.Build, Dir: dir, Env: e.goEnv}
	}
	if cfg.Test != "" {
		test = sandbox.Cmd{Shell: cfg.Test, Dir: dir, Env: e.goEnv}
	}
	// `go test` compiles every package it is given (tests or not) and says
	// which did not build: a separate `go build` would only repeat it. A
	// repo that says how it is built is built its way first.
	if cfg.Build != "" {
		res, infra, err := e.exec(ctx, build)
		if err != nil || infra != "" {
			return Run{Infra: infra, Command: build.String(), Log: tail(res.Output)}, err
		}
		if !res.OK() {
			return Run{Built: false, Command: build.String(), Log: tail(res.Output)}, nil
		}
	}
	res, infra, err := e.exec(ctx, test)
	if err != nil || infra != "" {
		return Run{Infra: infra, Command: test.String(), Log: tail(res.Output)}, err
	}
	failed, text, buildFailed := gomod.TestReportBuild(res.Output)
	if len(failed) == 0 {
		failed = npm.FailedTests(text)
	}
	r := Run{Built: true, Passed: res.OK(), Failed: failed}
	if !r.Passed {
		r.Command, r.Log = test.String(), tail(text)
		// A package (or its tests) that does not compile fails the build stage.
		if (buildFailed || isBuildFailure(text)) && len(failed) > 0 && allPackages(failed) {
			r.Built, r.Failed = false, nil
		}
	}
	return r, nil
}

// isBuildFailure reports go test output of a package that did not compile.
func isBuildFailure(text string) bool {
	return strings.Contains(text, "[build failed]") || strings.Contains(text, "[setup failed]")
}

func allPackages(failed []string) bool {
	for _, f := range failed {
		if strings.Contains(f, ".Test") || strings.Contains(f, ".Example") || strings.Contains(f, ".Fuzz") {
			return false
		}
	}
	return true
}

func (e *engine) runNPM(ctx context.Context, dir string, cfg *workspace.RepoConfig, tarballs []string) (Run, error) {
	env := npm.Env(e.npmCache)
	install := sandbox.Cmd{Args: append([]string{"npm", "install", "--no-save", "--no-package-lock"}, tarballs...), Dir: dir, Env: env}
	build := sandbox.Cmd{Args: []string{"npm", "run", "build", "--if-present"}, Dir: dir, Env: env}
	test := sandbox.Cmd{Args: []string{"npm", "test"}, Dir: dir, Env: env}
	if cfg.Build != "" {
		build = sandbox.Cmd{Shell: cfg.Build, Dir: dir, Env: env}
	}
	if cfg.Test != "" {
		test = sandbox.Cmd{Shell: cfg.Test, Dir: dir, Env: env}
	}
	for _, c := range []sandbox.Cmd{install, build} {
		res, infra, err := e.exec(ctx, c)
		if err != nil || infra != "" {
			return Run{Infra: infra, Command: c.String(), Log: tail(res.Output)}, err
		}
		if !res.OK() {
			return Run{Built: false, Command: c.String(), Log: tail(res.Output)}, nil
		}
	}
	if cfg.Test == "" && !npm.HasScript(filepath.Join(dir, npm.FileName), "test") {
		// No tests: the build verdict is all there is.
		return Run{Built: true, Passed: true}, nil
	}
	res, infra, err := e.exec(ctx, test)
	if err != nil || infra != "" {
		return Run{Infra: infra, Command: test.String(), Log: tail(res.Output)}, err
	}
	r := Run{Built: true, Passed: res.OK()}
	if !r.Passed {
		r.Failed = npm.FailedTests(res.Output)
		r.Command, r.Log = test.String(), tail(res.Output)
	}
	return r, nil
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

// freshTree extracts the repo at commit into the work dir, at a path that
// depends only on label (a repo and a state), so that it is the same from
// one run to the next.
func (e *engine) freshTree(ctx context.Context, node int, commit, label string) (string, error) {
	dst := filepath.Join(e.work, label)
	sandbox.RemoveAll(dst)
	if err := e.g.Repos[node].Git.Extract(ctx, commit, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// sharedTree extracts a member once, for every job to read.
func (e *engine) sharedTree(ctx context.Context, m Member) (string, error) {
	if m.Dir != "" {
		return m.Dir, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if d, ok := e.trees[m.Repo]; ok {
		return d, e.treeErrs[m.Repo]
	}
	dst := filepath.Join(e.work, "members", m.Repo)
	err := e.g.Repos[m.node].Git.Extract(ctx, m.Commit, dst)
	e.trees[m.Repo], e.treeErrs[m.Repo] = dst, err
	return dst, err
}

func (e *engine) copyDir(src, label string) (string, error) {
	dst := filepath.Join(e.work, label)
	sandbox.RemoveAll(dst)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() && (fi.Name() == ".git" || fi.Name() == "node_modules") && p != src {
			return filepath.SkipDir
		}
		t := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(t, 0o755)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(t, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm()|0o200)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, fmt.Errorf("copying %s: %w", src, err))
	}
	return dst, nil
}

// replace points every Go module of the injected members at their trees
// in the go.mod of the module in modDir.
func (e *engine) replace(ctx context.Context, modDir, name string, injected []Member) error {
	file := filepath.Join(modDir, gomod.FileName)
	data, err := os.ReadFile(file)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return errkind.New(errkind.Invalid, "cannot rewrite %s to use the candidate: %v (fix the file)", name, err)
	}
	for _, m := range injected {
		for _, mod := range e.g.Repos[m.node].Modules {
			if mod.Ecosystem != scan.Go {
				continue
			}
			// A committed candidate is served by the workspace proxy under a
			// version (its tag, or a pseudo-version) and lands in the module
			// cache; uncommitted work is used in place.
			target, version := "", ""
			if m.Dir != "" {
				target = filepath.Join(m.Dir, filepath.FromSlash(mod.Dir))
			} else {
				v, err := e.moduleVersion(ctx, m, mod)
				if err != nil {
					return err
				}
				target, version = mod.Name, v
			}
			if err := f.AddReplace(mod.Name, "", target, version); err != nil {
				return errkind.New(errkind.Invalid, "cannot rewrite %s to use the candidate: %v", name, err)
			}
		}
	}
	out, err := f.Format()
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	return os.WriteFile(file, out, 0o644)
}

// moduleVersion is the version under which the workspace proxy serves
// module mod at member m's commit: the module's tag when the commit is
// tagged, else a pseudo-version based on the highest tag below it.
func (e *engine) moduleVersion(ctx context.Context, m Member, mod scan.Module) (string, error) {
	key := m.Digest + ":" + mod.Dir
	e.mu.Lock()
	v, ok := e.versions[key]
	e.mu.Unlock()
	if ok {
		return v, nil
	}
	r := e.g.Repos[m.node]
	tags, err := e.mergedTags(ctx, m)
	if err != nil {
		return "", err
	}
	older := highestValid(tags, mod)
	if older != "" {
		if c, err := r.Git.Resolve(ctx, "refs/tags/"+scan.TagName(mod.Dir, older)); err == nil && c == m.Commit {
			v = older
		}
	}
	if v == "" {
		t, err := r.Git.CommitTime(ctx, m.Commit)
		if err != nil {
			return "", err
		}
		major := "v0"
		if _, pathMajor, ok := module.SplitPathVersion(mod.Name); ok && pathMajor != "" {
			major = strings.TrimLeft(pathMajor, "/.")
		} else if older != "" {
			major = semver.Major(older)
		}
		if older != "" && semver.Major(older) != major {
			older = ""
		}
		v = module.PseudoVersion(major, older, time.Unix(t, 0), m.Commit[:12])
	}
	e.mu.Lock()
	e.versions[key] = v
	e.mu.Unlock()
	return v, nil
}

// highestValid is the highest tag of the module that its path allows (a
// v2.0.0 tag does not serve a module whose path has no /v2).
func highestValid(tags []string, mod scan.Module) string {
	prefix := scan.TagName(mod.Dir, "")
	var valid []string
	for _, t := range tags {
		v, ok := strings.CutPrefix(t, prefix)
		if ok && module.Check(mod.Name, v) == nil {
			valid = append(valid, prefix+v)
		}
	}
	return scan.HighestTag(valid, mod.Dir)
}

// mergedTags lists the tags reachable from a member's commit, once.
func (e *engine) mergedTags(ctx context.Context, m Member) ([]string, error) {
	e.mu.Lock()
	tags, ok := e.tags[m.Digest]
	e.mu.Unlock()
	if ok {
		return tags, nil
	}
	tags, err := e.g.Repos[m.node].Git.MergedTags(ctx, m.Commit)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.tags[m.Digest] = tags
	e.mu.Unlock()
	return tags, nil
}

// changes returns the packages the injected members change relative to the
// release their downstreams use: the highest semver tag reachable from the
// member's commit (else its merge base with the default branch). all is
// true when impact cannot be narrowed: a local directory, or a changed go.mod.
func (e *engine) changes(ctx context.Context, injected []Member, required map[string]string) (all bool, pkgs map[string]bool, names []string, err error) {
	key := digests(injected)
	for _, m := range injected {
		for _, mod := range e.g.Repos[m.node].Modules {
			if v, ok := required[mod.Name]; ok {
				key += "|" + mod.Name + "@" + v
			}
		}
	}
	e.mu.Lock()
	c, ok := e.changed[key]
	e.mu.Unlock()
	if !ok {
		c.all, c.pkgs, c.names, c.err = e.computeChanges(ctx, injected, required)
		e.mu.Lock()
		e.changed[key] = c
		e.mu.Unlock()
	}
	return c.all, c.pkgs, c.names, c.err
}

// changeSet is what the injected members of a state change.
type changeSet struct {
	all   bool
	pkgs  map[string]bool
	names []string
	err   error
}

func (e *engine) computeChanges(ctx context.Context, injected []Member, required map[string]string) (all bool, pkgs map[string]bool, names []string, err error) {
	pkgs = map[string]bool{}
	for _, m := range injected {
		r := e.g.Repos[m.node]
		if m.Dir != "" {
			return true, nil, nil, nil
		}
		// The release downstreams use: the highest tag below the member's
		// commit (a commit that is itself tagged was just released, and is
		// compared with the release before it).
		tags, err := r.Git.MergedTags(ctx, m.Commit+"^")
		if err != nil {
			tags = nil // the first commit: no release before it
		}
		var nested []string
		for _, mod := range r.Modules {
			if mod.Ecosystem == scan.Go {
				nested = append(nested, mod.Dir)
			}
		}
		for _, mod := range r.Modules {
			if mod.Ecosystem != scan.Go {
				continue
			}
			base := ""
			if v, ok := required[mod.Name]; ok && semver.IsValid(v) {
				// The version the downstream requires, when it is a tag or
				// a pseudo-version of a commit of this repo.
				ref := "refs/tags/" + scan.TagName(mod.Dir, strings.TrimSuffix(v, "+incompatible"))
				if module.IsPseudoVersion(v) {
					ref, _ = module.PseudoVersionRev(v)
				}
				if c, err := r.Git.Resolve(ctx, ref); err == nil {
					base = c
				}
			}
			switch v := scan.HighestTag(tags, mod.Dir); {
			case base != "":
			case v != "":
				if base, err = r.Git.Resolve(ctx, "refs/tags/"+scan.TagName(mod.Dir, v)); err != nil {
					return false, nil, nil, err
				}
			default:
				if base, err = r.Git.MergeBase(ctx, r.Commit, m.Commit); err != nil {
					return false, nil, nil, err
				}
			}
			if base == "" {
				return true, nil, nil, nil
			}
			files, err := r.Git.ChangedFiles(ctx, base, m.Commit)
			if err != nil {
				return false, nil, nil, err
			}
			ps, reqs := gomod.ChangedPackages(files, mod.Name, mod.Dir, nested)
			if reqs {
				return true, nil, nil, nil
			}
			tree, err := e.sharedTree(ctx, m)
			if err != nil {
				return false, nil, nil, err
			}
			for p := range ps {
				// Only directories with Go files are packages (a changed
				// JSON Schema under schemas/ is not).
				rel := strings.TrimPrefix(strings.TrimPrefix(p, mod.Name), "/")
				if hasGoFiles(filepath.Join(tree, filepath.FromSlash(mod.Dir), filepath.FromSlash(rel))) {
					pkgs[p] = true
				}
			}
		}
	}
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	return false, pkgs, names, nil
}

// selection is the packages of a module to build and test.
type selection struct {
	// All means every package: impact could not be narrowed.
	All         bool
	Test, Build []string
}

// affected selects the packages of Go module m of the downstream that
// import, directly or not, one of the changed packages. It reads the
// import graph of the downstream at its baseline: a package whose imports
// change in the candidate has changed files itself, so the baseline graph
// finds every importer. The graph is a function of the downstream's commit
// and of the workspace's releases, and is cached as such (like a build
// cache, even with --no-cache).
func (e *engine) affected(ctx context.Context, node int, m scan.Module, changed map[string]bool) (selection, error) {
	if len(changed) == 0 {
		return selection{}, nil
	}
	d := e.g.Repos[node]
	key := e.key("imports", d.Commit, []unit{{Dir: m.Dir, Name: m.Name}}, &workspace.RepoConfig{})
	var graph struct {
		OK   bool
		List []byte
	}
	if !(&resultCache{dir: e.cache.dir}).get(key, &graph) {
		e.mu.Lock()
		tree, ok := e.trees["imports:"+d.Name]
		e.mu.Unlock()
		if !ok {
			var err error
			if tree, err = e.freshTree(ctx, node, d.Commit, filepath.Join("downstream", d.Name, "imports")); err != nil {
				return selection{}, err
			}
			e.mu.Lock()
			e.trees["imports:"+d.Name] = tree
			e.mu.Unlock()
		}
		c := sandbox.Cmd{Args: []string{"go", "list", "-e", "-test", "-json=" + gomod.ListFields, "./..."},
			Dir: filepath.Join(tree, filepath.FromSlash(m.Dir)), Env: e.goEnv, OutputLimit: 64 << 20, SplitStderr: true}
		res, infra, err := e.exec(ctx, c)
		if err != nil {
			return selection{}, err
		}
		graph.OK = infra == "" && res.OK() && res.Truncated == 0
		if graph.OK {
			graph.List = []byte(res.Output)
		}
		e.cache.put(key, graph)
	}
	if !graph.OK {
		// Impact cannot be narrowed; test everything rather than guess.
		return selection{All: true}, nil
	}
	test, build, err := gomod.Affected(graph.List, m.Name, changed)
	if err != nil {
		return selection{All: true}, nil
	}
	return selection{Test: test, Build: build}, nil
}

func hasGoFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
			return true
		}
	}
	return false
}

type packResult struct {
	file string
	err  error
}

// pack runs `npm pack` on the npm package in dir, once per content.
func (e *engine) pack(ctx context.Context, key, dir string) (string, error) {
	e.mu.Lock()
	if p, ok := e.packs[key]; ok {
		e.mu.Unlock()
		return p.file, p.err
	}
	e.mu.Unlock()
	dest, err := os.MkdirTemp(e.work, "pack-")
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	c := sandbox.Cmd{Args: []string{"npm", "pack", "--pack-destination", dest}, Dir: dir, Env: npm.Env(e.npmCache), Timeout: e.opt.Timeout}
	res, err := sandbox.Run(ctx, c)
	var file string
	if err == nil {
		if !res.OK() {
			err = errkind.New(errkind.Infra, "`npm pack` in %s failed: %s", dir, strings.TrimSpace(tail(res.Output)))
		} else if m, _ := filepath.Glob(filepath.Join(dest, "*.tgz")); len(m) == 1 {
			file = m[0]
		} else {
			err = errkind.New(errkind.Infra, "`npm pack` in %s made no tarball", dir)
		}
	}
	e.mu.Lock()
	e.packs[key] = packResult{file, err}
	e.mu.Unlock()
	return file, err
}

// npmUpstream returns the injected members with npm packages that the
// downstream depends on, directly or through others.
func (e *engine) npmUpstream(node int, injected []Member) []Member {
	upstream := map[int]bool{}
	for _, r := range e.g.Upstream(node, false).Items {
		upstream[r.Node] = true
	}
	var out []Member
	for _, m := range injected {
		if !upstream[m.node] {
			continue
		}
		for _, mod := range e.g.Repos[m.node].Modules {
			if mod.Ecosystem == scan.NPM {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// packAll packs the npm packages of members.
func (e *engine) packAll(ctx context.Context, members []Member) ([]string, error) {
	var out []string
	for _, m := range members {
		for _, mod := range e.g.Repos[m.node].Modules {
			if mod.Ecosystem != scan.NPM {
				continue
			}
			tree, err := e.sharedTree(ctx, m)
			if err != nil {
				return nil, err
			}
			file, err := e.pack(ctx, m.Digest+":"+mod.Dir, filepath.Join(tree, filepath.FromSlash(mod.Dir)))
			if err != nil {
				return nil, err
			}
			out = append(out, file)
		}
	}
	return out, nil
}

// npmBaseline packs, for each workspace npm package the downstream depends
// on, the release its range selects today (the highest matching tag), or
// the default branch when no tag matches.
func (e *engine) npmBaseline(ctx context.Context, node int, units []unit) ([]string, error) {
	hasNPM := false
	for _, u := range units {
		hasNPM = hasNPM || u.Ecosystem == scan.NPM
	}
	if !hasNPM {
		return nil, nil
	}
	var out []string
	for _, edge := range e.g.Edges[node] {
		if edge.Via != scan.NPM {
			continue
		}
		up := e.g.Repos[edge.To]
		var mod *scan.Module
		for i := range up.Modules {
			if up.Modules[i].Name == edge.Module {
				mod = &up.Modules[i]
			}
		}
		if mod == nil {
			continue
		}
		commit := up.Commit
		tags, err := up.Git.MergedTags(ctx, up.Commit)
		if err != nil {
			return nil, err
		}
		if v := npm.BestVersion(edge.Version, tags); v != "" {
			if c, err := up.Git.Resolve(ctx, "refs/tags/"+v); err == nil {
				commit = c
			}
		}
		key := "base:" + up.Name + ":" + commit
		e.mu.Lock()
		tree, ok := e.trees[key]
		if !ok {
			tree = filepath.Join(e.work, "baseline-deps", up.Name+"-"+commit[:12])
			if err := up.Git.Extract(ctx, commit, tree); err != nil {
				e.mu.Unlock()
				return nil, err
			}
			e.trees[key] = tree
		}
		e.mu.Unlock()
		file, err := e.pack(ctx, key+":"+mod.Dir, filepath.Join(tree, filepath.FromSlash(path.Clean(mod.Dir))))
		if err != nil {
			return nil, err
		}
		out = append(out, file)
	}
	return out, nil
}

// resultCache stores runs by content key.
type resultCache struct {
	dir string
	off bool
}

func (c *resultCache) file(key string) string {
	return filepath.Join(c.dir, key[:2], key+".json")
}

func (c *resultCache) get(key string, v any) bool {
	if c.off || c.dir == "" {
		return false
	}
	data, err := os.ReadFile(c.file(key))
	return err == nil && json.Unmarshal(data, v) == nil
}

func (c *resultCache) put(key string, v any) {
	if c.dir == "" {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	f := c.file(key)
	if os.MkdirAll(filepath.Dir(f), 0o755) == nil {
		_ = workspace.WriteFile(f, data, 0o644)
	}
}
