package plan

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The smallest two-sided p of the Mann-Whitney U test with n runs per side
// is reached when every head run is slower than every base run (U = 0):
// 2 of the C(2n, n) equally likely orderings are that extreme, so p =
// 2/C(2n, n): 2/20 = 0.100 for n = 3, 2/70 = 0.029 for n = 4, 2/252 = 0.0079
// for n = 5. The confidence interval of a median from the lowest to the
// highest of n runs has confidence 1 - 2/2^n: 0.9375 for n = 5, 0.969 for
// n = 6, 0.984 for n = 7, 0.992 for n = 8.
func TestMinRuns(t *testing.T) {
	got := []int{MinRunsForSignificance(0.05), MinRunsForSignificance(0.01), MinRunsForInterval(0.95), MinRunsForInterval(0.99)}
	if diff := cmp.Diff([]int{4, 5, 6, 8}, got); diff != "" {
		t.Errorf("minimum runs mismatch (-want +got):\n%s", diff)
	}
}

// Fixed samples, in arbitrary units; the policy is the default one: a
// slowdown beyond 10% fails when significant at 0.05 and when the head's
// 95% interval of the median, over the base's, stays beyond 10%.
var (
	base6   = []float64{100, 101, 99, 100, 102, 98}
	slower6 = []float64{130, 131, 129, 132, 130, 128} // +30%, every run slower
	small6  = []float64{103.5, 104.5, 102.5, 104, 106, 105}
	across6 = []float64{108, 112, 106, 111, 114, 109}
	// The flake of identical code seen with the old gate: +24% at
	// p = 0.016 with 5+5 runs, one head run faster than one base run (U = 1,
	// P(U <= 1) = 2/252, two-sided 4/252).
	flakeBase = []float64{100, 104, 108, 112, 116}
	flakeHead = []float64{113, 120, 134, 140, 150}
)

