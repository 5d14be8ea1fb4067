package plan

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"

	"github.com/cascade-dev/cascade/internal/plural"
)

// The performance gate compares a repo's benchmarks at the frozen base and
// head with benchmath's Mann-Whitney U test. The slowdown's interval is
// the set of slowdowns the same test cannot reject: the head's runs divided
// by 1+s are not significantly different from the base's runs for every s
// in it (the interval that goes with the U test, as the Hodges-Lehmann
// estimate goes with it). A benchmark fails the gate only when its slowdown
// is significant and the low end of that interval clears the threshold; the
// gate adds runs while the answer is borderline. Since it looks at the
// runs again after each one it adds, each look is held to its share of
// alpha (alpha over the number of looks): otherwise every look would be
// another chance for noise to pass for a slowdown.

// Defaults of the performance gate's policy.
const (
	DefaultPerfThreshold = 0.10
	DefaultPerfAlpha     = 0.05
	DefaultBenchMaxRuns  = 20
)

// PerfPolicy is how the performance gate decides.
type PerfPolicy struct {
	// Threshold is the slowdown (0.10 for 10%) beyond which a significant
	// slowdown fails the gate.
	Threshold float64
	// Alpha is the significance level of the gate's answer; each look at
	// the runs tests at LookAlpha, and the slowdown's interval has
	// confidence 1-LookAlpha.
	Alpha float64
	// Runs is how many runs of the benchmark command each side gets
	// first; MaxRuns is the cap the gate adds runs up to while the answer
	// is borderline.
	Runs, MaxRuns int
}

// DefaultPerfPolicy starts with the fewest runs that can reach
// significance and adds runs up to DefaultBenchMaxRuns.
func DefaultPerfPolicy() PerfPolicy {
	return PerfPolicy{
		Threshold: DefaultPerfThreshold,
		Alpha:     DefaultPerfAlpha,
		Runs:      MinRunsForSignificance(DefaultPerfAlpha),
		MaxRuns:   DefaultBenchMaxRuns,
	}
}

// MinRunsForSignificance is the fewest runs per side with which the
// Mann-Whitney U test can reach p < alpha at all: with fewer, even a head
// slower in every run than the base in every run is not significant. For
// alpha 0.05 it is 4 (the smallest p with 3+3 runs is 0.100, with 4+4 it is
// 0.029).
func MinRunsForSignificance(alpha float64) int {
	for n := 2; n <= 50; n++ {
		base, head := make([]float64, n), make([]float64, n)
		for i := range base {
			base[i], head[i] = float64(i+1), float64(n+i+1)
		}
		th := &benchmath.Thresholds{CompareAlpha: alpha}
		if c := benchmath.AssumeNothing.Compare(benchmath.NewSample(base, th), benchmath.NewSample(head, th)); c.P < alpha {
			return n
		}
	}
	return math.MaxInt
}

// Looks is how many times the gate may look at the runs: after the first
// Runs, and after each run it adds up to MaxRuns.
func (p PerfPolicy) Looks() int { return max(1, p.MaxRuns-p.Runs+1) }

// LookAlpha is the significance level of each look: Alpha shared among
// the looks (Bonferroni), so that the gate's answer as a whole is
// significant at Alpha.
func (p PerfPolicy) LookAlpha() float64 { return p.Alpha / float64(p.Looks()) }

// Refusal says why the gate cannot work with this policy, naming the
// setting to change; "" when it can.
func (p PerfPolicy) Refusal() string {
	if sig := MinRunsForSignificance(p.Alpha); p.Runs < sig {
		return fmt.Sprintf("too few runs to reach significance: with %s per side the Mann-Whitney U test can never reach p < %g, so no slowdown could fail this gate; set --bench-runs to %d or more",
			plural.Count(p.Runs, "run"), p.Alpha, sig)
	}
	return ""
}

// BenchKey names a benchmark: its package (the `pkg:` line before it) and
// its full name without the "Benchmark" prefix, sub-benchmarks and
// GOMAXPROCS suffix included.
type BenchKey struct {
	Pkg, Name string
}

