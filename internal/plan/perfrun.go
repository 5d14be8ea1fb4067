package plan

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cascade-dev/cascade/internal/ecosystem/gomod"
	"github.com/cascade-dev/cascade/internal/ecosystems"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/trace"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// perfPolicy is the performance gate's policy for these options.
func perfPolicy(opt CheckOptions) PerfPolicy {
	pol := DefaultPerfPolicy()
	if opt.BenchRuns > 0 {
		pol.Runs = opt.BenchRuns
	}
	if opt.BenchMaxRuns > 0 {
		pol.MaxRuns = opt.BenchMaxRuns
	}
	pol.MaxRuns = max(pol.MaxRuns, pol.Runs)
	if opt.BenchThreshold > 0 {
		pol.Threshold = opt.BenchThreshold
	}
	return pol
}

// perfGate runs each repo's declared benchmarks at the frozen base and
// head, each run a process of its own, base and head alternating, until
// the answer is stable or the policy's cap is reached, and compares them.
func perfGate(ctx context.Context, g *graph.Workspace, p *Plan, opt CheckOptions) (Gate, error) {
	pol := perfPolicy(opt)
	cache := newPerfCache(opt.CacheDir, opt.NoCache)
	var repos []RepoBench
	var errs []string
	var goEco *gomod.Go
	var stop func()
	sl, err := sandbox.AcquireSlot(opt.CacheDir, "plan")
	if err != nil {
		return Gate{}, err
	}
	defer sl.Release()
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	// The heads are built with the whole change set in place, as they ship.
	with, err := extractSet(ctx, g, p, sl.Dir)
	if err != nil {
		return Gate{}, err
	}
	for _, c := range p.Changes {
		i, err := g.Lookup(c.Repo)
		if err != nil {
			return Gate{}, err
		}
		r := g.Repos[i]
		headDir := filepath.Join(sl.Dir, c.Repo, "head")
		baseDir := filepath.Join(sl.Dir, c.Repo, "base")
		if err := r.Git.Extract(ctx, c.Head, headDir); err != nil {
			return Gate{}, err
		}
		cfg, err := workspace.ReadRepoConfig(headDir)
		if err != nil {
			return Gate{}, err
		}
		if c.Base != c.Head {
			// The benchmark command is the base's, the reviewed one: a
			// change that drops or edits `bench:` does not choose what
			// measures it (one that adds it has no base's to use).
			if err := r.Git.Extract(ctx, c.Base, baseDir); err != nil {
				return Gate{}, err
			}
			baseCfg, err := workspace.ReadRepoConfig(baseDir)
			if err != nil {
				return Gate{}, err
			}
			if baseCfg.Bench != "" {
				cfg.Bench = baseCfg.Bench
			}
		}
		if cfg.Bench == "" {
			continue
		}
		if c.Base == c.Head {
			// Nothing to measure the head against: saying "no slowdown"
			// would be a pass nothing checked.
			errs = append(errs, fmt.Sprintf("%s: `%s` not run: the frozen base is the head itself (the change is already in the default branch, or has no commits of its own), so there is nothing to compare it with", c.Repo, cfg.Bench))
			continue
		}
		if pol.Refusal() != "" {
			// Benchmarks that could never fail the gate are not run: that
			// would only make it look checked.
			errs = append(errs, fmt.Sprintf("%s: `%s` not run", c.Repo, cfg.Bench))
			continue
		}
		if err := replaceOthers(headDir, c.Repo, with); err != nil {
			return Gate{}, err
		}
		key := perfKey{Repo: c.Repo, Base: c.Base, Head: c.Head, Set: setHeads(p), Command: cfg.Bench, Policy: pol,
			Timeout: opt.Timeout, Go: goVersion(ctx), Env: sandbox.PassedEnv()}.sum()
		if s, ok := cache.get(key); ok {
			rb := s.Compare(c.Repo, pol)
			rb.Cached = true
			repos = append(repos, rb)
			continue
		}
		if goEco == nil {
			x, err := ecosystems.StartGo(ctx, g, opt.CacheDir)
			if err != nil {
				return Gate{}, err
			}
			goEco, stop = &x, func() { x.Close() }
		}
		// Modules are fetched first, with the network; the benchmarks run
		// offline, each side writing only its own tree (and the change
		// set's heads it builds against readable).
		for _, dir := range []string{baseDir, headDir} {
			fetch := goEco.Fetch(sandbox.Cmd{Args: append(gomod.FetchArgs(), "./..."),
				Dir: dir, Env: goEco.Env, Timeout: opt.Timeout, ReadOnly: []string{sl.Dir}}, dir)
			trace.Shell(ctx, fetch.Dir, fetch.Args, fetch.Shell)
			if _, err := sandbox.Run(ctx, fetch); err != nil {
				return Gate{}, err
			}
		}
		bench := goEco.Offline(sandbox.Cmd{Shell: cfg.Bench, Env: goEco.Env, Timeout: opt.Timeout, SplitStderr: true, ReadOnly: []string{sl.Dir}}, "")
		run := benchRunner(ctx, c.Repo, bench, baseDir, headDir)
		rb, s, failure, err := sampleBench(c.Repo, cfg.Bench, run, pol)
		if err != nil {
			return Gate{}, err
		}
		if failure != "" {
			errs = append(errs, failure)
			continue
		}
		cache.put(key, s)
		repos = append(repos, rb)
	}
	return PerfGate(repos, errs, pol), nil
}

