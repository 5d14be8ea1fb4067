// Package verify builds and tests the downstreams of an upstream candidate,
// each paired with its baseline, and judges each one: passed, regressed,
// fixed, broken, flaky, skipped or error. With a change set (other refs that
// ship together) every affected downstream is verified twice: with the
// candidate alone, and with the whole set in place. The result is a pure
// function of the workspace's commits and the options, cached by content.
package verify

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/sandbox"
)

// States of a verification.
const (
	Alone = "alone" // only the upstream candidate in place
	Set   = "set"   // every ref of the change set in place
)

// Options are the inputs of a verification besides the workspace.
type Options struct {
	// Upstream is "REPO[@REF]"; With are "REPO@REF" refs that ship with it.
	Upstream string
	With     []string
	// Only, Tiers and Direct narrow the downstreams.
	Only   []string
	Tiers  []string
	Direct bool
	// Jobs is how many downstreams are verified at once (default: cores).
	Jobs int
	// Retries is how often a failing candidate is retried.
	Retries int
	// Timeout bounds every build or test command.
	Timeout     time.Duration
	AllPackages bool
	NoCache     bool
	CacheDir    string
	// BaseDir is where relative local-directory refs are resolved.
	BaseDir string
	// Progress, if set, hears about every job that starts and ends.
	Progress func(Progress)
}

// Progress is a progress event.
type Progress struct {
	Done, Total int
	// Repo and State name the job that started or ended; Result is set when it ended.
	Repo, State string
	Result      *Result
}

