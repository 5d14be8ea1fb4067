package npm

import (
	"testing"

	"github.com/cascade-dev/cascade/internal/ecosystem"
)

func TestBestVersion(t *testing.T) {
	tags := []string{"v1.0.0", "v1.4.2", "v2.0.0", "nonsense", "v1.5.0-beta.1"}
	for spec, want := range map[string]string{"^1.0.0": "v1.4.2", "~1.0": "v1.0.0", ">=2": "v2.0.0", "^3": "", "file:../x": "", "*": "v2.0.0"} {
		if got := BestVersion(spec, tags); got != want {
			t.Errorf("BestVersion(%q) = %q, want %q", spec, got, want)
		}
	}
}

func TestRelease(t *testing.T) {
	tags := []string{"v1.0.0", "v1.2.0", "v2.0.0", "go/v1.9.0", "web/v1.1.0", "web/v1.3.0", "@t/ui@1.4.0", "@t/ui@2.0.0", "notes"}
	for _, tt := range []struct {
		m    ecosystem.Module
		rng  string
		want string
	}{
		{ecosystem.Module{Name: "@t/root", Dir: "."}, "^1.0.0", "refs/tags/v1.2.0"},
		{ecosystem.Module{Name: "@t/web", Dir: "web"}, "^1.0.0", "refs/tags/web/v1.3.0"},
		{ecosystem.Module{Name: "@t/ui", Dir: "packages/ui"}, "^1.0.0", "refs/tags/@t/ui@1.4.0"},
		// A package in a sub-directory is not released by the root's tags.
		{ecosystem.Module{Name: "@t/lib", Dir: "lib"}, "^1.0.0", ""},
		{ecosystem.Module{Name: "@t/root", Dir: "."}, "^3.0.0", ""},
	} {
		if got := (&NPM{}).Release(tt.m, tt.rng, tags); got != tt.want {
			t.Errorf("Release(%s, %s) = %q, want %q", tt.m.Name, tt.rng, got, tt.want)
		}
	}
}