// extractSet extracts every change's head under dir and lists its Go
// modules, to build the other repos' heads against.
func extractSet(ctx context.Context, g *graph.Workspace, p *Plan, dir string) ([]withModule, error) {
	var with []withModule
	for _, c := range p.Changes {
		i, err := g.Lookup(c.Repo)
		if err != nil {
			return nil, err
		}
		set := filepath.Join(dir, c.Repo, "set")
		if err := g.Repos[i].Git.Extract(ctx, c.Head, set); err != nil {
			return nil, err
		}
		for _, m := range g.Repos[i].Modules {
			if m.Ecosystem == "go" {
				// The head may move the module to a new major path (/v2):
				// the other heads import it under that path.
				with = append(with, withModule{repo: c.Repo, path: gomod.PathAt(set, m.Dir, m.Name), dir: filepath.Join(set, filepath.FromSlash(m.Dir))})
			}
		}
	}
	return with, nil
}

// benchRunner runs cmd once in baseDir or headDir and returns its standard
// output, or why it failed.
func benchRunner(ctx context.Context, repo string, cmd sandbox.Cmd, baseDir, headDir string) func(head bool) (string, string, error) {
	return func(head bool) (string, string, error) {
		c, side := cmd, "base"
		c.Dir = baseDir
		if head {
			c.Dir, side = headDir, "head"
		}
		c.Writable = append(append([]string(nil), c.Writable...), c.Dir)
		trace.Shell(ctx, c.Dir, c.Args, c.Shell)
		res, err := sandbox.Run(ctx, c)
		if err != nil {
			return "", "", err
		}
		if !res.OK() {
			msg := fmt.Sprintf("%s: `%s` failed at the %s", repo, cmd.Shell, side)
			if res.TimedOut {
				msg += fmt.Sprintf(" (timed out after %s)", cmd.Timeout)
			}
			if tail := lastLines(res.Stderr+"\n"+res.Output, 5); tail != "" {
				msg += ": " + tail
			}
			return "", msg, nil
		}
		return res.Output, "", nil
	}
}

// SampleBench runs a repo's benchmark command at the base and the head
// until every benchmark's verdict is stable or pol.MaxRuns is reached,
// and compares them. Each call of run is one process on one side: head
// false for the base. The sides alternate run by run (base, head, base,
// head, ...), so that a burst of other work on the machine, which spans a
// run or two, weighs on both alike. failure, when not "", is why the
// benchmarks could not be compared.
func SampleBench(repo, cmd string, run func(head bool) (out, failure string, err error), pol PerfPolicy) (rb RepoBench, failure string, err error) {
	rb, _, failure, err = sampleBench(repo, cmd, run, pol)
	return rb, failure, err
}

// sampleBench is SampleBench that also returns the samples.
func sampleBench(repo, cmd string, run func(head bool) (out, failure string, err error), pol PerfPolicy) (rb RepoBench, s *BenchSamples, failure string, err error) {
	s = &BenchSamples{}
	for want := pol.Runs; ; want++ {
		for s.Runs < want {
			var vals [2]map[BenchKey]float64
			for _, head := range []bool{false, true} {
				out, failure, err := run(head)
				if err != nil || failure != "" {
					return RepoBench{}, nil, failure, err
				}
				side := 0
				if head {
					side = 1
				}
				vals[side] = ParseBenchRun(repo, out)
				if len(vals[side]) == 0 {
					return RepoBench{}, nil, fmt.Sprintf("%s: `%s` printed no benchmark results", repo, cmd), nil
				}
			}
			s.Add(false, vals[0])
			s.Add(true, vals[1])
			s.Runs++
		}
		rb = s.Compare(repo, pol)
		if rb.Stable() || s.Runs >= pol.MaxRuns {
			return rb, s, "", nil
		}
	}
}

// lastLines is the last n non-empty lines of out, joined with " | ".
func lastLines(out string, n int) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// setHeads lists every change's repo and frozen head: the trees a head is
// built with.
func setHeads(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Repo+"@"+c.Head)
	}
	slices.Sort(out)
	return out
}
