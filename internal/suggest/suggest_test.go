package suggest

import (
	"reflect"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"run", "run", 0}, {"rn", "run", 1}, {"nur", "run", 2},
		{"verison", "version", 1}, {"kitten", "sitting", 3},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	keys := []string{"name", "run", "manual", "check", "verify", "gate", "wait", "tag", "retry", "timeout", "inputs"}
	for name, want := range map[string][]string{
		"rn":      {"run"},
		"chekc":   {"check"},
		"input":   {"inputs"},
		"NAME":    {"name"},
		"deploy":  nil,
		"timeout": nil, // a known name is not suggested for itself
		"":        nil,
	} {
		if got := Closest(name, keys); !reflect.DeepEqual(got, want) {
			t.Errorf("Closest(%q) = %q; want %q", name, got, want)
		}
	}
	if got := DidYouMean("tga", keys, func(s string) string { return "`" + s + "`" }); got != "; did you mean `tag`?" {
		t.Errorf("DidYouMean = %q", got)
	}
}
