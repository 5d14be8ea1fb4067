package npm

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// tapParser reads TAP (versions 12 to 14) line by line from output that
// may hold other text too: node --test, ava --tap, mocha's and node-tap's
// TAP reporters. Subtests are indented four spaces a level, announced by a
// "# Subtest: name" comment (TAP 14, node) or opened by a test point
// ending in "{" (buffered subtests); a nested test is named
// "parent > child". Inside an announced subtest, test points that a
// "# Subtest" comment did not announce are assertions (node-tap): their
// failure is the enclosing test's. YAML diagnostic blocks are skipped.
type tapParser struct {
	t *tally

	active   bool // inside a TAP stream
	bailed   bool // the stream bailed out; ignore it until a new one
	planned  int  // the top-level plan, -1 when none seen
	points   int  // top-level test points seen
	levels   []tapLevel
	yaml     int  // indentation of the YAML block being skipped, or -1
	lastWasP bool // the previous line was a test point (a YAML block may follow)
	// pending are a failing top-level test's names, held until its YAML
	// block says which file it is in (node --test prints tests of every
	// file at the top level, with a location: line).
	pending []string
	file    string
}

// tapLevel is what one nesting depth has gathered since its parent began.
type tapLevel struct {
	announced    string // pending "# Subtest:" name, consumed by the next point
	hasAnnounced bool
	tests        int       // announced (test, not assertion) points completed
	failures     []string  // failing tests' names relative to the parent
	open         *tapPoint // a buffered subtest opened with "{"
}

type tapPoint struct {
	name      string
	ok        bool
	directive string // "skip", "todo" or ""
	announced bool
}

var (
	tapPlanRe    = regexp.MustCompile(`^1\.\.(\d+)(?:\s*#.*)?$`)
	tapVersionRe = regexp.MustCompile(`^TAP version \d+$`)
)

func newTAPParser(t *tally) *tapParser {
	return &tapParser{t: t, planned: -1, yaml: -1}
}

// line reads one line of output, without its newline.
func (p *tapParser) line(s string) {
	s = strings.TrimRight(s, "\r")
	indent := len(s) - len(strings.TrimLeft(s, " "))
	text := strings.TrimSpace(s)
	lastWasP := p.lastWasP
	p.lastWasP = false
	if p.yaml >= 0 {
		switch {
		case text == "":
			return
		case indent == p.yaml && text == "...":
			p.yaml = -1
			p.flushPending()
			return
		case indent > p.yaml || indent == p.yaml && text != "---":
			if loc, ok := strings.CutPrefix(text, "location:"); ok && len(p.pending) > 0 && indent == p.yaml {
				p.file = locationFile(loc)
			}
			return
		}
		// Less indented: the block was never closed.
		p.yaml = -1
	}
	if len(p.pending) > 0 && !(p.active && text == "---" && lastWasP) {
		p.flushPending()
	}
	if indent == 0 && strings.HasPrefix(text, "TAP version") && tapVersionRe.MatchString(text) {
		p.end()
		p.start()
		return
	}
	if p.bailed {
		return
	}
	depth := indent / 4
	if rest, ok := strings.CutPrefix(text, "Bail out!"); ok && (p.active || indent == 0) {
		p.bailOut(strings.TrimSpace(rest))
		return
	}
	if m := matchPrefixed(tapPlanRe, text, "1.."); m != nil {
		if depth == 0 && indent == 0 {
			if !p.active {
				p.start()
			}
			p.planned, _ = strconv.Atoi(m[1])
		}
		return
	}
	if name, ok := strings.CutPrefix(text, "# Subtest:"); ok {
		if !p.active && indent == 0 {
			p.start()
		}
		if p.active {
			l := p.level(depth)
			l.announced, l.hasAnnounced = strings.TrimSpace(name), true
		}
		return
	}
	if p.active && text == "---" && lastWasP {
		p.yaml = indent
		return
	}
	if p.active && text == "}" {
		p.closeBrace(depth)
		return
	}
	ok, num, rest, isPoint := splitPoint(text)
	if !isPoint {
		return
	}
	if !p.active {
		// Outside a stream only a numbered top-level point starts one.
		if indent != 0 || num == "" {
			return
		}
		p.start()
	}
	p.lastWasP = true
	rest, brace := strings.CutSuffix(rest, "{")
	pt := parsePoint(ok, rest)
	l := p.level(depth)
	if l.hasAnnounced {
		pt.announced = true
		if pt.name == "" {
			pt.name = l.announced
		}
		l.announced, l.hasAnnounced = "", false
	}
	if pt.name == "" {
		pt.name = "test " + num
	}
	if brace {
		// A buffered subtest: its children follow, then "}".
		p.clearBelow(depth)
		p.level(depth).open = &pt
		return
	}
	p.complete(depth, pt)
}

