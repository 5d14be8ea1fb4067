package gomod

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/ecosystem"
)

// testEvent is one line of `go test -json`.
type testEvent struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Output      string
	FailedBuild string
}

// Bounds of what a TestStream keeps; the events themselves are read in
// full, whatever their volume.
const (
	// maxTestOutput is how much of one running test's or package's output
	// is held until it is known to fail (its tail).
	maxTestOutput = 16 << 10
	// maxLog is how much failure output a run keeps for the report.
	maxLog = 32 << 10
	// maxRunning bounds how many tests' output is held at once.
	maxRunning = 4096
)

// TestStream reads `go test -json` output as it is written: every event is
// parsed, so no failure is lost however much output comes before or after
// it; only the log kept for people is bounded. Lines that are not test
// events (a custom test command's plain output, go's own messages) are
// part of the log and of the signature.
type TestStream struct {
	lines   *ecosystem.Lines
	norm    *ecosystem.Normalizer
	roots   []string
	log     *ecosystem.Log
	plain   *ecosystem.Log
	running map[string]*ringText // per "pkg\x00test" ("pkg\x00" for package output)
	lastBld string
	events  int

	failed         map[testName]bool
	pkgFailed      map[string]bool
	pkgHasTestFail map[string]bool
	buildFailed    map[string]bool
	// started are the tests that began and have not ended, by package:
	// when their package fails, a test that never ended (it called
	// os.Exit, a goroutine panicked) failed.
	started  map[string]map[string]bool
	nStarted int
	// passed are the tests that passed (up to maxPassed; beyond that the
	// list is dropped and passedOver set).
	passed     []string
	passedOver bool
	// tested counts test and package results: zero means nothing ran.
	tested int
	// outside are the packages that printed something of their own
	// besides go's summary lines (TestMain, init): when such a package
	// fails, that output is a failure of its own.
	outside map[string]bool
	// own are the tests that reported a failure of their own (a t.Error
	// line in their output): a failing parent is kept beside its failing
	// subtests then.
	own map[testName]bool
	// confirmed are the tests whose own result line ("--- PASS: name",
	// "--- SKIP: name") was printed: go test -json also reports a test
	// as passed when its binary exited 0 in the middle of it (code under
	// test calling exit(0) skips the testing package's own check), with
	// no such line. Such a test failed.
	confirmed map[testName]bool
	// pkgStarted and pkgEnded are the packages whose test run began and
	// those that got a result of their own: one that began and never
	// ended failed.
	pkgStarted, pkgEnded map[string]bool
}

// ownFailure matches the line t.Error, t.Fatal and friends print.
var ownFailure = regexp.MustCompile(`^\s+\S+_test\.go:\d+: `)

// maxPassed bounds the list of passing tests kept.
const maxPassed = 200_000

// summaryLine matches the lines go test prints for a package itself.
var summaryLine = regexp.MustCompile(`^(PASS|FAIL|ok\s.*|FAIL\s.*|\?\s.*|exit status \d+|coverage: .*|testing: warning: .*|=== .*|--- .*|\s*)$`)

// testName is a test of a package.
type testName struct{ pkg, test string }

// outsideTests names what a package failed with outside its tests.
const outsideTests = "[outside tests]"

// maxStarted bounds how many unfinished tests are remembered.
const maxStarted = 100_000

// NewTestStream returns a parser of `go test -json` output produced in the
// tree at root (its absolute path is taken out of the signature).
func NewTestStream(root string) *TestStream {
	s := &TestStream{
		norm: ecosystem.NewNormalizer(root), roots: []string{root},
		log: ecosystem.NewLog(maxLog), plain: ecosystem.NewLog(maxLog),
		running: map[string]*ringText{},
		failed:  map[testName]bool{}, pkgFailed: map[string]bool{}, pkgHasTestFail: map[string]bool{}, buildFailed: map[string]bool{},
		started: map[string]map[string]bool{}, outside: map[string]bool{}, own: map[testName]bool{},
		confirmed: map[testName]bool{}, pkgStarted: map[string]bool{}, pkgEnded: map[string]bool{},
	}
	s.lines = ecosystem.NewLines(4<<20, s.line)
	return s
}

// Write parses what the command printed.
func (s *TestStream) Write(p []byte) (int, error) { return s.lines.Write(p) }

