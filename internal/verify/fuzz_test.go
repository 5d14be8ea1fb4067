package verify

import (
	"strings"
	"testing"
)

// FuzzSplitRef: REPO@REF splits at its last '@' and loses nothing; a
// leading '@' (an npm scope) stays in the name.
func FuzzSplitRef(f *testing.F) {
	for _, s := range []string{"clever-api@fix-format", "@acme/lib@v1.2.0", "@acme/lib", "a@", "@", "a@b@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		repo, ref := SplitRef(s)
		if strings.Contains(ref, "@") || (ref == "" && repo != s && repo+"@" != s) || (ref != "" && repo+"@"+ref != s) {
			t.Fatalf("SplitRef(%q) = %q, %q", s, repo, ref)
		}
		if strings.HasPrefix(s, "@") && !strings.HasPrefix(repo, "@") {
			t.Fatalf("SplitRef(%q) lost the scope: %q", s, repo)
		}
	})
}