// Result is the verdict for one downstream in one state.
type Result struct {
	Repo   string `json:"repo"`
	Ref    string `json:"ref"`
	Commit string `json:"commit"`
	State  string `json:"state"`
	Cause  string `json:"cause,omitempty"`
	// Baseline is "pass", "fail", "flaky" (failed, then passed on its
	// retry) or "none" (not run); Candidate is "pass", "fail" or "none".
	Baseline string `json:"baseline"`
	// BaselineFlaky names what failed at the baseline before it passed.
	BaselineFlaky []string `json:"baseline_flaky,omitempty"`
	// BaselineFailed names what fails at the baseline.
	BaselineFailed []string `json:"baseline_failed,omitempty"`
	Candidate      string   `json:"candidate"`
	Verdict        string   `json:"verdict"`
	Attempts       int      `json:"attempts"`
	DurationMS     int64    `json:"duration_ms"`
	Log            string   `json:"log"`
	Command        string   `json:"command,omitempty"`
	Tests          []string `json:"tests,omitempty"`
	// BuildFailure is true when the verdict rests on code that does not
	// build; Tests then names what does not build.
	BuildFailure bool     `json:"build_failure,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	Depth        int      `json:"depth"`
	Packages     []string `json:"packages,omitempty"`
	Cached       bool     `json:"cached,omitempty"`
}

// Report is the outcome of a verification.
type Report struct {
	Upstream   Member         `json:"upstream"`
	With       []Member       `json:"with,omitempty"`
	Results    []Result       `json:"results"`
	Summary    map[string]int `json:"summary"`
	Conclusion string         `json:"conclusion"`
	// Order is the safe merge order of the change set, upstream first.
	Order []string `json:"order,omitempty"`
	// Problems are bad inputs found along the way (a downstream manifest
	// that cannot be rewritten); those downstreams have an error verdict.
	Problems []string `json:"problems,omitempty"`
	// Unselected are the downstreams --only, --tier or --direct left out:
	// not verified.
	Unselected []string `json:"unselected,omitempty"`
	// Unisolated says the builds and tests ran without the sandbox
	// (--unsafe-sandbox): their code could reach the machine.
	Unisolated bool `json:"unisolated,omitempty"`
}

// Regressed reports whether any downstream regressed.
func (r *Report) Regressed() bool { return r.Summary[Regressed] > 0 }

// Verify runs a verification.
func Verify(ctx context.Context, g *graph.Workspace, opt Options) (*Report, error) {
	if opt.Jobs <= 0 {
		opt.Jobs = runtime.NumCPU()
	}
	if opt.Retries < 0 {
		opt.Retries = 0
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Minute
	}
	members, err := ResolveChangeSet(ctx, g, opt.Upstream, opt.With, opt.BaseDir)
	if err != nil {
		return nil, err
	}
	up := members[0]
	jobs, err := plan(g, members, opt)
	if err != nil {
		return nil, err
	}
	var unselected []string
	if len(opt.Only)+len(opt.Tiers) > 0 || opt.Direct {
		every := opt
		every.Only, every.Tiers, every.Direct = nil, nil, false
		all, err := plan(g, members, every)
		if err != nil {
			return nil, err
		}
		chosen := map[int]bool{}
		for _, j := range jobs {
			chosen[j.node] = true
		}
		for _, j := range all {
			if !chosen[j.node] {
				unselected = append(unselected, g.Name(j.node))
			}
		}
	}
	if opt.CacheDir == "" {
		return nil, errkind.New(errkind.Invalid, "verify needs a cache directory")
	}
	sl, err := sandbox.AcquireSlot(opt.CacheDir, "verify")
	if err != nil {
		return nil, err
	}
	defer sl.Release()
	macKey, err := loadMACKey(filepath.Join(opt.CacheDir, "secret", "results.key"))
	if err != nil {
		return nil, err
	}
	e := &engine{opt: opt, g: g, members: members, work: sl.Dir,
		cache: &resultCache{dir: filepath.Join(opt.CacheDir, "verify"), off: opt.NoCache, key: macKey},
		trees: map[string]*once{}, tags: map[string]*once{}, merged: map[string]*once{}, changed: map[string]*once{},
		tools: map[string]*once{}, imports: map[string]*once{}}
	if err := e.snapshot(); err != nil {
		return nil, err
	}
	if err := e.setup(ctx); err != nil {
		return nil, err
	}
	defer e.close()
	members = e.members

	report := &Report{Upstream: up, With: members[1:], Summary: map[string]int{}, Unisolated: sandbox.UnsafeAllowed()}
	total := 0
	for _, j := range jobs {
		total += len(j.states)
	}
	results := make([][]Result, len(jobs))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		done  int
		errs  []error
		sem   = make(chan struct{}, opt.Jobs)
		jctx  context.Context
		abort context.CancelFunc
	)
	jctx, abort = context.WithCancel(ctx)
	defer abort()
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-jctx.Done():
				return
			}
			defer func() { <-sem }()
			rs, err := e.runJob(jctx, j, func(r Result) {
				mu.Lock()
				done++
				d := done
				mu.Unlock()
				if opt.Progress != nil {
					opt.Progress(Progress{Done: d, Total: total, Repo: r.Repo, State: r.State, Result: &r})
				}
			}, func(state string) {
				mu.Lock()
				d := done
				mu.Unlock()
				if opt.Progress != nil {
					opt.Progress(Progress{Done: d, Total: total, Repo: g.Name(j.node), State: state})
				}
			})
			mu.Lock()
			defer mu.Unlock()
			results[i] = rs
			if err != nil {
				errs = append(errs, err)
				abort()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, rs := range results {
		report.Results = append(report.Results, rs...)
	}
	sortResults(report.Results)
	assignCauses(g, report.Results)
	for _, v := range Verdicts {
		report.Summary[v] = 0
	}
	for _, r := range report.Results {
		report.Summary[r.Verdict]++
	}
	report.Problems = e.problems
	report.Unselected = unselected
	report.Order = mergeOrder(g, members)
	report.Conclusion = Assess(report).Conclusion
	return report, nil
}

// job is one downstream and the states it is verified in.
type job struct {
	node   int
	depth  int
	states []string
}

// plan picks the downstreams and their states.
// CheckSelection checks opt's --only names against the downstreams of
// the change set members (from ResolveChangeSet), as Verify does before
// it builds anything: an unknown repo, or one that is not downstream, is
// an error.
func CheckSelection(g *graph.Workspace, members []Member, opt Options) error {
	_, err := plan(g, members, opt)
	return err
}

func plan(g *graph.Workspace, members []Member, opt Options) ([]job, error) {
	up := members[0]
	depth := map[int]int{}
	alone := map[int]bool{}
	rs := g.Downstream(up.node, opt.Direct)
	for _, r := range rs.Items {
		depth[r.Node] = r.Depth
		alone[r.Node] = true
	}
	inSet := map[int]bool{}
	if len(members) > 1 {
		for _, m := range members {
			for _, r := range g.Downstream(m.node, opt.Direct).Items {
				inSet[r.Node] = true
				if _, ok := depth[r.Node]; !ok {
					depth[r.Node] = r.Depth
				}
			}
		}
	}
	// A repo whose manifests cannot be read may depend on the change set
	// without cascade seeing it: it is verified (and gets an error), never
	// left out.
	for i, r := range g.Repos {
		if _, ok := depth[i]; ok || isMember(members, i) || len(manifestProblems(r)) == 0 {
			continue
		}
		depth[i], alone[i] = 1, true
		if len(members) > 1 {
			inSet[i] = true
		}
	}
	only := map[int]bool{}
	tiers := slices.Clone(opt.Tiers)
	for _, o := range opt.Only {
		// "tier:critical" selects by the tier label of cascade.yaml.
		if t, ok := strings.CutPrefix(o, "tier:"); ok {
			tiers = append(tiers, t)
			continue
		}
		i, err := g.Lookup(o)
		if err != nil {
			return nil, err
		}
		if _, ok := depth[i]; !ok || (i == up.node && !inSet[i]) {
			return nil, errkind.New(errkind.Invalid, "--only %s: %s is not downstream of the change set; its downstreams are %s", o, g.Name(i), nameList(g, depth, up.node))
		}
		only[i] = true
	}
	var jobs []job
	for node, d := range depth {
		if len(only) > 0 && !only[node] {
			continue
		}
		if len(tiers) > 0 && !slices.Contains(tiers, g.Repos[node].Tier) {
			continue
		}
		if node == up.node && !inSet[node] {
			// The upstream is verified only where another member of the
			// change set is upstream of it: with the whole set in place.
			continue
		}
		j := job{node: node, depth: d}
		if alone[node] && node != up.node {
			j.states = append(j.states, Alone)
		}
		if inSet[node] {
			j.states = append(j.states, Set)
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 && len(tiers) > 0 {
		seen := map[string]bool{}
		var have []string
		for node := range depth {
			if t := g.Repos[node].Tier; node != up.node && !seen[t] {
				seen[t] = true
				if t == "" {
					t = `"" (no tier)`
				}
				have = append(have, t)
			}
		}
		sort.Strings(have)
		return nil, errkind.New(errkind.Invalid, "no downstream of the change set has tier %s (tiers are matched exactly); the downstreams' tiers are %s",
			strings.Join(tiers, " or "), strings.Join(have, ", "))
	}
	sort.Slice(jobs, func(a, b int) bool {
		if jobs[a].depth != jobs[b].depth {
			return jobs[a].depth < jobs[b].depth
		}
		return g.Name(jobs[a].node) < g.Name(jobs[b].node)
	})
	return jobs, nil
}

func isMember(members []Member, node int) bool {
	for _, m := range members {
		if m.node == node {
			return true
		}
	}
	return false
}

// nameList names the nodes of a set (but skip), sorted, for a message.
func nameList(g *graph.Workspace, set map[int]int, skip int) string {
	var names []string
	for n := range set {
		if n != skip {
			names = append(names, g.Name(n))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(shorten(names, 12), ", ")
}

func sortResults(rs []Result) {
	stateRank := map[string]int{Alone: 0, Set: 1}
	sort.SliceStable(rs, func(a, b int) bool {
		if rs[a].State != rs[b].State {
			return stateRank[rs[a].State] < stateRank[rs[b].State]
		}
		if rs[a].Depth != rs[b].Depth {
			return rs[a].Depth < rs[b].Depth
		}
		return rs[a].Repo < rs[b].Repo
	})
}

// assignCauses names, for a downstream that regressed, the intermediate
// repo whose own regression explains it: district-sync fails because
// clever-api no longer compiles.
func assignCauses(g *graph.Workspace, rs []Result) {
	regressed := map[string]map[string]bool{}
	for _, r := range rs {
		if r.Verdict == Regressed {
			if regressed[r.State] == nil {
				regressed[r.State] = map[string]bool{}
			}
			regressed[r.State][r.Repo] = true
		}
	}
	for i := range rs {
		r := &rs[i]
		if r.Verdict != Regressed {
			continue
		}
		node, err := g.Lookup(r.Repo)
		if err != nil {
			continue
		}
		var fallback string
		for _, up := range g.Upstream(node, false).Items {
			name := g.Name(up.Node)
			if !regressed[r.State][name] {
				continue
			}
			for _, m := range g.Repos[up.Node].Modules {
				if strings.Contains(r.Log, m.Name) {
					r.Cause = name
					break
				}
			}
			if r.Cause != "" {
				break
			}
			if fallback == "" {
				fallback = name
			}
		}
		if r.Cause == "" && r.BuildFailure {
			r.Cause = fallback
		}
	}
}

// mergeOrder sorts the change set's repos upstream first.
func mergeOrder(g *graph.Workspace, members []Member) []string {
	pos := map[int]int{}
	k := 0
	for _, level := range g.Order() {
		for _, group := range level {
			for _, n := range group {
				pos[n] = k
				k++
			}
		}
	}
	ms := slices.Clone(members)
	sort.SliceStable(ms, func(a, b int) bool { return pos[ms[a].node] < pos[ms[b].node] })
	var out []string
	for _, m := range ms {
		out = append(out, m.Repo)
	}
	return out
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