// matchPrefixed runs re only on text with the prefix every match has.
func matchPrefixed(re *regexp.Regexp, text, prefix string) []string {
	if !strings.HasPrefix(text, prefix) {
		return nil
	}
	return re.FindStringSubmatch(text)
}

// splitPoint splits a test point line, "ok 12 - name # directive" or
// "not ok", into its status, number (or "") and the rest.
func splitPoint(text string) (ok bool, num, rest string, isPoint bool) {
	r, found := strings.CutPrefix(text, "not ok")
	if !found {
		if r, found = strings.CutPrefix(text, "ok"); !found {
			return false, "", "", false
		}
		ok = true
	}
	if r != "" && r[0] != ' ' && r[0] != '\t' {
		return false, "", "", false // "okay", "not okay"
	}
	r = strings.TrimLeft(r, " \t")
	i := 0
	for i < len(r) && r[i] >= '0' && r[i] <= '9' {
		i++
	}
	if i > 0 && (i == len(r) || r[i] == ' ' || r[i] == '\t') {
		num, r = r[:i], r[i:]
	}
	return ok, num, strings.TrimSpace(r), true
}

// parsePoint splits a test point's description from its directive: the
// text after the first unescaped "#", a SKIP or TODO directive or any
// other comment (node-tap's "# time=12ms").
func parsePoint(ok bool, rest string) tapPoint {
	pt := tapPoint{ok: ok}
	rest = strings.TrimPrefix(strings.TrimSpace(rest), "-")
	desc, directive := rest, ""
	if !strings.Contains(rest, "\\") {
		if i := strings.IndexByte(rest, '#'); i >= 0 {
			desc, directive = rest[:i], rest[i+1:]
		}
	} else {
		var b strings.Builder
		desc = ""
		for i := 0; i < len(rest); i++ {
			c := rest[i]
			if c == '\\' && i+1 < len(rest) && (rest[i+1] == '#' || rest[i+1] == '\\') {
				b.WriteByte(rest[i+1])
				i++
				continue
			}
			if c == '#' {
				directive = rest[i+1:]
				break
			}
			b.WriteByte(c)
		}
		desc = b.String()
	}
	directive = strings.ToLower(strings.TrimSpace(directive))
	switch {
	case strings.HasPrefix(directive, "skip"):
		pt.directive = "skip"
	case strings.HasPrefix(directive, "todo"):
		pt.directive = "todo"
	}
	pt.name = strings.TrimSpace(desc)
	return pt
}

func (p *tapParser) level(depth int) *tapLevel {
	for len(p.levels) <= depth {
		p.levels = append(p.levels, tapLevel{})
	}
	return &p.levels[depth]
}

// clearBelow forgets what deeper levels gathered (a new parent begins).
func (p *tapParser) clearBelow(depth int) {
	for d := depth + 1; d < len(p.levels); d++ {
		p.t.held -= len(p.levels[d].failures)
		p.levels[d] = tapLevel{}
	}
}

func (p *tapParser) closeBrace(depth int) {
	if depth >= len(p.levels) || p.levels[depth].open == nil {
		return
	}
	pt := *p.levels[depth].open
	p.levels[depth].open = nil
	p.complete(depth, pt)
}

