package npm

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFailedTests(t *testing.T) {
	tap := `TAP version 13
# Subtest: whereFields
not ok 1 - whereFields
  ---
  duration_ms: 1.2
  ...
ok 2 - other
    not ok 1 - nested case # TODO later
not ok 3 - /tmp/x/index.test.js
1..3
`
	if diff := cmp.Diff([]string{"/tmp/x/index.test.js", "nested case", "whereFields"}, FailedTests(tap)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if FailedTests("plain output\n") != nil {
		t.Error("FailedTests found tests in plain output")
	}
}

func TestBestVersion(t *testing.T) {
	tags := []string{"v1.0.0", "v1.4.2", "v2.0.0", "nonsense", "v1.5.0-beta.1"}
	for spec, want := range map[string]string{"^1.0.0": "v1.4.2", "~1.0": "v1.0.0", ">=2": "v2.0.0", "^3": "", "file:../x": "", "*": "v2.0.0"} {
		if got := BestVersion(spec, tags); got != want {
			t.Errorf("BestVersion(%q) = %q, want %q", spec, got, want)
		}
	}
}
