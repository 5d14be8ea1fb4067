package verify

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJudge(t *testing.T) {
	pass := Run{Built: true, Passed: true, Named: true}
	noBuild := Run{Built: false, Named: true, Failed: []string{"[build]"}, BuildFailed: []string{"[build]"}, Command: "go build ./...", Log: "undefined: x"}
	// Package x does not compile (a cgo library missing here).
	xBroken := Run{Built: true, Named: true, Failed: []string{"ex/x"}, BuildFailed: []string{"ex/x"}, Command: "go test", Log: "x: undefined"}
	xBrokenAndGreet := Run{Built: true, Named: true, Failed: []string{"ex/greet.TestGreeting", "ex/x"}, BuildFailed: []string{"ex/x"}, Command: "go test", Log: "x: undefined; greeting"}
	xBrokenApiToo := Run{Built: true, Named: true, Failed: []string{"ex/api", "ex/x"}, BuildFailed: []string{"ex/api", "ex/x"}, Command: "go test", Log: "api, x: undefined"}
	passAB := Run{Built: true, Passed: true, Named: true, PassedKnown: true, PassedTests: []string{"p.TestA", "p.TestB"}}
	passAOnly := Run{Built: true, Passed: true, Named: true, PassedKnown: true, PassedTests: []string{"p.TestA"}}
	// TestB skips itself, TestA fails: nothing passed, and TestB is lost.
	failAOnly := Run{Built: true, Named: true, PassedKnown: true, Failed: []string{"p.TestA/sub"}, Command: "go test", Log: "A failed"}
	twoReports := Run{Built: true, Passed: true, Named: true, Reports: 2}
	oneReport := Run{Built: true, Passed: true, Named: true, Reports: 1}
	failABfirst := Run{Built: true, Named: true, Failed: []string{"p.TestA", "p.TestB"}, Command: "go test", Log: "A and B failed"}
	failA := Run{Built: true, Named: true, Failed: []string{"p.TestA"}, Command: "go test", Log: "A failed"}
	failB := Run{Built: true, Named: true, Failed: []string{"p.TestB"}, Command: "go test", Log: "B failed"}
	failAB := Run{Built: true, Named: true, Failed: []string{"p.TestA", "p.TestB"}, Command: "go test", Log: "A and B failed"}
	failNoName := Run{Built: true, Command: "npm test", Log: "crashed", Signature: "s1"}
	failNoNameOther := Run{Built: true, Command: "npm test", Log: "crashed elsewhere", Signature: "s2"}
	stoppedRun := Run{Built: true, Command: "npm test", Log: "lint: 1 error", Signature: "s3",
		Stopped: "the test script's runners (ava) reported no test: an earlier command of the script stopped it"}
	hang := Run{TimedOut: true, Command: "go test", Log: "--- p.TestWait was still running", Note: "timed out after 8s running `go test`"}
	tests := []struct {
		name     string
		base     []Run
		attempts []Run
		want     Judgement
	}{
		{"pass pass", []Run{pass}, []Run{pass}, Judgement{Verdict: Passed, Baseline: "pass"}},
		{"pass, candidate never builds", []Run{pass}, []Run{noBuild},
			Judgement{Verdict: Regressed, Baseline: "pass", Command: "go build ./...", Log: "undefined: x", Reason: "the baseline builds and the candidate does not", Build: true}},
		{"old test failures do not hide a broken build", []Run{failA, failA}, []Run{noBuild},
			Judgement{Verdict: Regressed, Baseline: "fail", Command: "go build ./...", Log: "undefined: x", Reason: "the baseline builds and the candidate does not", Build: true}},
		{"a new failing test is named", []Run{failA, failA}, []Run{failAB, failAB},
			Judgement{Verdict: Regressed, Baseline: "fail", Tests: []string{"p.TestB"}, Command: "go test", Log: "A and B failed", Reason: "tests that pass at the baseline fail with the candidate"}},
		{"only old failures: broken", []Run{failA, failA}, []Run{failA},
			Judgement{Verdict: Broken, Baseline: "fail", Tests: []string{"p.TestA"}, Command: "go test", Log: "A failed", Reason: "already failing at the baseline: not this change's fault"}},
		{"nothing builds at the baseline: an error", []Run{noBuild}, []Run{noBuild},
			Judgement{Verdict: Error, Baseline: "fail", Command: "go build ./...", Log: "undefined: x",
				Reason: "does not build at the baseline, so cascade cannot tell what the candidate changes there (see the output: a dependency it cannot fetch, a file it lacks?)"}},
		{"tests that passed at the baseline and do not run with the candidate", []Run{passAB}, []Run{passAOnly},
			Judgement{Verdict: Regressed, Baseline: "pass", Tests: []string{"p.TestB (did not run)"}, Reason: "tests that pass at the baseline fail with the candidate"}},
		{"a lost test beside failures, where nothing passed", []Run{passAB}, []Run{failAOnly},
			Judgement{Verdict: Regressed, Baseline: "pass", Tests: []string{"p.TestA/sub", "p.TestB (did not run)"}, Command: "go test", Log: "A failed", Reason: "tests that pass at the baseline fail with the candidate"}},
		{"a test report that goes missing", []Run{twoReports}, []Run{oneReport},
			Judgement{Verdict: Regressed, Baseline: "pass", Tests: []string{"[1 of 2 test reports missing]"}, Reason: "tests that pass at the baseline fail with the candidate"}},
		{"fixed", []Run{failA, failA}, []Run{pass}, Judgement{Verdict: Fixed, Baseline: "fail", Tests: []string{"p.TestA"}, Reason: "fails at the baseline and passes with the candidate"}},
		{"fixed build", []Run{noBuild}, []Run{pass}, Judgement{Verdict: Fixed, Baseline: "fail", Reason: "fails at the baseline and passes with the candidate"}},
		{"a package that does not build at the baseline hides only its own tests", []Run{xBroken}, []Run{xBrokenAndGreet},
			Judgement{Verdict: Regressed, Baseline: "fail", Tests: []string{"ex/greet.TestGreeting"}, Command: "go test", Log: "x: undefined; greeting", Reason: "tests that pass at the baseline fail with the candidate"}},
		{"another package that stops building regresses", []Run{xBroken}, []Run{xBrokenApiToo},
			Judgement{Verdict: Regressed, Baseline: "fail", Tests: []string{"ex/api"}, Command: "go test", Log: "api, x: undefined", Reason: "the baseline builds and the candidate does not", Build: true}},
		{"a package that does not build at the baseline cannot be verified", []Run{xBroken}, []Run{xBroken},
			Judgement{Verdict: Error, Baseline: "fail", Tests: []string{"ex/x"}, Command: "go test", Log: "x: undefined",
				Reason: "does not build at the baseline, so cascade cannot tell what the candidate changes there (see the output: a dependency it cannot fetch, a file it lacks?)"}},
		{"what failed in either baseline attempt failed at the baseline", []Run{failABfirst, failB}, []Run{failAB},
			Judgement{Verdict: Broken, Baseline: "fail", BaselineFlaky: []string{"p.TestA"}, Tests: []string{"p.TestA", "p.TestB"}, Command: "go test", Log: "A and B failed", Reason: "already failing at the baseline: not this change's fault"}},
		{"flaky", []Run{pass}, []Run{failA, pass},
			Judgement{Verdict: Flaky, Baseline: "pass", Tests: []string{"p.TestA"}, Command: "go test", Log: "A failed", Reason: "failed on attempt 1 of 2, then passed"}},
		{"flaky names the test of the attempt whose log it shows", []Run{pass}, []Run{failA, failB, pass},
			Judgement{Verdict: Flaky, Baseline: "pass", Tests: []string{"p.TestA"}, Command: "go test", Log: "A failed", Reason: "failed on attempt 1 of 3, then passed"}},
		{"a flaky baseline is reported", []Run{failB, pass}, []Run{pass},
			Judgement{Verdict: Passed, Baseline: "flaky", BaselineFlaky: []string{"p.TestB"}}},
		{"a test flaky at the baseline that fails every attempt still regresses", []Run{failB, pass}, []Run{failB, failB},
			Judgement{Verdict: Regressed, Baseline: "flaky", BaselineFlaky: []string{"p.TestB"}, Tests: []string{"p.TestB"}, Command: "go test", Log: "B failed",
				Reason: "tests that pass at the baseline fail with the candidate; p.TestB also failed once at the baseline, then passed"}},
		{"unnamed failure counts", []Run{pass}, []Run{failNoName},
			Judgement{Verdict: Regressed, Baseline: "pass", Tests: []string{"(test command)"}, Command: "npm test", Log: "crashed", Reason: "tests that pass at the baseline fail with the candidate"}},
		{"unnamed failures with the same output: broken", []Run{failNoName, failNoName}, []Run{failNoName},
			Judgement{Verdict: Broken, Baseline: "fail", Command: "npm test", Log: "crashed", Reason: "already failing at the baseline: not this change's fault"}},
		{"unnamed failures that differ cannot be compared", []Run{failNoName, failNoName}, []Run{failNoNameOther},
			Judgement{Verdict: Error, Baseline: "fail", Command: "npm test", Log: "crashed elsewhere",
				Reason: "cannot compare test by test: the test runner names no tests, the baseline already fails, and the candidate's failure output differs from it (make the runner report each test: see the README)"}},
		{"a named baseline failure never hides an unnamed candidate failure", []Run{failA, failA}, []Run{failNoNameOther},
			Judgement{Verdict: Error, Baseline: "fail", Command: "npm test", Log: "crashed elsewhere",
				Reason: "cannot compare test by test: the test runner names no tests, the baseline already fails, and the candidate's failure output differs from it (make the runner report each test: see the README)"}},
		{"a candidate that hangs where the baseline passed regresses", []Run{pass}, []Run{hang, hang, hang},
			Judgement{Verdict: Regressed, Baseline: "pass", Command: "go test", Log: "--- p.TestWait was still running", Reason: "timed out with the candidate, passed at the baseline"}},
		{"a runner stopped before it ran at the baseline: never broken", []Run{stoppedRun, stoppedRun}, []Run{stoppedRun},
			Judgement{Verdict: Error, Baseline: "fail", Command: "npm test", Log: "lint: 1 error",
				Reason: "cannot compare test by test: at the baseline, the test script's runners (ava) reported no test: an earlier command of the script stopped it: cascade cannot tell what the candidate breaks in the tests that did not run (fix what stops the script, or name a test command in .cascade.yaml)"}},
		{"a hang, then a pass: flaky", []Run{pass}, []Run{hang, pass},
			Judgement{Verdict: Flaky, Baseline: "pass", Command: "go test", Log: "--- p.TestWait was still running", Reason: "timed out on attempt 1 of 2, then passed"}},
		{"a baseline that times out is an error", []Run{hang}, []Run{pass},
			Judgement{Verdict: Error, Baseline: "none", Command: "go test", Log: "--- p.TestWait was still running",
				Reason: "baseline: timed out after 8s running `go test`; cascade cannot tell what the candidate changes"}},
		{"infrastructure is an error, never a regression", []Run{pass}, []Run{{Infra: "`go test` was killed", Command: "go test"}},
			Judgement{Verdict: Error, Baseline: "pass", Command: "go test", Reason: "candidate: `go test` was killed"}},
		{"baseline infra is an error", []Run{{Infra: "killed"}}, []Run{pass},
			Judgement{Verdict: Error, Baseline: "none", Reason: "baseline: killed"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, judge(tt.base, tt.attempts, true)); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestRetry(t *testing.T) {
	pass := Run{Built: true, Passed: true, Named: true}
	for _, tt := range []struct {
		cand Run
		want bool
	}{
		{Run{Built: false, Named: true, Failed: []string{"p"}, BuildFailed: []string{"p"}}, false}, // a compile error is deterministic
		{Run{Built: true, Named: true, Failed: []string{"p.T"}}, true},
		{Run{TimedOut: true}, true},
		{pass, false},
	} {
		kind, _ := newFailures(pass, tt.cand, false)
		if got := retry(kind); got != tt.want {
			t.Errorf("retry after %+v = %v, want %v", tt.cand, got, tt.want)
		}
	}
}

func TestCacheable(t *testing.T) {
	ok := Run{Built: true, Passed: true}
	for _, tt := range []struct {
		runs []Run
		want bool
	}{
		{[]Run{ok}, true},
		{[]Run{{TimedOut: true}, ok}, false},
		{[]Run{{Infra: "killed"}}, false},
		{nil, false},
	} {
		if got := cacheable(tt.runs); got != tt.want {
			t.Errorf("cacheable(%+v) = %v, want %v", tt.runs, got, tt.want)
		}
	}
}

func TestAssess(t *testing.T) {
	up := Member{Repo: "db", Ref: "next"}
	res := func(repo, state, verdict string) Result {
		return Result{Repo: repo, Ref: "main", State: state, Verdict: verdict}
	}
	tests := []struct {
		name       string
		r          Report
		exit       int
		conclusion string
		gate       string
	}{
		{"all passed", Report{Upstream: up, Results: []Result{res("api", Alone, Passed), res("jobs", Alone, Skipped)}},
			0, "merging db@next alone breaks no downstream: safe to merge", GatePass},
		{"an error is never safe", Report{Upstream: up, Results: []Result{res("api", Alone, Passed), res("jobs", Alone, Error)}},
			3, "merging db@next alone breaks no downstream that cascade could verify; jobs@main (alone) could not be verified (see the errors): not known to be safe", GateFail},
		{"a regression", Report{Upstream: up, Results: []Result{res("api", Alone, Regressed), res("jobs", Alone, Error)}},
			1, "merging db@next alone breaks api@main: fix them first, or verify again with their fix branches (--with REPO@REF); jobs@main (alone) could not be verified (see the errors): not known to be safe", GateFail},
		{"a regression beside bad input", Report{Upstream: up, Problems: []string{"x"}, Results: []Result{res("api", Alone, Regressed), res("cat", Alone, Error)}},
			1, "merging db@next alone breaks api@main: fix them first, or verify again with their fix branches (--with REPO@REF); cat@main (alone) could not be verified (see the errors): not known to be safe", GateFail},
		{"bad input", Report{Upstream: up, Problems: []string{"x"}, Results: []Result{res("api", Alone, Passed), res("cat", Alone, Error)}},
			2, "merging db@next alone breaks no downstream that cascade could verify; cat@main (alone) could not be verified (see the errors): not known to be safe", GateFail},
		{"a change set that fixes what the upstream alone breaks", Report{Upstream: up, With: []Member{{Repo: "api", Ref: "fix"}}, Order: []string{"db", "api"},
			Results: []Result{res("api", Alone, Regressed), res("api", Set, Passed)}},
			1, "merging db@next alone breaks api@main; with api@fix in the same release everything passes: release them together, db first", GateWarn},
		{"a change set with an error", Report{Upstream: up, With: []Member{{Repo: "api", Ref: "fix"}}, Order: []string{"db", "api"},
			Results: []Result{res("api", Set, Passed), res("web", Set, Error)}},
			3, "merging db@next alone breaks no downstream that cascade could verify; with api@fix in the same release everything cascade could verify passes; web@main (set) could not be verified (see the errors): not known to be safe", GateFail},
		{"a narrowed selection is not safe", Report{Upstream: up, Unselected: []string{"api", "web"}, Results: []Result{res("jobs", Alone, Passed)}},
			0, "merging db@next alone breaks no downstream that cascade could verify; api and web not selected (--only, --tier, --direct) and not verified: not known to be safe", GatePass},
		{"no downstream", Report{Upstream: up}, 0, "no repo in the workspace depends on db: nothing to verify", GatePass},
		{"nothing verified with the change set", Report{Upstream: up, With: []Member{{Repo: "api", Ref: "fix"}}, Order: []string{"db", "api"},
			Results: []Result{res("api", Alone, Regressed), res("api", Set, Error)}},
			1, "merging db@next alone breaks api@main; with api@fix in the same release cascade could verify nothing; api@main (set) could not be verified (see the errors): not known to be safe", GateFail},
	}
	for _, tt := range tests {
		o := Assess(&tt.r)
		gate, _ := o.Gate()
		if o.Exit != tt.exit || o.Conclusion != tt.conclusion || gate != tt.gate {
			t.Errorf("%s: exit %d, gate %s, conclusion %q\nwant exit %d, gate %s, conclusion %q", tt.name, o.Exit, gate, o.Conclusion, tt.exit, tt.gate, tt.conclusion)
		}
	}
}

// A root unit whose build command fails hides only its own failures, not
// those of another unit of the repo.
func TestUnbuiltUnits(t *testing.T) {
	units := []string{".", "go"}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"test/a.js > works", true},
		{"go: ex.com/app.TestSignup", false},
		{"go: [build]", false},
	} {
		if got := unbuilt(tt.name, []string{"[build]"}, units); got != tt.want {
			t.Errorf("unbuilt(%q) under a root [build] = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !unbuilt("go: ex.com/app.TestSignup", []string{"go: [build]"}, units) || unbuilt("test/a.js", []string{"go: [build]"}, units) {
		t.Error("a sub-directory unit's [build] covers exactly its own names")
	}
}

// A flake is confirmed in a new tree unless the baseline failed the same
// way before it passed.
func TestNeedsConfirmation(t *testing.T) {
	pass := Run{Built: true, Passed: true, Named: true}
	failA := Run{Built: true, Named: true, Failed: []string{"p.TestA"}}
	failB := Run{Built: true, Named: true, Failed: []string{"p.TestB"}}
	for _, tt := range []struct {
		name     string
		base     []Run
		attempts []Run
		want     bool
	}{
		{"baseline passed at once", []Run{pass}, []Run{failA, pass}, true},
		{"baseline flaky the same way", []Run{failA, pass}, []Run{failA, pass}, false},
		{"baseline flaky another way", []Run{failB, pass}, []Run{failA, pass}, true},
		{"no flake", []Run{pass}, []Run{pass}, false},
		{"still failing", []Run{pass}, []Run{failA, failA}, false},
	} {
		if got := needsConfirmation(tt.base, tt.attempts, true); got != tt.want {
			t.Errorf("%s: needsConfirmation = %v, want %v", tt.name, got, tt.want)
		}
	}
}
