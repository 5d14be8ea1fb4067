package plan

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Sample is one benchmark's ns/op measurements.
type Sample map[string][]float64

var benchLine = regexp.MustCompile(`(?m)^(Benchmark\S*?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

// ParseBench reads `go test -bench` output into ns/op per benchmark.
func ParseBench(out string, into Sample) {
	for _, m := range benchLine.FindAllStringSubmatch(out, -1) {
		if v, err := strconv.ParseFloat(m[2], 64); err == nil {
			into[m[1]] = append(into[m[1]], v)
		}
	}
}

// BenchDelta is one benchmark compared between base and head.
type BenchDelta struct {
	Name        string
	Old, New    float64 // medians, ns/op
	Delta       float64 // (new-old)/old
	P           float64
	N1, N2      int
	Significant bool
}

// String formats like benchstat: the change and its p-value, "~" when the
// difference is not significant.
func (d BenchDelta) String() string {
	change := "~"
	if d.Significant {
		change = fmt.Sprintf("%+.1f%%", d.Delta*100)
	}
	return fmt.Sprintf("%s: %s → %s  %s (p=%.3f n=%d+%d)", d.Name, ns(d.Old), ns(d.New), change, d.P, d.N1, d.N2)
}

func ns(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2fµs", v/1e3)
	}
	return fmt.Sprintf("%.1fns", v)
}

// Alpha is the significance level of the comparison.
const Alpha = 0.05

// CompareBench compares every benchmark measured on both sides.
func CompareBench(old, new Sample) []BenchDelta {
	var out []BenchDelta
	for name, a := range old {
		b, ok := new[name]
		if !ok || len(a) == 0 || len(b) == 0 {
			continue
		}
		d := BenchDelta{Name: name, Old: median(a), New: median(b), N1: len(a), N2: len(b)}
		if d.Old > 0 {
			d.Delta = (d.New - d.Old) / d.Old
		}
		d.P = MannWhitneyP(a, b)
		d.Significant = d.P < Alpha
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MannWhitneyP is the two-sided p-value of the Mann-Whitney U test that a
// and b come from the same distribution: exact for small samples without
// ties, the normal approximation (with tie correction) otherwise.
func MannWhitneyP(a, b []float64) float64 {
	n1, n2 := len(a), len(b)
	type obs struct {
		v float64
		x bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range a {
		all = append(all, obs{v, true})
	}
	for _, v := range b {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	ranks := make([]float64, len(all))
	ties := false
	var tieTerm float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		r := float64(i+j+1) / 2 // average of ranks i+1..j
		for k := i; k < j; k++ {
			ranks[k] = r
		}
		if t := float64(j - i); t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		i = j
	}
	var r1 float64
	for i, o := range all {
		if o.x {
			r1 += ranks[i]
		}
	}
	u1 := r1 - float64(n1*(n1+1))/2
	u := math.Min(u1, float64(n1*n2)-u1)
	if !ties && n1 <= 20 && n2 <= 20 {
		// Exact: the number of arrangements with U <= u, doubled.
		p := 2 * uCDF(n1, n2, int(math.Floor(u+1e-9)))
		return math.Min(1, p)
	}
	mu := float64(n1*n2) / 2
	n := float64(n1 + n2)
	sigma := math.Sqrt(float64(n1*n2) / 12 * ((n + 1) - tieTerm/(n*(n-1))))
	if sigma == 0 {
		return 1
	}
	z := (math.Abs(u-mu) - 0.5) / sigma
	return math.Min(1, 2*(1-0.5*math.Erfc(-z/math.Sqrt2)))
}

// uCDF is P(U <= u) for samples of n1 and n2 without ties.
func uCDF(n1, n2, u int) float64 {
	// counts[i][j][k]: arrangements of i from the first and j from the
	// second sample with U = k; built with the usual recurrence.
	max := n1 * n2
	prev := make([][]float64, n2+1)
	for j := range prev {
		prev[j] = make([]float64, max+1)
		prev[j][0] = 1
	}
	for i := 1; i <= n1; i++ {
		cur := make([][]float64, n2+1)
		cur[0] = make([]float64, max+1)
		cur[0][0] = 1
		for j := 1; j <= n2; j++ {
			cur[j] = make([]float64, max+1)
			for k := 0; k <= max; k++ {
				// The largest observation is from the first sample (it
				// beats all j of the second) or from the second.
				if k-j >= 0 {
					cur[j][k] += prev[j][k-j]
				}
				cur[j][k] += cur[j-1][k]
			}
		}
		prev = cur
	}
	var total, below float64
	for k := 0; k <= max; k++ {
		total += prev[n2][k]
		if k <= u {
			below += prev[n2][k]
		}
	}
	return below / total
}

// PerfThreshold is the slowdown that fails the performance gate when it is
// significant.
const PerfThreshold = 0.10

// PerfGate judges benchmark comparisons per repo.
func PerfGate(results map[string][]BenchDelta, errs []string) Gate {
	g := Gate{Name: "performance", Status: Pass}
	var slow []string
	for repo, ds := range results {
		for _, d := range ds {
			g.Details = append(g.Details, repo+": "+d.String())
			if d.Significant && d.Delta > PerfThreshold {
				slow = append(slow, fmt.Sprintf("%s %s %+.0f%%", repo, d.Name, d.Delta*100))
			}
		}
	}
	sort.Strings(g.Details)
	g.Details = append(g.Details, errs...)
	switch {
	case len(slow) > 0:
		sort.Strings(slow)
		g.Status = Fail
		g.Reason = fmt.Sprintf("significant slowdown beyond %.0f%%: %s", PerfThreshold*100, strings.Join(slow, ", "))
	case len(errs) > 0:
		g.Status = Warn
		g.Reason = "some benchmarks could not run"
	case len(results) == 0:
		g.Reason = "no repo of the plan declares `bench` in its .cascade.yaml"
	default:
		g.Reason = "no significant slowdown"
	}
	return g
}
