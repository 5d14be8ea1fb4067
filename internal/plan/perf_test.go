package plan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/perf/benchmath"
)

// The smallest two-sided p of the Mann-Whitney U test with n runs per side
// is reached when every head run is slower than every base run (U = 0):
// 2 of the C(2n, n) equally likely orderings are that extreme, so p =
// 2/C(2n, n): 2/20 = 0.100 for n = 3, 2/70 = 0.029 for n = 4, 2/252 = 0.0079
// for n = 5.
func TestMinRunsForSignificance(t *testing.T) {
	got := []int{MinRunsForSignificance(0.05), MinRunsForSignificance(0.01)}
	if diff := cmp.Diff([]int{4, 5}, got); diff != "" {
		t.Errorf("minimum runs mismatch (-want +got):\n%s", diff)
	}
}

// Fixed samples, in arbitrary units, without ties. With oneLook, the gate
// looks once (no runs added): a slowdown beyond 10% fails when significant
// at 0.05 and when the low end of its 95% interval is beyond 10%.
var (
	oneLook = PerfPolicy{Threshold: 0.10, Alpha: 0.05, Runs: 20, MaxRuns: 20}

	base6   = []float64{100.5, 98, 103, 99.5, 102, 97}      // median 100
	slower6 = []float64{129.5, 131, 129, 132, 130.5, 128}   // median 130, every run slower
	small6  = []float64{103.5, 104.5, 102.5, 104, 106, 105} // median 104.25
	across6 = []float64{108, 112, 106, 111, 114, 109}       // median 110
	// The flake of identical code seen with the old gate: +24% at
	// p = 0.016 with 5+5 runs, one head run faster than one base run (U = 1,
	// P(U <= 1) = 2/252, two-sided 4/252).
	flakeBase = []float64{100, 104, 108, 112, 116}
	flakeHead = []float64{113, 120, 134, 140, 150}
)

