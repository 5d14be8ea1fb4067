package verify

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJudge(t *testing.T) {
	pass := Run{Built: true, Passed: true}
	noBuild := Run{Built: false, Command: "go build ./...", Log: "undefined: x"}
	failA := Run{Built: true, Failed: []string{"p.TestA"}, Command: "go test", Log: "A failed"}
	failAB := Run{Built: true, Failed: []string{"p.TestA", "p.TestB"}, Command: "go test", Log: "A and B failed"}
	failNoName := Run{Built: true, Command: "npm test", Log: "crashed"}
	tests := []struct {
		name     string
		base     Run
		attempts []Run
		want     Judgement
	}{
		{"pass pass", pass, []Run{pass}, Judgement{Verdict: Passed}},
		{"pass, candidate never builds", pass, []Run{noBuild, noBuild, noBuild},
			Judgement{Verdict: Regressed, Command: "go build ./...", Log: "undefined: x", Reason: "the baseline builds and the candidate does not"}},
		{"old test failures do not hide a broken build", failA, []Run{noBuild, noBuild},
			Judgement{Verdict: Regressed, Command: "go build ./...", Log: "undefined: x", Reason: "the baseline builds and the candidate does not"}},
		{"a new failing test is named", failA, []Run{failAB, failAB},
			Judgement{Verdict: Regressed, Tests: []string{"p.TestB"}, Command: "go test", Log: "A and B failed", Reason: "tests that pass at the baseline fail with the candidate"}},
		{"only old failures: broken", failA, []Run{failA},
			Judgement{Verdict: Broken, Tests: []string{"p.TestA"}, Command: "go test", Log: "A failed", Reason: "already failing at the baseline: not this change's fault"}},
		{"neither builds: broken", noBuild, []Run{noBuild},
			Judgement{Verdict: Broken, Command: "go build ./...", Log: "undefined: x", Reason: "does not build at the baseline either: not this change's fault"}},
		{"fixed", failA, []Run{pass}, Judgement{Verdict: Fixed, Tests: []string{"p.TestA"}, Reason: "fails at the baseline and passes with the candidate"}},
		{"fixed build", noBuild, []Run{pass}, Judgement{Verdict: Fixed, Reason: "fails at the baseline and passes with the candidate"}},
		{"flaky", pass, []Run{failA, pass},
			Judgement{Verdict: Flaky, Tests: []string{"p.TestA"}, Command: "go test", Log: "A failed", Reason: "failed, then passed on a retry"}},
		{"flaky after two failures", pass, []Run{noBuild, failA, pass},
			Judgement{Verdict: Flaky, Tests: []string{"p.TestA"}, Command: "go build ./...", Log: "undefined: x", Reason: "failed, then passed on a retry"}},
		{"unnamed failure counts", pass, []Run{failNoName},
			Judgement{Verdict: Regressed, Tests: []string{"(test command)"}, Command: "npm test", Log: "crashed", Reason: "tests that pass at the baseline fail with the candidate"}},
		{"timeout is an error, never a regression", pass, []Run{{Infra: "timed out after 10m0s", Command: "go test"}},
			Judgement{Verdict: Error, Command: "go test", Reason: "candidate: timed out after 10m0s"}},
		{"baseline infra is an error", Run{Infra: "killed"}, []Run{pass},
			Judgement{Verdict: Error, Reason: "baseline: killed"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, judge(tt.base, tt.attempts)); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}