// ParseBenchRun reads the output of one run of a benchmark command: one
// value per benchmark, its time per operation in seconds (the median when
// the command runs a benchmark several times, as with -count).
func ParseBenchRun(file, out string) map[BenchKey]float64 {
	all := map[BenchKey][]float64{}
	r := benchfmt.NewReader(strings.NewReader(out), file)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue // syntax errors and unit metadata
		}
		if v, ok := res.Value("sec/op"); ok {
			k := BenchKey{Pkg: res.GetConfig("pkg"), Name: res.Name.String()}
			all[k] = append(all[k], v)
		}
	}
	vals := make(map[BenchKey]float64, len(all))
	for k, xs := range all {
		vals[k] = median(xs)
	}
	return vals
}

func median(xs []float64) float64 {
	return benchmath.AssumeNothing.Summary(benchmath.NewSample(clone(xs), &benchmath.DefaultThresholds), 0.5).Center
}

// Verdict is what the gate makes of one benchmark.
type Verdict string

const (
	// Slower: the slowdown is significant and beyond the threshold even
	// at the low end of its interval. It fails the gate.
	Slower Verdict = "slower"
	// Within: the whole interval of the slowdown is below the threshold.
	Within Verdict = "within"
	// Unsure: the interval reaches across the threshold (or is unbounded),
	// or it lies above it but the U test is not significant.
	Unsure Verdict = "unsure"
)

// BenchComparison is one benchmark compared between base and head.
type BenchComparison struct {
	// Base and Head are the medians, in seconds per operation.
	Base, Head float64
	P          float64
	N1, N2     int
	// Delta is the slowdown of the medians (head/base - 1); Lo and Hi bound
	// it with confidence 1-LookAlpha. They are infinite while there are
	// too few runs for the U test to reject any slowdown.
	Delta, Lo, Hi float64
	Significant   bool
	Verdict       Verdict
	// Stable is true when more runs are unlikely to change the verdict:
	// Within, or Slower with p well below LookAlpha.
	Stable bool
}

// CompareBench compares the runs of one benchmark at base and head, as one
// look of the gate: significance and the interval at pol.LookAlpha().
func CompareBench(base, head []float64, pol PerfPolicy) BenchComparison {
	alpha := pol.LookAlpha()
	th := &benchmath.Thresholds{CompareAlpha: alpha}
	cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(clone(base), th), benchmath.NewSample(clone(head), th))
	c := BenchComparison{Base: median(base), Head: median(head), P: cmp.P, N1: len(base), N2: len(head)}
	if c.Base > 0 {
		c.Delta = c.Head/c.Base - 1
	}
	c.Lo, c.Hi = slowdownInterval(base, head, alpha)
	c.Significant = c.P < alpha
	switch {
	case c.Significant && c.Delta > 0 && c.Lo > pol.Threshold:
		c.Verdict = Slower
		c.Stable = c.P < alpha/2
	case c.Hi < pol.Threshold:
		c.Verdict, c.Stable = Within, true
	default:
		c.Verdict = Unsure
	}
	return c
}

