package gomod

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	m, err := Parse("go.mod", []byte(`module example.com/api

go 1.22

require (
	example.com/db v1.4.0
	example.com/conv v1.2.0 // indirect
)

replace example.com/db => ../db

replace example.com/old v1.0.0 => example.com/new v1.1.0
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Module{Path: "example.com/api", GoVersion: "1.22",
		Requires: []Require{{"example.com/db", "v1.4.0", false, 6}, {"example.com/conv", "v1.2.0", true, 7}},
		Replaces: []Replace{{"example.com/db", "", "../db", "", 10}, {"example.com/old", "v1.0.0", "example.com/new", "v1.1.0", 12}},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	for data, want := range map[string]string{
		"module x\n\nrequir y v1.0.0\n": "go.mod:3: unknown directive: requir",
		"go 1.22\n":                     "go.mod:1: no module directive; add `module example.com/name`",
		"module x\nrequire y\n":         "go.mod:2: usage: require module/path v1.2.3",
	} {
		_, err := Parse("go.mod", []byte(data))
		var pe *ParseError
		if !errors.As(err, &pe) || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %q", data, err, want)
		}
	}
}
