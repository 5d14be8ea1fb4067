package npm

import (
	"path/filepath"
	"sort"
	"strings"
)

// Results is what a test run reported.
type Results struct {
	// Failed are the failing tests' stable names, sorted and unique: the
	// same test has the same name in any copy of the package (no absolute
	// paths: a file is named by its path relative to the package root).
	// A report that ends before it should (a TAP stream cut before its
	// plan, a bail-out) adds a name in square brackets saying so, so that
	// a run cut short never looks like one that failed less.
	Failed []string
	// Passed counts passing tests; Skipped counts skipped and todo tests.
	Passed, Skipped int
	// Named is true when some runner reported structured results.
	Named bool
}

// Limits that keep memory bounded whatever a run prints.
const (
	// maxLine is the longest output line read; longer lines are ignored.
	maxLine = 1 << 20
	// maxName is the longest test name kept; longer ones are cut.
	maxName = 4096
	// maxFailed is the most failing tests named; more are summed up in
	// one name.
	maxFailed = 100_000
)

// tooManyFailed stands for the failing tests past maxFailed.
const tooManyFailed = "[more failing tests than cascade names]"

// tally accumulates results from every report of one run.
type tally struct {
	roots   []string
	failed  map[string]bool
	held    int // names held by parsers, not yet in failed
	over    bool
	passed  int
	skipped int
	named   bool
	// reports counts the reports read: TAP streams and report files.
	reports int
}

// newTally makes names relative to root and to its symlink-resolved form.
func newTally(root string) *tally {
	t := &tally{failed: map[string]bool{}}
	if root != "" {
		if abs, err := filepath.Abs(root); err == nil {
			root = abs
		}
		t.roots = append(t.roots, filepath.Clean(root))
		if real, err := filepath.EvalSymlinks(root); err == nil && real != t.roots[0] {
			t.roots = append(t.roots, real)
		}
		// Longest first, so that a root inside another is removed whole.
		sort.Slice(t.roots, func(i, j int) bool { return len(t.roots[i]) > len(t.roots[j]) })
	}
	return t
}

// name makes a test name stable: no package root, no control characters,
// bounded length.
func (t *tally) name(s string) string {
	for _, r := range t.roots {
		if r == "/" {
			continue
		}
		s = strings.ReplaceAll(s, "file://"+r+"/", "")
		s = strings.ReplaceAll(s, r+"/", "")
		if s == r {
			s = "."
		}
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxName {
		s = strings.ToValidUTF8(s[:maxName], "") + "…"
	}
	return s
}

// room reports whether another failing name may be kept, and notes the
// overflow when not.
func (t *tally) room() bool {
	if len(t.failed)+t.held < maxFailed {
		return true
	}
	t.over = true
	return false
}

// fail records a failing test, its name already made stable.
func (t *tally) fail(name string) {
	t.named = true
	if t.failed[name] {
		return
	}
	if !t.room() {
		return
	}
	t.failed[name] = true
}

func (t *tally) results() Results {
	r := Results{Passed: t.passed, Skipped: t.skipped, Named: t.named}
	for n := range t.failed {
		r.Failed = append(r.Failed, n)
	}
	if t.over {
		r.Failed = append(r.Failed, tooManyFailed)
	}
	sort.Strings(r.Failed)
	return r
}

// joinName joins the parts of a nested test's name with " > ", leaving out
// empty parts and a part equal to the one before it.
func joinName(parts ...string) string {
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" || len(out) > 0 && out[len(out)-1] == p {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, " > ")
}