func (s *TestStream) line(line []byte, long bool) {
	var e testEvent
	if long || len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil || e.Action == "" {
		text := string(line)
		s.norm.Line(text)
		s.plain.WriteString(text + "\n")
		return
	}
	s.events++
	switch e.Action {
	case "build-output":
		if e.ImportPath != s.lastBld {
			s.lastBld = e.ImportPath
			if !strings.HasPrefix(e.Output, "# ") {
				s.log.WriteString("# " + stripVariant(e.ImportPath) + "\n")
			}
		}
		s.log.WriteString(e.Output)
		s.norm.Line(strings.TrimSuffix(e.Output, "\n"))
		return
	case "build-fail":
		return
	case "start":
		if e.Package != "" && len(s.pkgStarted) < maxStarted {
			s.pkgStarted[e.Package] = true
		}
		return
	case "run":
		if e.Test != "" && s.nStarted < maxStarted {
			if s.started[e.Package] == nil {
				s.started[e.Package] = map[string]bool{}
			}
			s.started[e.Package][e.Test] = true
			s.nStarted++
		}
		return
	case "output":
		if e.Test == "" && !summaryLine.MatchString(strings.TrimRight(e.Output, "\n")) {
			s.outside[e.Package] = true
		}
		if e.Test != "" && len(s.confirmed) < maxPassed {
			if rest, ok := strings.CutPrefix(strings.TrimLeft(e.Output, " "), "--- "); ok {
				for _, verb := range []string{"PASS: ", "SKIP: "} {
					if name, ok := strings.CutPrefix(rest, verb); ok && strings.HasPrefix(name, e.Test+" ") {
						s.confirmed[testName{e.Package, e.Test}] = true
					}
				}
			}
		}
		if e.Test != "" && ownFailure.MatchString(e.Output) && len(s.own) < maxStarted {
			// A test's own t.Error or t.Fatal (its subtests' go to them).
			s.own[testName{e.Package, e.Test}] = true
		}
		k := e.Package + "\x00" + e.Test
		r := s.running[k]
		if r == nil {
			if len(s.running) >= maxRunning {
				return
			}
			r = &ringText{max: maxTestOutput}
			s.running[k] = r
		}
		r.write(e.Output)
		return
	case "pass", "skip":
		if e.Test == "" {
			s.pkgEnded[e.Package] = true
		}
		if e.Test != "" && !s.confirmed[testName{e.Package, e.Test}] && len(s.confirmed) < maxPassed {
			// Reported passed without its own result line: its binary
			// ended in the middle of it.
			s.log.WriteString(fmt.Sprintf("--- %s.%s: reported %sed, but it never printed its result (its test binary exited in the middle of it): counted as failed\n",
				e.Package, e.Test, e.Action))
			s.failed[testName{e.Package, e.Test}] = true
			s.pkgHasTestFail[e.Package] = true
			s.pkgFailed[e.Package] = true
			s.end(e.Package, e.Test)
			delete(s.running, e.Package+"\x00"+e.Test)
			return
		}
		delete(s.running, e.Package+"\x00"+e.Test)
		s.end(e.Package, e.Test)
		if e.Action == "pass" {
			s.tested++
			if e.Test != "" && !strings.Contains(e.Test, "/") && !s.passedOver {
				if len(s.passed) >= maxPassed {
					s.passed, s.passedOver = nil, true
				} else {
					s.passed = append(s.passed, e.Package+"."+ecosystem.Rel(e.Test, s.roots...))
				}
			}
		}
		if e.Test == "" {
			delete(s.started, e.Package)
		}
		return
	case "fail":
		if e.Test == "" {
			s.pkgEnded[e.Package] = true
		}
	default:
		return
	}
	k := e.Package + "\x00" + e.Test
	if r := s.running[k]; r != nil {
		out := r.String()
		s.log.WriteString(out)
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			s.norm.Line(l)
		}
		delete(s.running, k)
	}
	if e.FailedBuild != "" && e.Package != "" && e.Test == "" {
		// The package failed because it, or a package it imports, did
		// not compile.
		s.buildFailed[e.Package] = true
	}
	if e.FailedBuild == "" {
		s.tested++
	}
	if e.Test != "" {
		s.failed[testName{e.Package, e.Test}] = true
		s.pkgHasTestFail[e.Package] = true
		s.end(e.Package, e.Test)
		return
	}
	if e.Package == "" {
		return
	}
	s.pkgFailed[e.Package] = true
	if s.outside[e.Package] && e.FailedBuild == "" {
		// It printed something of its own and failed: a TestMain that
		// failed after the tests, a crash outside them.
		s.failed[testName{e.Package, outsideTests}] = true
	}
	// Tests of the failed package that never ended failed with it.
	for t := range s.started[e.Package] {
		s.failed[testName{e.Package, t}] = true
		s.pkgHasTestFail[e.Package] = true
	}
	delete(s.started, e.Package)
}