// The interval of the slowdown is the one that goes with the U test: with
// n+n runs and c the largest U whose two-sided p is below 0.05, it runs
// from the (c+1)-th smallest to the (c+1)-th largest of the n*n ratios
// head run/base run. From the table of U for 6+6 runs (C(12, 6) = 924
// orderings; 2*P(U <= 5) = 38/924 = 0.041, 2*P(U <= 6) = 60/924 = 0.065),
// c = 5: the 6th smallest and 6th largest of 36 ratios. For 5+5 runs
// (2*P(U <= 2) = 8/252 = 0.032, 2*P(U <= 3) = 14/252 = 0.056), c = 2: the
// 3rd of 25 from either end. For 4+4 (2/70 = 0.029, 4/70 = 0.057), c = 0:
// the lowest and the highest ratio. For 3+3 no U is below 0.05: unbounded.
func TestCompareBench(t *testing.T) {
	inf := math.Inf(1)
	// U = 0 for 6+6 runs: p = 2/924.
	tests := []struct {
		name       string
		base, head []float64
		want       BenchComparison
	}{
		// Ratios above 128/97 = 1.3196 and below 129.5/103 = 1.2573 are
		// the 5 highest and 5 lowest.
		{"clearly slower", base6, slower6, BenchComparison{Base: 100, Head: 130, P: 2.0 / 924, N1: 6, N2: 6,
			Delta: 0.30, Lo: 130.5/103 - 1, Hi: 129.5/97 - 1, Significant: true, Verdict: Slower, Stable: true}},
		// Every head run equals a base run: U = n1*n2/2, p = 1.
		{"identical", base6, base6, BenchComparison{Base: 100, Head: 100, P: 1, N1: 6, N2: 6,
			Delta: 0, Lo: 99.5/103 - 1, Hi: 103/99.5 - 1, Verdict: Within, Stable: true}},
		// One pair the other way round (102.5 < 103): U = 1, p = 4/924.
		{"significant but small", base6, small6, BenchComparison{Base: 100, Head: 104.25, P: 4.0 / 924, N1: 6, N2: 6,
			Delta: 104.25/100 - 1, Lo: 103.5/102 - 1, Hi: 105.0/98 - 1, Significant: true, Verdict: Within, Stable: true}},
		{"significant, reaching across the threshold", base6, across6, BenchComparison{Base: 100, Head: 110, P: 2.0 / 924, N1: 6, N2: 6,
			Delta: 110.0/100 - 1, Lo: 108.0/102 - 1, Hi: 112.0/98 - 1, Significant: true, Verdict: Unsure}},
		// The old gate failed this. Ratios: the 3rd lowest is 120/116, the
		// 3rd highest 140/100.
		{"the identical-code flake", flakeBase, flakeHead, BenchComparison{Base: 108, Head: 134, P: 4.0 / 252, N1: 5, N2: 5,
			Delta: 134.0/108 - 1, Lo: 120.0/116 - 1, Hi: 140.0/100 - 1, Significant: true, Verdict: Unsure}},
		{"4+4 runs: the extremes", flakeBase[:4], flakeHead[1:], BenchComparison{Base: 106, Head: 137, P: 2.0 / 70, N1: 4, N2: 4,
			Delta: 137.0/106 - 1, Lo: 120.0/112 - 1, Hi: 150.0/100 - 1, Significant: true, Verdict: Unsure}},
		{"3+3 runs: unbounded", flakeBase[:3], flakeHead[2:], BenchComparison{Base: 104, Head: 140, P: 0.1, N1: 3, N2: 3,
			Delta: 140.0/104 - 1, Lo: -inf, Hi: inf, Verdict: Unsure}},
		{"faster", slower6, base6, BenchComparison{Base: 130, Head: 100, P: 2.0 / 924, N1: 6, N2: 6,
			Delta: 100.0/130 - 1, Lo: 97/129.5 - 1, Hi: 103/130.5 - 1, Significant: true, Verdict: Within, Stable: true}},
	}
	approx := cmpopts.EquateApprox(0, 1e-9)
	for _, tt := range tests {
		got := CompareBench(tt.base, tt.head, oneLook)
		if diff := cmp.Diff(tt.want, got, approx); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	// The default policy looks up to 17 times (after 4, 5, ... 20 runs),
	// each at 0.05/17 = 0.0029. For 6+6 runs only U = 0 is below it
	// (2/924 = 0.0022; 4/924 = 0.0043 is not): the interval runs from the
	// lowest to the highest ratio. 5+5 runs cannot reach it (2/252 =
	// 0.0079): the flake is not even significant, its interval unbounded.
	pol := DefaultPerfPolicy()
	if diff := cmp.Diff([]float64{17, 0.05 / 17}, []float64{float64(pol.Looks()), pol.LookAlpha()}, approx); diff != "" {
		t.Errorf("looks mismatch (-want +got):\n%s", diff)
	}
	corrected := []struct {
		name       string
		base, head []float64
		want       BenchComparison
	}{
		// p = 0.0022 is not below 0.0029/2: Slower, but not yet Stable.
		{"clearly slower, one of 17 looks", base6, slower6, BenchComparison{Base: 100, Head: 130, P: 2.0 / 924, N1: 6, N2: 6,
			Delta: 0.30, Lo: 128.0/103 - 1, Hi: 132.0/97 - 1, Significant: true, Verdict: Slower}},
		{"the identical-code flake, one of 17 looks", flakeBase, flakeHead, BenchComparison{Base: 108, Head: 134, P: 4.0 / 252, N1: 5, N2: 5,
			Delta: 134.0/108 - 1, Lo: -inf, Hi: inf, Verdict: Unsure}},
	}
	for _, tt := range corrected {
		got := CompareBench(tt.base, tt.head, pol)
		if diff := cmp.Diff(tt.want, got, approx); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	// A slower head whose p is only just below alpha may still flip: it
	// is Slower but not Stable. 8+8 runs, U = 13: p = 2*P(U <= 13) = 0.0499.
	border := CompareBench([]float64{10, 11, 12, 13, 14, 15, 16, 40}, []float64{13.5, 14.5, 15.5, 16.5, 17, 18, 19, 50},
		PerfPolicy{Threshold: -0.5, Alpha: 0.05})
	if border.Verdict != Slower || border.Stable || border.P < 0.025 || border.P >= 0.05 {
		t.Errorf("p near alpha: %+v, want Slower, not Stable, 0.025 <= p < 0.05", border)
	}
}

// The bisection finds the same interval as trying every point between two
// pairwise differences in turn.
func TestSlowdownIntervalBisection(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 60; trial++ {
		n1, n2 := 4+r.IntN(9), 4+r.IntN(9)
		shift := 1 + r.Float64()/2
		base, head := make([]float64, n1), make([]float64, n2)
		for i := range base {
			base[i] = 100 * (1 + r.Float64()/4)
		}
		for i := range head {
			head[i] = 100 * shift * (1 + r.Float64()/4)
		}
		lo, hi := slowdownInterval(base, head, 0.05)
		wlo, whi := scanInterval(base, head, 0.05)
		if diff := cmp.Diff([]float64{wlo, whi}, []float64{lo, hi}, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
			t.Errorf("%v vs %v: interval mismatch (-scan +bisection):\n%s", base, head, diff)
		}
	}
}

func scanInterval(base, head []float64, alpha float64) (lo, hi float64) {
	var d []float64
	for _, h := range head {
		for _, b := range base {
			d = append(d, math.Log(h)-math.Log(b))
		}
	}
	sort.Float64s(d)
	th := &benchmath.Thresholds{CompareAlpha: alpha}
	accepts := func(shift float64) bool {
		xs := make([]float64, len(head))
		for i, h := range head {
			xs[i] = math.Log(h) - shift
		}
		return benchmath.AssumeNothing.Compare(benchmath.NewSample(logs(base), th), benchmath.NewSample(xs, th)).P >= alpha
	}
	lo, hi = math.Inf(-1), math.Inf(1)
	for k := 0; k+1 < len(d); k++ {
		if accepts((d[k] + d[k+1]) / 2) {
			lo = d[k]
			break
		}
	}
	for k := len(d) - 2; k >= 0; k-- {
		if accepts((d[k] + d[k+1]) / 2) {
			hi = d[k+1]
			break
		}
	}
	return math.Expm1(lo), math.Expm1(hi)
}

func TestBenchComparisonString(t *testing.T) {
	ns := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x * 1e-9
		}
		return out
	}
	got := []string{
		CompareBench(ns(base6), ns(slower6), oneLook).String(),
		CompareBench(ns(base6), ns(base6), oneLook).String(),
		CompareBench(ns(flakeBase), ns(flakeHead), oneLook).String(),
		CompareBench(ns(flakeBase[:3]), ns(flakeHead[2:]), oneLook).String(),
	}
	want := []string{
		"100.0ns → 130.0ns  +30.0% (p=0.002 n=6+6; slowdown +26.7% to +33.5%)",
		"100.0ns → 100.0ns  ~ (p=1.000 n=6+6; slowdown -3.4% to +3.5%)",
		"108.0ns → 134.0ns  +24.1% (p=0.016 n=5+5; slowdown +3.4% to +40.0%)",
		"104.0ns → 140.0ns  ~ (p=0.100 n=3+3; slowdown unbounded (too few runs))",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String mismatch (-want +got):\n%s", diff)
	}
}

