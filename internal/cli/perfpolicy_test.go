package cli

import (
	"strconv"
	"testing"

	"github.com/cascade-dev/cascade/internal/plan"
)

// `plan check` without --bench-runs takes the same performance policy as
// the gates `release start` and `release next` re-run: the benchmark
// samples are cached by policy, so a release right after its check reuses
// them instead of measuring the same trees again.
func TestPlanCheckBenchRunsDefaultIsTheReleasePolicy(t *testing.T) {
	a := &app{}
	f := a.planCheckCommand().Flags().Lookup("bench-runs")
	if f == nil {
		t.Fatal("plan check has no --bench-runs flag")
	}
	if want := strconv.Itoa(plan.DefaultPerfPolicy().Runs); f.DefValue != want {
		t.Errorf("plan check --bench-runs defaults to %s; the gates a release re-runs start with %s runs, so the release would not reuse the check's samples", f.DefValue, want)
	}
}