// complete records a finished test point at depth with what its children
// gathered.
func (p *tapParser) complete(depth int, pt tapPoint) {
	var kids tapLevel
	if depth+1 < len(p.levels) {
		kids = p.levels[depth+1]
		p.clearBelow(depth)
	}
	if depth == 0 {
		p.points++
	}
	// A test rather than an assertion: at the top, announced, or inside a
	// buffered subtest (whose children are tests).
	unit := depth == 0 || pt.announced || p.levels[depth-1].open != nil
	failing := !pt.ok && pt.directive == ""
	switch {
	case pt.directive != "":
		if unit || kids.tests == 0 {
			p.t.skipped++
		}
	case kids.tests == 0 && unit:
		if pt.ok {
			p.t.passed++
		}
	}
	var names []string
	if failing && unit {
		if len(kids.failures) > 0 {
			for _, k := range kids.failures {
				names = append(names, pt.name+" > "+k)
			}
		} else {
			names = []string{pt.name}
		}
	}
	if depth == 0 {
		p.pending, p.file = names, ""
		return
	}
	l := p.level(depth)
	if unit {
		l.tests++
	}
	for _, n := range names {
		if !p.t.room() {
			break
		}
		l.failures = append(l.failures, n)
		p.t.held++
	}
}

// flushPending names the held failures, after their file when the YAML
// block said which (unless the name is the file, as for a file that did
// not load).
func (p *tapParser) flushPending() {
	file := ""
	if p.file != "" {
		file = p.t.name(p.file)
	}
	for _, n := range p.pending {
		n = p.t.name(n)
		if file != "" && n != file && !strings.HasPrefix(n, file+" > ") {
			n = file + " > " + n
		}
		p.t.fail(n)
	}
	p.pending, p.file = nil, ""
}

// locationFile is the file of a YAML "location:" value:
// '/tmp/pkg/test/a.test.js:3:1' gives /tmp/pkg/test/a.test.js.
func locationFile(v string) string {
	v = strings.Trim(strings.TrimSpace(v), `'"`)
	v = strings.TrimPrefix(v, "file://")
	for range 2 {
		if i := strings.LastIndexByte(v, ':'); i > 0 {
			if _, err := strconv.Atoi(v[i+1:]); err == nil {
				v = v[:i]
			}
		}
	}
	return v
}

func (p *tapParser) start() {
	p.active, p.bailed = true, false
	p.planned, p.points = -1, 0
	p.levels = p.levels[:0]
	p.yaml = -1
	p.t.named = true
	p.t.reports++
}

func (p *tapParser) bailOut(reason string) {
	p.flushPending()
	p.flushOpen()
	name := "[bail out]"
	if reason != "" {
		name += " " + reason
	}
	p.t.fail(p.t.name(name))
	p.active, p.bailed = false, true
}

// end closes the current stream: tests whose parent never finished are
// named after the announced parents, and a stream that stopped before its
// plan says so.
func (p *tapParser) end() {
	p.flushPending()
	if !p.active {
		return
	}
	p.flushOpen()
	switch {
	case p.planned < 0:
		p.t.fail("[TAP output ended before its plan]")
	case p.planned >= 0 && p.points < p.planned:
		p.t.fail(fmt.Sprintf("[TAP output ended after %d of %d planned tests]", p.points, p.planned))
	}
	p.active = false
}

// flushOpen names the failures gathered under parents that never
// finished.
func (p *tapParser) flushOpen() {
	for d := len(p.levels) - 1; d >= 1; d-- {
		l := p.levels[d]
		var prefix []string
		for a := 0; a < d; a++ {
			switch {
			case p.levels[a].open != nil:
				prefix = append(prefix, p.levels[a].open.name)
			case p.levels[a].hasAnnounced:
				prefix = append(prefix, p.levels[a].announced)
			default:
				prefix = append(prefix, "[unfinished]")
			}
		}
		for _, f := range l.failures {
			p.t.fail(p.t.name(strings.Join(append(prefix, f), " > ")))
		}
	}
	p.t.held = 0
	p.levels = p.levels[:0]
}