// slowdownInterval is the set of slowdowns s for which benchmath's U test
// does not tell the base's runs from the head's divided by 1+s at level
// alpha, as [lo, hi]. The test runs on logarithms, where dividing is a
// shift, and changes its answer only where a shifted head run crosses a
// base run: between two neighbouring pairwise differences the answer is
// the same. It accepts the shifts around the median difference and
// rejects more the further a shift is from it, so the ends are found by
// bisection.
func slowdownInterval(base, head []float64, alpha float64) (lo, hi float64) {
	unbounded := func() (float64, float64) { return math.Inf(-1), math.Inf(1) }
	lb, lh := logs(base), logs(head)
	var all []float64
	for _, h := range lh {
		for _, b := range lb {
			all = append(all, h-b)
		}
	}
	sort.Float64s(all)
	if len(all) == 0 || math.IsNaN(all[0]) || math.IsInf(all[0], 0) || math.IsInf(all[len(all)-1], 0) {
		return unbounded()
	}
	d := slices.Compact(slices.Clone(all))
	th := &benchmath.Thresholds{CompareAlpha: alpha}
	sb := benchmath.NewSample(lb, th)
	accepts := func(shift float64) bool {
		xs := make([]float64, len(lh))
		for i, x := range lh {
			xs[i] = x - shift
		}
		return benchmath.AssumeNothing.Compare(sb, benchmath.NewSample(xs, th)).P >= alpha
	}
	if accepts(d[0]-1) || accepts(d[len(d)-1]+1) {
		return unbounded() // too few runs to reject any slowdown
	}
	if len(d) == 1 {
		return math.Expm1(d[0]), math.Expm1(d[0])
	}
	// mid(k) is between d[k] and d[k+1]; the median difference is d[c]
	// or between d[c] and d[c+1].
	mid := func(k int) float64 { return (d[k] + d[k+1]) / 2 }
	hl := all[len(all)/2]
	c := sort.SearchFloat64s(d, hl)
	if c == len(d) || d[c] > hl {
		c--
	}
	c = max(0, min(c, len(d)-2))
	if !accepts(mid(c)) {
		return unbounded()
	}
	first := sort.Search(c, func(k int) bool { return accepts(mid(k)) })
	last := c + sort.Search(len(d)-1-c, func(j int) bool { return !accepts(mid(c + j)) }) - 1
	return math.Expm1(d[first]), math.Expm1(d[last+1])
}

func logs(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Log(x)
	}
	return out
}

func clone(xs []float64) []float64 { return append([]float64(nil), xs...) }

// String formats like benchstat, with the interval of the slowdown: the
// change and its p-value, "~" when the difference is not significant.
func (c BenchComparison) String() string {
	change := "~"
	if c.Significant {
		change = fmt.Sprintf("%+.1f%%", c.Delta*100)
	}
	bound := "slowdown unbounded (too few runs)"
	if !math.IsInf(c.Lo, 0) {
		bound = fmt.Sprintf("slowdown %+.1f%% to %+.1f%%", c.Lo*100, c.Hi*100)
	}
	return fmt.Sprintf("%s → %s  %s (p=%.3f n=%d+%d; %s)", secs(c.Base), secs(c.Head), change, c.P, c.N1, c.N2, bound)
}

func secs(v float64) string {
	switch ns := v * 1e9; {
	case ns >= 1e9:
		return fmt.Sprintf("%.2fs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2fms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2fµs", ns/1e3)
	default:
		return fmt.Sprintf("%.1fns", ns)
	}
}

// BenchSamples are a repo's benchmark runs: per benchmark, one value per
// run on each side.
type BenchSamples struct {
	Base, Head map[BenchKey][]float64
	Runs       int // completed rounds (one run on each side)
}

// Add records one run's values on one side.
func (s *BenchSamples) Add(head bool, vals map[BenchKey]float64) {
	dst := &s.Base
	if head {
		dst = &s.Head
	}
	if *dst == nil {
		*dst = map[BenchKey][]float64{}
	}
	for k, v := range vals {
		(*dst)[k] = append((*dst)[k], v)
	}
}

// BenchResult is one benchmark of a repo, compared.
type BenchResult struct {
	Key  BenchKey
	Name string // as shown: "BenchmarkX", qualified only where needed
	BenchComparison
}

// RepoBench is a repo's benchmarks compared.
type RepoBench struct {
	Repo    string
	Runs    int
	Results []BenchResult
	// OnlyBase and OnlyHead name benchmarks measured on one side only.
	OnlyBase, OnlyHead []string
	// Cached is true when the samples were measured by an earlier check of
	// the same trees, command and policy.
	Cached bool
}

// Compare compares every benchmark of the samples.
func (s *BenchSamples) Compare(repo string, pol PerfPolicy) RepoBench {
	heads := movedToMajor(s.Base, s.Head)
	keys := map[BenchKey]bool{}
	for k := range s.Base {
		keys[k] = true
	}
	for k := range heads {
		keys[k] = true
	}
	names := displayNames(keys)
	rb := RepoBench{Repo: repo, Runs: s.Runs}
	for k := range keys {
		base, head := s.Base[k], heads[k]
		switch {
		case len(head) == 0:
			rb.OnlyBase = append(rb.OnlyBase, names[k])
		case len(base) == 0:
			rb.OnlyHead = append(rb.OnlyHead, names[k])
		default:
			rb.Results = append(rb.Results, BenchResult{Key: k, Name: names[k], BenchComparison: CompareBench(base, head, pol)})
		}
	}
	sort.Slice(rb.Results, func(i, j int) bool { return rb.Results[i].Name < rb.Results[j].Name })
	sort.Strings(rb.OnlyBase)
	sort.Strings(rb.OnlyHead)
	return rb
}

