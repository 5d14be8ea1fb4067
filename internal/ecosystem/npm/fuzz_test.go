package npm

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParse: any package.json is read or refused with a *ParseError
// naming the file; every dependency read has a name.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"name":"@acme/app","version":"1.0.0","private":true,"dependencies":{"@acme/lib":"^1.2.0"},"devDependencies":{"x":"workspace:*"}}`,
		`{"name":"a","dependencies":{"b":1}}`, `{"name":"a","peerDependencies":{"":"--x"}}`, `[]`, `{"name":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("a/package.json", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "a/package.json") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		for _, d := range p.Deps {
			if d.Name == "" && len(data) > 0 && !strings.Contains(string(data), `""`) {
				t.Fatalf("dependency without a name: %+v", d)
			}
		}
	})
}

// FuzzCollectorSplit: test runner output (TAP and the rest) gives the same
// results whether it arrives at once or in two pieces split anywhere; the
// failed tests are sorted and unique; output without "not ok" and without
// a runner's failure words fails no test by name.
func FuzzCollectorSplit(f *testing.F) {
	for _, s := range []string{
		"TAP version 13\nok 1 - a\nnot ok 2 - b\nnot ok 3 - x # SKIP\n1..3\n",
		"TAP version 14\n# Subtest: outer\n    # Subtest: inner\n    not ok 1 - inner\n      ---\n      location: '/root/test/a.test.js:1:1'\n      ...\n    1..1\nnot ok 1 - outer\n1..1\n",
		"TAP version 13\nok 1 - a {\n    not ok 1 - b\n    1..1\n}\nBail out! db down\n",
		"  ✔ passes\n  1) fails\n\n  1 passing\n  1 failing\n",
	} {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		at := int(cut) % (len(data) + 1)
		run := func(parts ...[]byte) Results {
			c := NewCollector("/root", "")
			for _, p := range parts {
				c.Write(p)
			}
			r, err := c.Finish()
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			return r
		}
		a := run(data)
		b := run(data[:at], data[at:])
		if !slices.Equal(a.Failed, b.Failed) || a.Passed != b.Passed || a.Named != b.Named {
			t.Fatalf("split at %d: %+v, at once %+v", at, b, a)
		}
		if !slices.IsSorted(a.Failed) || len(slices.Compact(slices.Clone(a.Failed))) != len(a.Failed) {
			t.Fatalf("failed not sorted and unique: %q", a.Failed)
		}
	})
}
