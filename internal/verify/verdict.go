package verify

import (
	"slices"
	"sort"
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
	// Built is false when the build stage failed.
	Built bool `json:"built"`
	// Passed is true when the build and every test passed.
	Passed bool `json:"passed"`
	// Failed names the failing tests ("pkg.TestName", "pkg" for a package
	// that failed as a whole); empty when the build failed.
	Failed []string `json:"failed,omitempty"`
	// Command is the command that failed, Log the tail of its output.
	Command string `json:"command,omitempty"`
	Log     string `json:"log,omitempty"`
	// Infra is set when the attempt could not be judged: a timeout, a
	// killed build, a tool that could not run.
	Infra      string `json:"infra,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// newFailures returns what fails in cand that did not fail in base: the
// build (if base built), or tests that base passed. A nil result means
// nothing new fails.
func newFailures(base, cand Run) (buildBroke bool, tests []string) {
	if !cand.Built {
		return base.Built, nil
	}
	if cand.Passed {
		return false, nil
	}
	if !base.Built {
		// Nothing to compare test by test: every candidate failure is as
		// old as the baseline's failure to build.
		return false, nil
	}
	old := map[string]bool{}
	for _, t := range base.Failed {
		old[t] = true
	}
	for _, t := range cand.Failed {
		if !old[t] {
			tests = append(tests, t)
		}
	}
	if len(cand.Failed) == 0 && base.Passed {
		// The candidate failed without naming a test (a test binary that
		// crashed, a test command without structured output).
		tests = []string{"(test command)"}
	}
	sort.Strings(tests)
	return false, tests
}

// Judgement is a verdict with what it is based on.
type Judgement struct {
	Verdict string
	// Tests are the failing tests the verdict names: the new failures of a
	// regression, the old failures of a broken downstream.
	Tests []string
	// Command and Log come from the failing candidate attempt.
	Command, Log string
	Reason       string
}

// judge compares a baseline run with the candidate's attempts, in order.
// A candidate attempt counts as failing when it fails something that the
// baseline did not; a failing attempt followed by a passing one is flaky.
func judge(base Run, attempts []Run) Judgement {
	if base.Infra != "" {
		return Judgement{Verdict: Error, Reason: "baseline: " + base.Infra, Command: base.Command, Log: base.Log}
	}
	var firstFail *Run
	var lastNew []string
	var buildBroke bool
	for i := range attempts {
		a := attempts[i]
		if a.Infra != "" {
			return Judgement{Verdict: Error, Reason: "candidate: " + a.Infra, Command: a.Command, Log: a.Log}
		}
		broke, tests := newFailures(base, a)
		if !broke && len(tests) == 0 {
			if firstFail != nil {
				return Judgement{Verdict: Flaky, Tests: union(lastNew, firstFail), Command: firstFail.Command, Log: firstFail.Log,
					Reason: "failed, then passed on a retry"}
			}
			return settle(base, a)
		}
		if firstFail == nil {
			firstFail = &attempts[i]
		}
		lastNew, buildBroke = tests, broke
	}
	last := attempts[len(attempts)-1]
	j := Judgement{Verdict: Regressed, Tests: lastNew, Command: last.Command, Log: last.Log}
	if buildBroke {
		j.Reason = "the baseline builds and the candidate does not"
	} else {
		j.Reason = "tests that pass at the baseline fail with the candidate"
	}
	return j
}

func union(tests []string, r *Run) []string {
	if len(tests) > 0 {
		return tests
	}
	return r.Failed
}

// settle gives the verdict of a candidate attempt with no new failure.
func settle(base, cand Run) Judgement {
	switch {
	case cand.Passed && base.Passed:
		return Judgement{Verdict: Passed}
	case cand.Passed:
		return Judgement{Verdict: Fixed, Tests: base.Failed, Reason: "fails at the baseline and passes with the candidate"}
	}
	j := Judgement{Verdict: Broken, Tests: cand.Failed, Command: cand.Command, Log: cand.Log,
		Reason: "already failing at the baseline: not this change's fault"}
	if !cand.Built {
		j.Reason = "does not build at the baseline either: not this change's fault"
	}
	if len(j.Tests) == 0 {
		j.Tests = slices.Clone(base.Failed)
	}
	return j
}