func TestCompareBench(t *testing.T) {
	inf := math.Inf(1)
	// With 6+6 runs the intervals of the medians run from the lowest to the
	// highest run (see TestMinRuns), so the slowdown is bounded by
	// min(head)/max(base) - 1 and max(head)/min(base) - 1. U = 0 for 6+6
	// runs: p = 2/C(12, 6) = 2/924.
	tests := []struct {
		name       string
		base, head []float64
		want       BenchComparison
	}{
		{"clearly slower", base6, slower6, BenchComparison{P: 2.0 / 924, N1: 6, N2: 6,
			Delta: 0.30, Lo: 128.0/102 - 1, Hi: 132.0/98 - 1, Significant: true, Verdict: Slower, Stable: true}},
		// Every head run equals a base run: U = n1*n2/2, p = 1.
		{"identical", base6, base6, BenchComparison{P: 1, N1: 6, N2: 6,
			Delta: 0, Lo: 98.0/102 - 1, Hi: 102.0/98 - 1, Verdict: Within, Stable: true}},
		{"significant but small", base6, small6, BenchComparison{P: 2.0 / 924, N1: 6, N2: 6,
			Delta: 104.25/100 - 1, Lo: 102.5/102 - 1, Hi: 106.0/98 - 1, Significant: true, Verdict: Within, Stable: true}},
		{"significant, reaching across the threshold", base6, across6, BenchComparison{P: 2.0 / 924, N1: 6, N2: 6,
			Delta: 110.0/100 - 1, Lo: 106.0/102 - 1, Hi: 114.0/98 - 1, Significant: true, Verdict: Unsure}},
		// 5 runs bound no interval of a median at 95%: the old gate failed
		// this; the new one cannot tell yet.
		{"the identical-code flake", flakeBase, flakeHead, BenchComparison{P: 4.0 / 252, N1: 5, N2: 5,
			Delta: 134.0/108 - 1, Lo: -inf, Hi: inf, Significant: true, Verdict: Unsure}},
		// Faster: the interval is wholly below the threshold.
		{"faster", slower6, base6, BenchComparison{P: 2.0 / 924, N1: 6, N2: 6,
			Delta: 100.0/130 - 1, Lo: 98.0/132 - 1, Hi: 102.0/128 - 1, Significant: true, Verdict: Within, Stable: true}},
	}
	ignore := cmpopts.IgnoreFields(BenchComparison{}, "Base", "Head")
	approx := cmpopts.EquateApprox(0, 1e-9)
	for _, tt := range tests {
		got := CompareBench(tt.base, tt.head, DefaultPerfPolicy())
		if diff := cmp.Diff(tt.want, got, ignore, approx); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	// A slower head whose p is only just below alpha may still flip: it
	// is Slower but not Stable. 8+8 runs, U = 13: p = 2*P(U <= 13) = 0.0499.
	border := CompareBench([]float64{10, 11, 12, 13, 14, 15, 16, 40}, []float64{13.5, 14.5, 15.5, 16.5, 17, 18, 19, 50},
		PerfPolicy{Threshold: -0.5, Alpha: 0.05, Confidence: 0.95})
	if border.Verdict != Slower || border.Stable || border.P < 0.025 || border.P >= 0.05 {
		t.Errorf("p near alpha: %+v, want Slower, not Stable, 0.025 <= p < 0.05", border)
	}
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
		CompareBench(ns(base6), ns(slower6), DefaultPerfPolicy()).String(),
		CompareBench(ns(base6), ns(base6), DefaultPerfPolicy()).String(),
		CompareBench(ns(flakeBase), ns(flakeHead), DefaultPerfPolicy()).String(),
	}
	want := []string{
		"100.0ns → 130.0ns  +30.0% (p=0.002 n=6+6; slowdown +25.5% to +34.7%)",
		"100.0ns → 100.0ns  ~ (p=1.000 n=6+6; slowdown -3.9% to +4.1%)",
		"108.0ns → 134.0ns  +24.1% (p=0.016 n=5+5; slowdown unbounded (too few runs))",
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
	pol := DefaultPerfPolicy()
	api := func(base, head []float64) []RepoBench { return []RepoBench{samples(base, head).Compare("api", pol)} }
	tiny := pol
	tiny.Runs = 3
	capped := pol
	capped.MaxRuns = 5
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
		{"identical samples pass", api(base6, base6), nil, pol, Pass,
			"no significant slowdown"},
		{"a significant but small slowdown passes, named", api(base6, small6), nil, pol, Pass,
			"no slowdown beyond 10% (significant but smaller: api BenchmarkA +4%)"},
		{"a significant slowdown that may pass the threshold warns", api(base6, across6), nil, pol, Warn,
			"could not tell within 20 runs per side whether these slow down beyond 10%: api BenchmarkA +10% (+4% to +16%); make the benchmarks steadier (a longer -benchtime) or allow more runs"},
		{"the identical-code flake does not fail", api(flakeBase, flakeHead), nil, pol, Warn,
			"could not tell within 20 runs per side whether these slow down beyond 10%: api BenchmarkA +24% (unbounded); make the benchmarks steadier (a longer -benchtime) or allow more runs"},
		{"too few runs to reach significance are refused", api(base6, slower6), nil, tiny, Fail,
			"too few runs to reach significance: with 3 runs per side the Mann-Whitney U test can never reach p < 0.05, so no slowdown could fail this gate; set --bench-runs to 4 or more"},
		{"a cap too low to bound a slowdown is refused", nil, nil, capped, Fail,
			"too few runs to bound a slowdown: with at most 5 runs per side the 95% confidence interval of a median is unbounded, so no slowdown could fail this gate; set --bench-max-runs to 6 or more"},
		{"a benchmark that could not run warns", nil, []string{"api: `go test -bench .` failed at the head"}, pol, Warn,
			"some benchmarks could not run"},
		{"a slowdown fails even when another repo could not run", api(base6, slower6), []string{"db: failed"}, pol, Fail,
			"significant slowdown beyond 10%: api BenchmarkA +30%"},
		{"nothing to compare", nil, nil, pol, Pass,
			"no repo of the plan declares `bench` in its .cascade.yaml"},
	}
	for _, tt := range tests {
		g := PerfGate(tt.repos, tt.errs, tt.pol)
		if diff := cmp.Diff([]string{tt.status, tt.reason}, []string{g.Status, g.Reason}); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	g := PerfGate(api(base6, slower6), []string{"db: failed"}, pol)
	want := []string{
		"api: 6 runs per side, base and head alternating",
		"api: BenchmarkA: 100.0ns → 130.0ns  +30.0% (p=0.002 n=6+6; slowdown +25.5% to +34.7%): slower beyond 10%",
		"db: failed",
	}
	if diff := cmp.Diff(want, g.Details); diff != "" {
		t.Errorf("details mismatch (-want +got):\n%s", diff)
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
	pol := DefaultPerfPolicy() // starts with 4 runs per side, caps at 20
	// A clearly slower head: decided as soon as the intervals are bounded.
	f := &fakeBench{base: base6, head: slower6}
	rb, failure, err := SampleBench("api", "bench", f.run, pol)
	if err != nil || failure != "" || rb.Runs != 6 || len(rb.Results) != 1 || rb.Results[0].Verdict != Slower {
		t.Errorf("clearly slower: %+v %q %v, want Slower after 6 runs", rb, failure, err)
	}
	// Base and head alternate, each round in the other order.
	if diff := cmp.Diff("bh hb bh hb bh hb", pairs(f.calls)); diff != "" {
		t.Errorf("run order mismatch (-want +got):\n%s", diff)
	}
	// Identical and steady: within the threshold after 6 runs.
	f = &fakeBench{base: base6, head: base6}
	if rb, _, _ := SampleBench("api", "bench", f.run, pol); rb.Runs != 6 || rb.Results[0].Verdict != Within {
		t.Errorf("identical: %+v, want Within after 6 runs", rb)
	}
	// Identical but noisy (a run in four twice as slow): more runs, up to
	// the cap, and no failure.
	noisy := []float64{100, 200, 101, 99, 100, 210, 102, 98}
	noisy = append(noisy, noisy...)
	f = &fakeBench{base: noisy, head: append(noisy[1:], noisy[0])}
	rb, _, _ = SampleBench("api", "bench", f.run, PerfPolicy{Threshold: 0.10, Alpha: 0.05, Confidence: 0.95, Runs: 4, MaxRuns: 12})
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