// Stable reports whether more runs are unlikely to change any verdict.
func (rb RepoBench) Stable() bool {
	for _, r := range rb.Results {
		if !r.Stable {
			return false
		}
	}
	return true
}

// displayNames names each benchmark as briefly as is unambiguous:
// "BenchmarkX" without its GOMAXPROCS suffix, then with it, then with the
// package in front.
func displayNames(keys map[BenchKey]bool) map[BenchKey]string {
	short := func(k BenchKey) string {
		base, parts := benchfmt.Name(k.Name).Parts()
		if n := len(parts); n > 0 && strings.HasPrefix(string(parts[n-1]), "-") {
			parts = parts[:n-1]
		}
		var b strings.Builder
		b.WriteString("Benchmark")
		b.Write(base)
		for _, p := range parts {
			b.Write(p)
		}
		return b.String()
	}
	ways := []func(BenchKey) string{
		short,
		func(k BenchKey) string { return "Benchmark" + k.Name },
		func(k BenchKey) string { return k.Pkg + "." + short(k) },
		func(k BenchKey) string { return k.Pkg + ".Benchmark" + k.Name },
	}
	names := map[BenchKey]string{}
	for k := range keys {
		for _, way := range ways {
			n, unique := way(k), true
			for o := range keys {
				if o != k && way(o) == n {
					unique = false
					break
				}
			}
			if unique {
				names[k] = n
				break
			}
		}
	}
	return names
}

// PerfGate judges the compared benchmarks of every repo that declares some;
// errs say which repos' benchmarks could not run. A policy that could never
// fail a benchmark is refused, when there are benchmarks to run.
func PerfGate(repos []RepoBench, errs []string, pol PerfPolicy) Gate {
	g := Gate{Name: "performance", Status: Pass}
	if r := pol.Refusal(); r != "" && (len(repos) > 0 || len(errs) > 0) {
		g.Status, g.Reason, g.Details = Fail, r, errs
		return g
	}
	var slow, unsure, within, gone []string
	for _, rb := range repos {
		line := fmt.Sprintf("%s: %s per side, base and head alternating; %s", rb.Repo, plural.Count(rb.Runs, "run"), lookText(pol))
		if rb.Cached {
			line += "; samples measured by an earlier check of the same trees and command (--no-cache measures again)"
		}
		g.Details = append(g.Details, line)
		for _, r := range rb.Results {
			line := fmt.Sprintf("%s: %s: %s", rb.Repo, r.Name, r.BenchComparison)
			label := fmt.Sprintf("%s %s %+.0f%%", rb.Repo, r.Name, r.Delta*100)
			switch {
			case r.Verdict == Slower:
				slow = append(slow, label)
				line += fmt.Sprintf(": slower beyond %s", pct(pol.Threshold))
			case r.Verdict == Unsure && r.Significant && r.Delta > 0:
				unsure = append(unsure, fmt.Sprintf("%s %s %+.0f%% (%s)", rb.Repo, r.Name, r.Delta*100, boundText(r.BenchComparison)))
				line += fmt.Sprintf(": significant, may be beyond %s", pct(pol.Threshold))
			case r.Verdict == Unsure:
				unsure = append(unsure, fmt.Sprintf("%s %s (%s)", rb.Repo, r.Name, boundText(r.BenchComparison)))
				line += ": too noisy to tell"
			case r.Significant && r.Delta > 0:
				within = append(within, label)
				line += fmt.Sprintf(": significant, within %s", pct(pol.Threshold))
			}
			g.Details = append(g.Details, line)
		}
		for _, n := range rb.OnlyBase {
			g.Details = append(g.Details, fmt.Sprintf("%s: %s: only at the base, not compared", rb.Repo, n))
			gone = append(gone, rb.Repo+" "+n)
		}
		for _, n := range rb.OnlyHead {
			g.Details = append(g.Details, fmt.Sprintf("%s: %s: only at the head, not compared", rb.Repo, n))
		}
	}
	g.Details = append(g.Details, errs...)
	switch {
	case len(slow) > 0:
		g.Status = Fail
		g.Reason = fmt.Sprintf("significant slowdown beyond %s: %s", pct(pol.Threshold), strings.Join(slow, ", "))
	case len(gone) > 0:
		// A benchmark renamed or removed by the change measures nothing:
		// its code may have become slower unseen.
		g.Status = Fail
		g.Reason = fmt.Sprintf("benchmarks of the base are missing at the head, so their slowdown is unknown: %s; keep their names, or the release manager overrides the performance gate with a reason", strings.Join(gone, ", "))
	case len(unsure) > 0:
		g.Status = Warn
		g.Reason = fmt.Sprintf("could not tell within %s per side whether these slow down beyond %s: %s; make the benchmarks steadier (a longer -benchtime) or run them more often (--bench-runs above %d)",
			plural.Count(pol.MaxRuns, "run"), pct(pol.Threshold), strings.Join(unsure, ", "), pol.MaxRuns)
	case len(errs) > 0:
		// A benchmark that could not run measured nothing: a head too
		// slow to finish, or a base that is the head, must not pass.
		g.Status = Fail
		g.Reason = "some benchmarks could not run, so the slowdown is unknown: fix them, or the release manager overrides the performance gate with a reason"
	case len(repos) == 0:
		g.Reason = "no repo of the plan declares `bench` in its .cascade.yaml"
	case len(within) > 0:
		g.Reason = fmt.Sprintf("no slowdown beyond %s (significant but smaller: %s)", pct(pol.Threshold), strings.Join(within, ", "))
	default:
		g.Reason = "no significant slowdown"
	}
	return g
}

