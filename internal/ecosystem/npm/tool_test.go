package npm

import (
	"testing"
)

func TestBestVersion(t *testing.T) {
	tags := []string{"v1.0.0", "v1.4.2", "v2.0.0", "nonsense", "v1.5.0-beta.1"}
	for spec, want := range map[string]string{"^1.0.0": "v1.4.2", "~1.0": "v1.0.0", ">=2": "v2.0.0", "^3": "", "file:../x": "", "*": "v2.0.0"} {
		if got := BestVersion(spec, tags); got != want {
			t.Errorf("BestVersion(%q) = %q, want %q", spec, got, want)
		}
	}
}
