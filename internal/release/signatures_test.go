package release

import "testing"

func TestSignedActionMayWrite(t *testing.T) {
	for _, c := range []struct {
		action, entry string
		want          bool
	}{
		{"start", "start", true},
		{"start", "start refused", true},
		{"next", "step end", true},
		{"override", "done", true},
		{"confirm", "override", false},
		{"start", "abort", false},
		{"next", "override-gate", false},
		{"unknown", "start", false},
	} {
		if got := signedActionMayWrite(c.action, c.entry); got != c.want {
			t.Errorf("signedActionMayWrite(%q, %q) = %v, want %v", c.action, c.entry, got, c.want)
		}
	}
}