func lookText(pol PerfPolicy) string {
	if pol.Looks() == 1 {
		return fmt.Sprintf("tested at p < %g", pol.Alpha)
	}
	return fmt.Sprintf("each look at p < %.2g (%g shared by %s)", pol.LookAlpha(), pol.Alpha, plural.Count(pol.Looks(), "look"))
}

func boundText(c BenchComparison) string {
	if math.IsInf(c.Lo, 0) {
		return "unbounded"
	}
	return fmt.Sprintf("%+.0f%% to %+.0f%%", c.Lo*100, c.Hi*100)
}

func pct(f float64) string { return fmt.Sprintf("%g%%", f*100) }

// movedToMajor returns head with each benchmark whose package moved to a
// new major module path at the head (example.com/m/v2/client, from
// example.com/m/client at the base) under its base key, so that a major
// release is compared with the release before it. Only a one-to-one match
// is moved.
func movedToMajor(base, head map[BenchKey][]float64) map[BenchKey][]float64 {
	norm := func(k BenchKey) BenchKey { return BenchKey{Pkg: withoutMajor(k.Pkg), Name: k.Name} }
	baseOnly := map[BenchKey][]BenchKey{}
	for k := range base {
		if _, ok := head[k]; !ok {
			baseOnly[norm(k)] = append(baseOnly[norm(k)], k)
		}
	}
	headOnly := map[BenchKey]int{}
	for k := range head {
		if _, ok := base[k]; !ok {
			headOnly[norm(k)]++
		}
	}
	out := make(map[BenchKey][]float64, len(head))
	for k, v := range head {
		if _, ok := base[k]; !ok {
			n := norm(k)
			if c := baseOnly[n]; len(c) == 1 && headOnly[n] == 1 && n.Pkg != k.Pkg {
				out[c[0]] = v
				continue
			}
		}
		out[k] = v
	}
	return out
}

// withoutMajor drops the major-version elements ("v2", "v3", ...) from a
// package path.
func withoutMajor(pkg string) string {
	parts := strings.Split(pkg, "/")
	kept := parts[:0]
	for i, p := range parts {
		if i > 0 && len(p) > 1 && p[0] == 'v' && p[1] != '0' && p != "v1" && strings.Trim(p[1:], "0123456789") == "" {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "/")
}
