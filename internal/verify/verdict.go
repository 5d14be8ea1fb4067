package verify

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Verdicts, as DESIGN.md's table defines them.
const (
	Passed    = "passed"
	Regressed = "regressed"
	Fixed     = "fixed"
	Broken    = "broken"
	Flaky     = "flaky"
	Skipped   = "skipped"
	Error     = "error"
)

// Verdicts lists every verdict in report order.
var Verdicts = []string{Passed, Regressed, Fixed, Broken, Flaky, Skipped, Error}

// Run is the outcome of one build-and-test attempt.
type Run struct {
	// Built is false when something did not build: a build command
	// failed, or a package did not compile (BuildFailed says which).
	Built bool `json:"built"`
	// Passed is true when the build and every test passed.
	Passed bool `json:"passed"`
	// Failed names what failed: tests ("pkg.TestName"), packages that
	// failed as a whole ("pkg", also one that did not compile), a unit
	// whose build command failed ("[build]"); prefixed with "dir: " for a
	// module outside the repo's root.
	Failed []string `json:"failed,omitempty"`
	// BuildFailed are the entries of Failed that did not build.
	BuildFailed []string `json:"build_failed,omitempty"`
	// Stopped says why the test runners cascade expected reported nothing.
	Stopped string `json:"stopped,omitempty"`
	// PassedTests names the tests that passed, where the runner says
	// (PassedKnown): top-level tests only.
	PassedTests []string `json:"passed_tests,omitempty"`
	PassedKnown bool     `json:"passed_known,omitempty"`
	// Reports counts the test reports the runners produced (npm: TAP
	// streams and report files); -1 when not counted.
	Reports int `json:"reports"`
	// Units are the directories of the units run ("." for the root).
	Units []string `json:"units,omitempty"`
	// Named is true when the test runner named its tests, so that Failed
	// is everything that failed.
	Named bool `json:"named,omitempty"`
	// Signature identifies the failure output, for runs that cannot be
	// compared test by test.
	Signature string `json:"signature,omitempty"`
	// Command is the command that failed, Log what it printed (bounded).
	Command string `json:"command,omitempty"`
	Log     string `json:"log,omitempty"`
	// TimedOut is set when a command ran out of time; Note says which.
	TimedOut bool   `json:"timed_out,omitempty"`
	Note     string `json:"note,omitempty"`
	// Fresh marks an attempt run in a new tree to confirm a flake: the
	// attempts before it ran in one tree, each after the last.
	Fresh bool `json:"fresh,omitempty"`
	// Infra is set when the attempt could not be judged: a killed command,
	// a tool that could not run.
	Infra      string `json:"infra,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// failure kinds of a candidate attempt, compared with the baseline.
const (
	noFailure    = ""
	buildFailure = "build"   // the baseline builds, the candidate does not
	testFailure  = "tests"   // tests that pass at the baseline fail
	timeout      = "timeout" // the candidate ran out of time
	incomparable = "unnamed" // both fail, the runner names no tests, and the outputs differ
	crashFailure = "(test command)"
)

// buildStage names a unit whose build command failed: none of its tests
// ran.
const buildStage = "[build]"

// newFailures says what fails in cand that did not fail in base (the
// baseline's final attempt), and names it. Build failures are compared
// package by package: a package that does not build at the baseline hides
// only its own tests, never another package's regression.
func newFailures(base, cand Run, sameCode bool) (kind string, tests []string) {
	if cand.TimedOut {
		return timeout, nil
	}
	// The downstream's code is the same at both ends: a test that passed
	// at the baseline and neither passes nor fails with the candidate
	// (skipped, or never run because the binary exited early) is lost.
	var lost []string
	if sameCode && base.PassedKnown && cand.PassedKnown {
		ran := map[string]bool{}
		for _, t := range cand.PassedTests {
			ran[t] = true
		}
		for _, t := range cand.Failed {
			ran[topLevel(t)] = true
		}
		for _, t := range base.PassedTests {
			if !ran[t] {
				lost = append(lost, t+" (did not run)")
			}
		}
	}
	if sameCode && base.Reports > 0 && cand.Reports >= 0 && cand.Reports < base.Reports {
		lost = append(lost, fmt.Sprintf("[%d of %d test reports missing]", base.Reports-cand.Reports, base.Reports))
	}
	if len(lost) > 0 {
		kind, tests = newFailures(base, cand, false)
		if kind == incomparable || kind == timeout {
			return kind, tests
		}
		if kind == noFailure {
			kind = testFailure
		}
		return kind, append(tests, lost...)
	}
	switch {
	case cand.Passed:
		return noFailure, nil
	case base.Passed:
		if len(cand.Failed) == 0 {
			// The candidate failed without naming a test (a test binary
			// that crashed, a runner without structured output).
			return testFailure, []string{crashFailure}
		}
		return classify(cand, slices.Clone(cand.Failed))
	}
	// Both fail. Test by test where the runner names tests; otherwise the
	// two failures are the same only if their outputs are.
	if !cand.Named || !base.Named || len(cand.Failed) == 0 {
		// The same output says the same failure only when no test runner
		// was stopped before it could say more.
		if cand.Signature != "" && cand.Signature == base.Signature && base.Stopped == "" {
			return noFailure, nil
		}
		return incomparable, nil
	}
	old := map[string]bool{}
	for _, t := range base.Failed {
		old[t] = true
	}
	for _, t := range cand.Failed {
		if !old[t] && !unbuilt(t, base.BuildFailed, base.Units) {
			tests = append(tests, t)
		}
	}
	if len(tests) == 0 {
		if base.Stopped != "" {
			// Some of the tests never ran at the baseline: the same
			// failures say nothing about them.
			return incomparable, nil
		}
		return noFailure, nil
	}
	sort.Strings(tests)
	return classify(cand, tests)
}

// topLevel is the top-level Go test of a failure's name: "pkg.TestA/sub"
// gives "pkg.TestA". Other names are kept whole.
func topLevel(name string) string {
	for _, kind := range []string{".Test", ".Example", ".Fuzz", ".Benchmark"} {
		if i := strings.Index(name, kind); i >= 0 {
			if j := strings.IndexByte(name[i:], '/'); j >= 0 {
				return name[:i+j]
			}
			return name
		}
	}
	return name
}

// classify says whether new failures include something that does not build.
func classify(cand Run, tests []string) (string, []string) {
	for _, t := range tests {
		if slices.Contains(cand.BuildFailed, t) {
			return buildFailure, tests
		}
	}
	return testFailure, tests
}

// unbuilt reports whether a failure belongs to something that did not
// build at the baseline, where nothing of it could run: the package
// itself or one of its tests ("pkg.Test"), or any failure of a unit whose
// build command failed ("dir: [build]", or "[build]" for the unit at the
// repo's root, whose names carry no other unit's "dir: " prefix).
func unbuilt(name string, baseBuildFailed, units []string) bool {
	for _, b := range baseBuildFailed {
		if name == b || strings.HasPrefix(name, b+".") {
			return true
		}
		unit, ok := strings.CutSuffix(b, buildStage)
		if !ok {
			continue
		}
		if unit != "" {
			if strings.HasPrefix(name, unit) {
				return true
			}
			continue
		}
		other := false
		for _, u := range units {
			if u != "." && strings.HasPrefix(name, u+": ") {
				other = true
			}
		}
		if !other {
			return true
		}
	}
	return false
}

// onlyBuildFailures reports whether everything a run failed is a build
// failure (deterministic: not worth another attempt).
func onlyBuildFailures(r Run) bool {
	if len(r.Failed) == 0 {
		return false
	}
	for _, f := range r.Failed {
		if !slices.Contains(r.BuildFailed, f) {
			return false
		}
	}
	return true
}

// retry reports whether a candidate attempt that failed this way is worth
// another attempt: a build failure is deterministic, and so is a failure
// that cannot be compared.
func retry(kind string) bool { return kind == testFailure || kind == timeout }

// Judgement is a verdict with what it is based on.
type Judgement struct {
	Verdict string
	// Baseline is "pass", "fail", "flaky" (failed, then passed on its
	// retry) or "none" (could not be judged).
	Baseline string
	// BaselineFlaky names what failed at the baseline before it passed.
	BaselineFlaky []string
	// Tests are the failing tests the verdict names: the new failures of a
	// regression or a flake, the old failures of a broken downstream.
	Tests []string
	// Command and Log come from the attempt the verdict rests on.
	Command, Log string
	Reason       string
	// Build is true when the verdict rests on something that does not
	// build (Tests then names the packages that do not).
	Build bool
}

// reference is what the candidate is compared with: the baseline's last
// attempt, with what failed in its first attempt too when both failed. It
// also says how the baseline went ("pass", "fail", "flaky") and what
// failed only in its first attempt.
func reference(attempts []Run) (ref Run, state string, flaky []string) {
	ref = attempts[len(attempts)-1]
	state = passFail(ref)
	first := attempts[0]
	if len(attempts) < 2 || first.Passed {
		return ref, state, nil
	}
	if ref.Passed {
		switch {
		case first.TimedOut:
			flaky = []string{"(timed out)"}
		case len(first.Failed) == 0:
			flaky = []string{crashFailure}
		default:
			flaky = first.Failed
		}
		return ref, "flaky", flaky
	}
	if first.TimedOut {
		return ref, state, nil
	}
	// Both attempts failed: what failed in either failed at the baseline,
	// and what failed only in the first is flaky there.
	ref.Failed = slices.Clone(ref.Failed)
	for _, t := range first.Failed {
		if !slices.Contains(ref.Failed, t) {
			flaky = append(flaky, t)
			ref.Failed = append(ref.Failed, t)
		}
	}
	sort.Strings(ref.Failed)
	return ref, state, flaky
}

// judge compares the baseline's attempts (a failing baseline is tried
// twice) with the candidate's, in order. A candidate attempt fails when it
// fails something the baseline did not; a failing attempt followed by a
// passing one is flaky; failing every attempt is a regression.
func judge(baseAttempts, attempts []Run, sameCode bool) Judgement {
	j := judgeRuns(baseAttempts, attempts, sameCode)
	// A build command that failed is said by the reason, not named as a test.
	j.Tests = slices.DeleteFunc(slices.Clone(j.Tests), func(t string) bool { return strings.HasSuffix(t, buildStage) })
	if len(j.Tests) == 0 {
		j.Tests = nil
	}
	return j
}

func judgeRuns(baseAttempts, attempts []Run, sameCode bool) Judgement {
	last := baseAttempts[len(baseAttempts)-1]
	for _, b := range baseAttempts {
		if b.Infra != "" {
			return Judgement{Verdict: Error, Baseline: "none", Reason: "baseline: " + b.Infra, Command: b.Command, Log: b.Log}
		}
	}
	if last.TimedOut {
		return Judgement{Verdict: Error, Baseline: "none", Command: last.Command, Log: last.Log,
			Reason: "baseline: " + last.Note + "; cascade cannot tell what the candidate changes"}
	}
	base, state, flaky := reference(baseAttempts)
	j := Judgement{Baseline: state, BaselineFlaky: flaky}
	var first *Run
	var firstTests []string
	kinds := map[string]bool{}
	var lastTests []string
	for i := range attempts {
		a := attempts[i]
		if a.Infra != "" {
			j.Verdict, j.Reason, j.Command, j.Log = Error, "candidate: "+a.Infra, a.Command, a.Log
			return j
		}
		kind, tests := newFailures(base, a, sameCode)
		switch kind {
		case noFailure:
			if a.Fresh {
				continue
			}
			if first != nil {
				if c := confirmation(attempts[i+1:]); c != nil {
					if kind, tests := newFailures(base, *c, sameCode); kind != noFailure && kind != incomparable {
						// It passed only in a tree an earlier attempt had
						// written to; in a new tree it fails again.
						j.Verdict, j.Tests, j.Command, j.Log = Regressed, tests, c.Command, c.Log
						j.Build = kind == buildFailure
						j.Reason = "tests that pass at the baseline fail with the candidate in a new tree; it passed only on a retry in a tree an earlier attempt had written to"
						return j
					}
				}
				j.Verdict, j.Tests, j.Command, j.Log = Flaky, firstTests, first.Command, first.Log
				j.Reason = fmt.Sprintf("failed on attempt 1 of %d, then passed", i+1)
				if first.TimedOut {
					j.Reason = fmt.Sprintf("timed out on attempt 1 of %d, then passed", i+1)
				}
				return j
			}
			return settle(j, base, a)
		case incomparable:
			j.Verdict, j.Command, j.Log = Error, a.Command, a.Log
			j.Reason = "cannot compare test by test: the test runner names no tests, the baseline already fails, and the candidate's failure output differs from it (make the runner report each test: see the README)"
			if base.Stopped != "" {
				j.Reason = "cannot compare test by test: at the baseline, " + base.Stopped + ": cascade cannot tell what the candidate breaks in the tests that did not run (fix what stops the script, or name a test command in .cascade.yaml)"
			}
			return j
		}
		if first == nil {
			first, firstTests = &attempts[i], tests
		}
		kinds[kind] = true
		if kind != timeout {
			lastTests = tests
		}
	}
	if len(attempts) == 0 {
		j.Verdict, j.Reason = Error, "the candidate was not run"
		return j
	}
	last = attempts[len(attempts)-1]
	j.Verdict, j.Tests, j.Command, j.Log = Regressed, lastTests, last.Command, last.Log
	switch {
	case kinds[buildFailure]:
		j.Build = true
		j.Reason = "the baseline builds and the candidate does not"
		if !onlyBuildFailures(last) {
			j.Reason = "the baseline builds and the candidate does not (and tests fail)"
		}
	case len(kinds) == 1 && kinds[timeout]:
		j.Reason = "timed out with the candidate, passed at the baseline"
		if !base.Passed {
			j.Reason = "timed out with the candidate; the baseline finished in time"
		}
	default:
		j.Reason = "tests that pass at the baseline fail with the candidate"
		if kinds[timeout] {
			j.Reason += " (or time out)"
		}
	}
	if flaky := intersect(j.BaselineFlaky, j.Tests); len(flaky) > 0 {
		j.Reason += "; " + strings.Join(flaky, ", ") + " also failed once at the baseline, then passed"
	}
	return j
}

// confirmation is the attempt run in a new tree to confirm a flake, if any.
func confirmation(rest []Run) *Run {
	for i := range rest {
		if rest[i].Fresh {
			return &rest[i]
		}
	}
	return nil
}

// needsConfirmation reports whether attempts look flaky only after a retry
// in the tree of an earlier attempt, where the state an attempt leaves
// behind may be what passes: always when the baseline passed at once, and
// when the baseline was flaky too, unless the candidate first failed only
// what the baseline failed before it passed.
func needsConfirmation(baseAttempts, attempts []Run, sameCode bool) bool {
	if len(attempts) < 2 {
		return false
	}
	base, _, flaky := reference(baseAttempts)
	last := attempts[len(attempts)-1]
	if kind, _ := newFailures(base, last, sameCode); kind != noFailure || !last.Passed {
		return false
	}
	if baseAttempts[0].Passed {
		return true
	}
	// The baseline was flaky too: confirm unless the candidate failed only
	// what the baseline failed before it passed.
	_, tests := newFailures(base, attempts[0], sameCode)
	for _, t := range tests {
		if !slices.Contains(flaky, t) {
			return true
		}
	}
	return false
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// settle gives the verdict of a candidate attempt with no new failure.
func settle(j Judgement, base, cand Run) Judgement {
	switch {
	case cand.Passed && base.Passed:
		j.Verdict = Passed
		return j
	case cand.Passed:
		j.Verdict, j.Tests, j.Reason = Fixed, base.Failed, "fails at the baseline and passes with the candidate"
		return j
	}
	if unverified := stillUnbuilt(base, cand); len(unverified) > 0 {
		// What does not build at the baseline cannot be compared: the
		// candidate may break it further, and nothing would show.
		j.Verdict, j.Tests, j.Command, j.Log = Error, unverified, cand.Command, cand.Log
		j.Reason = "does not build at the baseline, so cascade cannot tell what the candidate changes there (see the output: a dependency it cannot fetch, a file it lacks?)"
		return j
	}
	j.Verdict, j.Tests, j.Command, j.Log = Broken, cand.Failed, cand.Command, cand.Log
	j.Reason = "already failing at the baseline: not this change's fault"
	if len(j.Tests) == 0 {
		j.Tests = slices.Clone(base.Failed)
	}
	return j
}

// stillUnbuilt lists what does not build at the baseline and still fails
// with the candidate.
func stillUnbuilt(base, cand Run) []string {
	var out []string
	for _, b := range base.BuildFailed {
		for _, f := range cand.Failed {
			if f == b || unbuilt(f, []string{b}, base.Units) {
				out = append(out, b)
				break
			}
		}
	}
	return out
}

func passFail(r Run) string {
	switch {
	case r.Infra != "" || r.TimedOut:
		return "none"
	case r.Passed:
		return "pass"
	}
	return "fail"
}
