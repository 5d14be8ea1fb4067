// Package suggest finds, for a name cascade does not know (a flag, a
// step, a gate, a key of a YAML file), the known names the user most
// likely meant, so that an error can say "did you mean ...?".
package suggest

import (
	"sort"
	"strings"
)

// Distance is the edit distance of a and b: insertions, deletions,
// substitutions and swaps of two neighbouring characters, each counting 1.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Closest returns the known names nearest to name (ignoring case), at
// most a third of name's length away (at least 1, at most 3), nearest
// first and then by name; none when no name is that near.
func Closest(name string, known []string) []string {
	lower := strings.ToLower(name)
	limit := min(3, max(1, len([]rune(name))/3))
	best := limit + 1
	var out []string
	seen := map[string]bool{}
	for _, k := range known {
		if seen[k] || k == name {
			continue
		}
		seen[k] = true
		d := Distance(lower, strings.ToLower(k))
		switch {
		case d < best:
			best, out = d, []string{k}
		case d == best:
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// DidYouMean is "; did you mean X?" (or "X or Y?") for the names nearest
// to name, quoted by quote (such as func(s string) string { return "--" + s }),
// or "" when none is near.
func DidYouMean(name string, known []string, quote func(string) string) string {
	s := Closest(name, known)
	if len(s) == 0 {
		return ""
	}
	if quote != nil {
		for i := range s {
			s[i] = quote(s[i])
		}
	}
	return "; did you mean " + strings.Join(s, " or ") + "?"
}