func samples(base, head []float64) *BenchSamples {
	s := &BenchSamples{Runs: max(len(base), len(head))}
	for _, v := range base {
		s.Add(false, map[BenchKey]float64{{Pkg: "example.com/api", Name: "A-2"}: v * 1e-9})
	}
	for _, v := range head {
		s.Add(true, map[BenchKey]float64{{Pkg: "example.com/api", Name: "A-2"}: v * 1e-9})
	}
	return s
}

func TestPerfGate(t *testing.T) {
	pol := oneLook
	api := func(base, head []float64) []RepoBench { return []RepoBench{samples(base, head).Compare("api", pol)} }
	def := DefaultPerfPolicy()
	apiDef := func(base, head []float64) []RepoBench { return []RepoBench{samples(base, head).Compare("api", def)} }
	tiny := pol
	tiny.Runs = 3
	tests := []struct {
		name   string
		repos  []RepoBench
		errs   []string
		pol    PerfPolicy
		status string
		reason string
	}{
		{"a clearly slower head fails", api(base6, slower6), nil, pol, Fail,
			"significant slowdown beyond 10%: api BenchmarkA +30%"},
		{"a benchmark renamed at the head fails", func() []RepoBench {
			rb := api(base6, base6)
			rb[0].OnlyBase, rb[0].OnlyHead = []string{"BenchmarkF"}, []string{"BenchmarkG"}
			return rb
		}(), nil, pol, Fail,
			"benchmarks of the base are missing at the head, so their slowdown is unknown: api BenchmarkF; keep their names, or the release manager overrides the performance gate with a reason"},
		{"identical samples pass", api(base6, base6), nil, pol, Pass,
			"no significant slowdown"},
		{"a significant but small slowdown passes, named", api(base6, small6), nil, pol, Pass,
			"no slowdown beyond 10% (significant but smaller: api BenchmarkA +4%)"},
		{"a significant slowdown that may pass the threshold warns", api(base6, across6), nil, pol, Warn,
			"could not tell within 20 runs per side whether these slow down beyond 10%: api BenchmarkA +10% (+6% to +14%); make the benchmarks steadier (a longer -benchtime) or run them more often (--bench-runs above 20)"},
		{"the identical-code flake does not fail", api(flakeBase, flakeHead), nil, pol, Warn,
			"could not tell within 20 runs per side whether these slow down beyond 10%: api BenchmarkA +24% (+3% to +40%); make the benchmarks steadier (a longer -benchtime) or run them more often (--bench-runs above 20)"},
		{"too few runs to reach significance are refused", api(base6, slower6), nil, tiny, Fail,
			"too few runs to reach significance: with 3 runs per side the Mann-Whitney U test can never reach p < 0.05, so no slowdown could fail this gate; set --bench-runs to 4 or more"},
		{"a benchmark that could not run fails", nil, []string{"api: `go test -bench .` failed at the head"}, pol, Fail,
			"some benchmarks could not run, so the slowdown is unknown: fix them, or the release manager overrides the performance gate with a reason"},
		{"a slowdown fails even when another repo could not run", api(base6, slower6), []string{"db: failed"}, pol, Fail,
			"significant slowdown beyond 10%: api BenchmarkA +30%"},
		{"a clearly slower head fails at any look", apiDef(base6, slower6), nil, def, Fail,
			"significant slowdown beyond 10%: api BenchmarkA +30%"},
		{"the identical-code flake is not significant at one of 17 looks", apiDef(flakeBase, flakeHead), nil, def, Warn,
			"could not tell within 20 runs per side whether these slow down beyond 10%: api BenchmarkA (unbounded); make the benchmarks steadier (a longer -benchtime) or run them more often (--bench-runs above 20)"},
		{"nothing to compare", nil, nil, pol, Pass,
			"no repo of the plan declares `bench` in its .cascade.yaml"},
		{"nothing to compare, nothing to refuse", nil, nil, tiny, Pass,
			"no repo of the plan declares `bench` in its .cascade.yaml"},
		{"benchmarks not run for a refused policy", nil, []string{"api: `go test -bench .` not run"}, tiny, Fail,
			"too few runs to reach significance: with 3 runs per side the Mann-Whitney U test can never reach p < 0.05, so no slowdown could fail this gate; set --bench-runs to 4 or more"},
	}
	for _, tt := range tests {
		g := PerfGate(tt.repos, tt.errs, tt.pol)
		if diff := cmp.Diff([]string{tt.status, tt.reason}, []string{g.Status, g.Reason}); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	g := PerfGate(api(base6, slower6), []string{"db: failed"}, pol)
	want := []string{
		"api: 6 runs per side, base and head alternating; tested at p < 0.05",
		"api: BenchmarkA: 100.0ns → 130.0ns  +30.0% (p=0.002 n=6+6; slowdown +26.7% to +33.5%): slower beyond 10%",
		"db: failed",
	}
	if diff := cmp.Diff(want, g.Details); diff != "" {
		t.Errorf("details mismatch (-want +got):\n%s", diff)
	}
	g = PerfGate(apiDef(base6, slower6), nil, def)
	want = []string{
		"api: 6 runs per side, base and head alternating; each look at p < 0.0029 (0.05 shared by 17 looks)",
		"api: BenchmarkA: 100.0ns → 130.0ns  +30.0% (p=0.002 n=6+6; slowdown +24.3% to +36.1%): slower beyond 10%",
	}
	if diff := cmp.Diff(want, g.Details); diff != "" {
		t.Errorf("details with 17 looks mismatch (-want +got):\n%s", diff)
	}
}

func TestParseBenchRun(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: example.com/api/client
cpu: Some CPU
BenchmarkStudents-2   	    2000	      2400 ns/op	     120 B/op	       3 allocs/op
BenchmarkStudents-2   	    2000	      2600 ns/op	     120 B/op	       3 allocs/op
BenchmarkStudents-2   	    2000	      2500 ns/op	     120 B/op	       3 allocs/op
BenchmarkFind/small-2 	   10000	       150 ns/op
BenchmarkBroken-2     	--- FAIL: BenchmarkBroken-2
BenchmarkCustom-2     	     100	        42.0 widgets
PASS
ok  	example.com/api/client	1.234s
pkg: example.com/api/server
BenchmarkStudents-2   	    1000	      9000 ns/op
PASS
`
	got := ParseBenchRun("api", out)
	want := map[BenchKey]float64{
		{Pkg: "example.com/api/client", Name: "Students-2"}:   2500e-9, // the median of -count 3
		{Pkg: "example.com/api/client", Name: "Find/small-2"}: 150e-9,
		{Pkg: "example.com/api/server", Name: "Students-2"}:   9000e-9, // same name, another package: not merged
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
		t.Errorf("ParseBenchRun mismatch (-want +got):\n%s", diff)
	}
}

func TestDisplayNames(t *testing.T) {
	k := func(pkg, name string) BenchKey { return BenchKey{Pkg: pkg, Name: name} }
	keys := map[BenchKey]bool{
		k("ex.com/a", "Students-2"): true, k("ex.com/b", "Students-2"): true, // two packages
		k("ex.com/a", "Find-2"): true, k("ex.com/a", "Find-4"): true, // -cpu 2,4
		k("ex.com/a", "Sort/n=10-2"): true,
	}
	want := map[BenchKey]string{
		k("ex.com/a", "Students-2"):  "ex.com/a.BenchmarkStudents",
		k("ex.com/b", "Students-2"):  "ex.com/b.BenchmarkStudents",
		k("ex.com/a", "Find-2"):      "BenchmarkFind-2",
		k("ex.com/a", "Find-4"):      "BenchmarkFind-4",
		k("ex.com/a", "Sort/n=10-2"): "BenchmarkSort/n=10",
	}
	if diff := cmp.Diff(want, displayNames(keys)); diff != "" {
		t.Errorf("displayNames mismatch (-want +got):\n%s", diff)
	}
}

// fakeBench is a benchmark command whose runs take the times given by
// base and head (in ns, one per run, repeating the last), recording the
// order of the runs.
type fakeBench struct {
	base, head []float64
	calls      []string
	fail       string
}

func (f *fakeBench) run(head bool) (string, string, error) {
	side, xs := "b", f.base
	if head {
		side, xs = "h", f.head
	}
	n := 0
	for _, c := range f.calls {
		if c == side {
			n++
		}
	}
	f.calls = append(f.calls, side)
	if f.fail != "" && head {
		return "", f.fail, nil
	}
	v := xs[min(n, len(xs)-1)]
	return fmt.Sprintf("pkg: example.com/api\nBenchmarkA-2 \t 1000 \t %g ns/op\nPASS\n", v), "", nil
}

func TestSampleBench(t *testing.T) {
	pol := DefaultPerfPolicy() // starts with 4 runs per side, caps at 20: 17 looks at 0.0029
	// A clearly slower head (every run slower, the 7th repeating the 6th):
	// Slower from 6 runs on (p = 2/924 = 0.0022), stable at 7 (p = 2/3432
	// = 0.00058, below 0.0029/2).
	f := &fakeBench{base: base6, head: slower6}
	rb, failure, err := SampleBench("api", "bench", f.run, pol)
	if err != nil || failure != "" || rb.Runs != 7 || len(rb.Results) != 1 || rb.Results[0].Verdict != Slower {
		t.Errorf("clearly slower: %+v %q %v, want Slower after 7 runs", rb, failure, err)
	}
	// Base and head alternate, run by run.
	if diff := cmp.Diff("bh bh bh bh bh bh bh", pairs(f.calls)); diff != "" {
		t.Errorf("run order mismatch (-want +got):\n%s", diff)
	}
	// Identical and steady: within the threshold after 6 runs, the first
	// look whose interval is bounded.
	f = &fakeBench{base: base6, head: base6}
	if rb, _, _ := SampleBench("api", "bench", f.run, pol); rb.Runs != 6 || rb.Results[0].Verdict != Within {
		t.Errorf("identical: %+v, want Within after 6 runs", rb)
	}
	// Identical but noisy (every other run twice as slow): more runs, up
	// to the cap, and no failure.
	noisy := []float64{100, 200, 101, 199, 99, 201, 102, 198}
	noisy = append(noisy, noisy...)
	f = &fakeBench{base: noisy, head: append(noisy[1:], noisy[0])}
	rb, _, _ = SampleBench("api", "bench", f.run, PerfPolicy{Threshold: 0.10, Alpha: 0.05, Runs: 4, MaxRuns: 12})
	if rb.Runs != 12 || rb.Results[0].Verdict == Slower {
		t.Errorf("identical, noisy: %+v, want 12 runs and no Slower", rb)
	}
	// A failing command stops the sampling and says why.
	f = &fakeBench{base: base6, head: base6, fail: "api: `bench` failed at the head"}
	if _, failure, err := SampleBench("api", "bench", f.run, pol); failure != "api: `bench` failed at the head" || err != nil || len(f.calls) != 2 {
		t.Errorf("failing command: %q %v after %d runs", failure, err, len(f.calls))
	}
	// A command that prints no results is not run again.
	calls := 0
	silent := func(bool) (string, string, error) { calls++; return "PASS\n", "", nil }
	if _, failure, _ := SampleBench("api", "go test -bench X", silent, pol); failure != "api: `go test -bench X` printed no benchmark results" || calls != 1 {
		t.Errorf("no results: %q after %d runs", failure, calls)
	}
}

func pairs(calls []string) string {
	var out []string
	for i := 0; i+1 < len(calls); i += 2 {
		out = append(out, calls[i]+calls[i+1])
	}
	return strings.Join(out, " ")
}

// BenchmarkCompareBench compares 20+20 runs of identical, noisy code: the
// most runs the default policy takes, with an interval found far inside.
func BenchmarkCompareBench(b *testing.B) {
	base, head := make([]float64, 20), make([]float64, 20)
	for i := range base {
		base[i] = 100 + float64((i*7)%20)
		head[i] = 100 + float64((i*11)%20) + 0.5
	}
	for b.Loop() {
		CompareBench(base, head, DefaultPerfPolicy())
	}
}

// TestCompareAcrossMajorPath: a benchmark whose package moved to the
// module's /v2 path at the head is compared with the base's, not listed as
// "only at the base" and "only at the head" (which compares nothing).
func TestCompareAcrossMajorPath(t *testing.T) {
	s := &BenchSamples{Base: map[BenchKey][]float64{}, Head: map[BenchKey][]float64{}, Runs: 6}
	old := BenchKey{Pkg: "example.com/m/client", Name: "Students"}
	moved := BenchKey{Pkg: "example.com/m/v2/client", Name: "Students"}
	for i := 0; i < 6; i++ {
		s.Base[old] = append(s.Base[old], 1e-6*(1+float64(i)/100))
		s.Head[moved] = append(s.Head[moved], 3e-6*(1+float64(i)/100))
	}
	rb := s.Compare("api", DefaultPerfPolicy())
	if len(rb.Results) != 1 || len(rb.OnlyBase) != 0 || len(rb.OnlyHead) != 0 {
		t.Fatalf("Compare = %+v", rb)
	}
	if rb.Results[0].Verdict != Slower {
		t.Errorf("a 3x slowdown across the /v2 move: %s", rb.Results[0].Verdict)
	}
	for in, want := range map[string]string{"example.com/m/v2/client": "example.com/m/client", "example.com/m/v10": "example.com/m",
		"example.com/m/v1/x": "example.com/m/v1/x", "example.com/m/v0/x": "example.com/m/v0/x", "example.com/m/vx": "example.com/m/vx", "v2": "v2"} {
		if got := withoutMajor(in); got != want {
			t.Errorf("withoutMajor(%q) = %q, want %q", in, got, want)
		}
	}
}
