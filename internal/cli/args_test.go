package cli

import (
	"fmt"
	"testing"
)

// The arguments a command takes are read from its usage line.
func TestUseArgs(t *testing.T) {
	for _, c := range []struct{ use, want string }{
		{"graph", "[] [] false"},
		{"verify REPO[@REF]", "[REPO[@REF]] [] false"},
		{"confirm PLAN STEP", "[PLAN STEP] [] false"},
		{"init [DIR...]", "[] [DIR] true"},
		{"demo [DIR]", "[] [DIR] false"},
		{"replay --old SCHEMA --new SCHEMA [flags] FILE...", "[FILE...] [] true"},
		{"new ID --title T --manager NAME --change REPO@REF...", "[ID] [] false"},
		{"rescope ID [--reason TEXT]", "[ID] [] false"},
		{"override PLAN STEP --reason TEXT", "[PLAN STEP] [] false"},
		{"check [REPO@REF...]", "[] [REPO@REF] true"},
	} {
		req, opt, v := useArgs(c.use)
		if got := fmt.Sprint(req, " ", opt, " ", v); got != c.want {
			t.Errorf("useArgs(%q) = %s, want %s", c.use, got, c.want)
		}
	}
}
