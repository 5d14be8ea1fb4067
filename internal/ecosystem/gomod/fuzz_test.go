package gomod

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParse: any go.mod is read or refused with a *ParseError naming the
// file; a module read has a path and every requirement a path and version.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n",
		"module example.com/app\n\ngo 1.22\n\nrequire (\n\texample.com/lib v1.2.3 // indirect\n\texample.com/other v0.0.0-20260101000000-abcdefabcdef\n)\n\nreplace example.com/lib => ../lib\n\ntool example.com/tool\n",
		"module \"--output=/tmp/x\"\n", "go 1.22\n", "module a\nrequire -x v1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("a/go.mod", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "a/go.mod") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		if m.Path == "" {
			t.Fatal("module read without a path")
		}
		for _, r := range m.Requires {
			if r.Path == "" || r.Version == "" {
				t.Fatalf("requirement without path or version: %+v", r)
			}
		}
	})
}

// FuzzTestStream: `go test -json` output gives the same results whether it
// arrives at once or in two pieces split anywhere; the failed tests are
// sorted and unique.
func FuzzTestStream(f *testing.F) {
	for _, s := range []string{
		`{"Action":"run","Package":"example.com/a","Test":"TestX"}
{"Action":"output","Package":"example.com/a","Test":"TestX","Output":"--- FAIL: TestX (0.00s)\n"}
{"Action":"fail","Package":"example.com/a","Test":"TestX","Elapsed":0}
{"Action":"fail","Package":"example.com/a","Elapsed":0.1}
`,
		`{"ImportPath":"example.com/b","Action":"build-output","Output":"# example.com/b\n"}
{"ImportPath":"example.com/b","Action":"build-fail"}
{"Action":"start","Package":"example.com/b"}
{"Action":"output","Package":"example.com/b","Output":"FAIL\texample.com/b [build failed]\n"}
{"Action":"fail","Package":"example.com/b","Elapsed":0,"FailedBuild":"example.com/b"}
`,
		`{"Action":"run","Package":"p","Test":"TestA/sub"}
{"Action":"fail","Package":"p","Test":"TestA/sub"}
{"Action":"pass","Package":"p","Test":"TestA"}
panic: boom
`,
	} {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		at := int(cut) % (len(data) + 1)
		whole := NewTestStream("/root")
		whole.Write(data)
		a := whole.Finish()
		split := NewTestStream("/root")
		split.Write(data[:at])
		split.Write(data[at:])
		b := split.Finish()
		if !slices.Equal(a.Failed, b.Failed) {
			t.Fatalf("split at %d: failed %q, at once %q", at, b.Failed, a.Failed)
		}
		if !slices.IsSorted(a.Failed) || len(slices.Compact(slices.Clone(a.Failed))) != len(a.Failed) {
			t.Fatalf("failed not sorted and unique: %q", a.Failed)
		}
	})
}
