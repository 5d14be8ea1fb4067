package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{
		{1, "gate", "1 gate"}, {0, "gate", "0 gates"}, {2, "gate", "2 gates"},
		{1, "person", "1 person"}, {3, "person", "3 people"},
		{2, "plan file", "2 plan files"}, {1, "plan file", "1 plan file"},
		{2, "regression", "2 regressions"}, {2, "dependency", "2 dependencies"},
		{2, "day", "2 days"}, {2, "pass", "2 passes"}, {12, "step", "12 steps"},
		{-1, "step", "-1 steps"}, {1204, "line", "1204 lines"},
	} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q; want %q", c.n, c.noun, got, c.want)
		}
	}
}