func (s *TestStream) end(pkg, test string) {
	if test != "" && s.started[pkg][test] {
		delete(s.started[pkg], test)
		s.nStarted--
	}
}

// Finish says what failed: the failing tests ("pkg.TestName", leaves only:
// a failing subtest fails its parent too) and the packages that failed
// without a failing test (a build error, a panic in TestMain).
func (s *TestStream) Finish() ecosystem.Results {
	s.lines.Flush()
	// A package whose run began and never got a result of its own.
	for p := range s.pkgStarted {
		if !s.pkgEnded[p] {
			s.pkgFailed[p] = true
		}
	}
	// Leaves only: a failing subtest fails its parent too.
	var names []testName
	for n := range s.failed {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if names[i].pkg != names[j].pkg {
			return names[i].pkg < names[j].pkg
		}
		return names[i].test < names[j].test
	})
	var failed []string
	for i, n := range names {
		// Sorted: a parent's subtests follow it directly.
		if i+1 < len(names) && names[i+1].pkg == n.pkg && strings.HasPrefix(names[i+1].test, n.test+"/") && !s.own[n] {
			continue
		}
		if n.test == outsideTests {
			failed = append(failed, n.pkg+" "+n.test)
			continue
		}
		failed = append(failed, n.pkg+"."+ecosystem.Rel(n.test, s.roots...))
	}
	for p := range s.pkgFailed {
		if !s.pkgHasTestFail[p] {
			failed = append(failed, p)
		}
	}
	sort.Strings(failed)
	var built []string
	for p := range s.buildFailed {
		built = append(built, p)
	}
	sort.Strings(built)
	// Tests still running when the output ended (the command timed out
	// or was killed): their output says where they were.
	var running []string
	for k := range s.running {
		if _, test, _ := strings.Cut(k, "\x00"); test != "" {
			running = append(running, k)
		}
	}
	sort.Strings(running)
	for _, k := range running {
		pkg, test, _ := strings.Cut(k, "\x00")
		s.log.WriteString("--- " + pkg + "." + test + " was still running:\n" + s.running[k].String())
	}
	log := s.log.String()
	if s.plain.Len() > 0 && s.log.Len() < maxLog/2 {
		// Plain output (go's own errors, a custom command's text) after
		// the failures' output.
		log += s.plain.String()
	}
	sort.Strings(s.passed)
	return ecosystem.Results{
		Passed:      s.passed,
		PassedKnown: !s.passedOver,
		Reports:     -1,
		Tested:      s.tested,
		Failed:      failed,
		BuildFailed: built,
		Named:       s.events > 0,
		Log:         ecosystem.Rel(log, s.roots...),
		Signature:   s.norm.Sum(),
	}
}

// ringText keeps the tail of what is written to it.
type ringText struct {
	max     int
	b       []byte
	dropped bool
}

func (r *ringText) write(s string) {
	r.b = append(r.b, s...)
	if len(r.b) > 2*r.max {
		r.b = append(r.b[:0], r.b[len(r.b)-r.max:]...)
		r.dropped = true
	}
}

func (r *ringText) String() string {
	b := r.b
	dropped := r.dropped
	if len(b) > r.max {
		b, dropped = b[len(b)-r.max:], true
	}
	if dropped {
		return "[... earlier output of this test not kept ...]\n" + string(b)
	}
	return string(b)
}

// stripVariant turns "example.com/p [example.com/p.test]" into "example.com/p".
func stripVariant(p string) string {
	if i := strings.Index(p, " ["); i >= 0 {
		return p[:i]
	}
	return p
}
