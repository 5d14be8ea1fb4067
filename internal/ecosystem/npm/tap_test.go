package npm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func collect(t *testing.T, root, output string) Results {
	t.Helper()
	c := NewCollector(root, "")
	c.Write([]byte(output))
	r, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTAP(t *testing.T) {
	tests := []struct {
		name string
		tap  string
		want Results
	}{
		{"directives are not failures", `TAP version 13
ok 1 - a
not ok 2 - b
not ok 3 - x # SKIP
not ok 4 - y # TODO not done
not ok 5 - z #skipped on linux
ok 6 - w # todo
1..6
`, Results{Failed: []string{"b"}, Passed: 1, Skipped: 4, Named: true}},
		{"a hash that is not a directive ends the name", `TAP version 14
not ok 1 - slow one # time=12.5ms
not ok 2 - has \# in it # time=1ms
1..2
`, Results{Failed: []string{"has # in it", "slow one"}, Named: true}},
		{"YAML diagnostics are skipped", `TAP version 13
not ok 1 - real
  ---
  stack: |-
    not ok 9 - inside yaml
    ok 10 - also inside
  ...
ok 2 - after
1..2
`, Results{Failed: []string{"real"}, Passed: 1, Named: true}},
		{"an unclosed YAML block ends at a less indented line", `TAP version 13
not ok 1 - real
  ---
  message: x
not ok 2 - next
1..2
`, Results{Failed: []string{"next", "real"}, Named: true}},
		{"nested tests are named parent > child", `TAP version 13
# Subtest: outer
    # Subtest: inner
        # Subtest: leaf
        not ok 1 - leaf
        1..1
    not ok 1 - inner
    # Subtest: ok one
    ok 2 - ok one
    1..2
not ok 1 - outer
1..1
`, Results{Failed: []string{"outer > inner > leaf"}, Passed: 1, Named: true}},
		{"a parent failing on its own is named", `TAP version 13
# Subtest: suite
    # Subtest: a
    ok 1 - a
    1..1
not ok 1 - suite
1..1
`, Results{Failed: []string{"suite"}, Passed: 1, Named: true}},
		{"assertions fail the test they are in", `TAP version 14
# Subtest: test/a.js
    # Subtest: adds
        not ok 1 - should be equal
        ok 2 - should be ok
        1..2
    not ok 1 - adds
    ok 2 - skipped one # SKIP
    1..2
not ok 1 - test/a.js
1..1
`, Results{Failed: []string{"test/a.js > adds"}, Skipped: 1, Named: true}},
		{"buffered subtests with braces", `TAP version 13
not ok 1 - test/a.test.ts # time=3ms {
    ok 1 - works # time=1ms
    not ok 2 - group # time=1ms {
        not ok 1 - breaks # time=1ms
        1..1
    }
    1..2
}
ok 2 - test/b.test.ts {
    ok 1 - fine
    1..1
}
1..2
`, Results{Failed: []string{"test/a.test.ts > group > breaks"}, Passed: 2, Named: true}},
		{"bail out", `TAP version 13
ok 1 - a
Bail out! database is down
not ok 2 - never counted
`, Results{Failed: []string{"[bail out] database is down"}, Passed: 1, Named: true}},
		{"a stream cut before its plan", `TAP version 13
ok 1 - a
not ok 2 - b
`, Results{Failed: []string{"[TAP output ended before its plan]", "b"}, Passed: 1, Named: true}},
		{"a stream cut short of its plan", `TAP version 13
1..3
ok 1 - a
`, Results{Failed: []string{"[TAP output ended after 1 of 3 planned tests]"}, Passed: 1, Named: true}},
		{"a cut stream names what failed under unfinished parents", `TAP version 13
# Subtest: outer
    # Subtest: inner
    not ok 1 - inner
`, Results{Failed: []string{"[TAP output ended before its plan]", "outer > inner"}, Named: true}},
		{"other output around TAP, two streams", `> pkg@1.0.0 test
> xo && ava --tap && node --test

ok this is not TAP
not ok either
TAP version 13
not ok 1 - first
1..1
# tests 1
some log line
TAP version 13
not ok 1 - second
1..1
`, Results{Failed: []string{"first", "second"}, Named: true}},
		{"mocha without a version line or dashes", "ok 1 passes\nnot ok 2 group fails\n# tests 2\n1..2\n",
			Results{Failed: []string{"group fails"}, Passed: 1, Named: true}},
		{"CRLF", "TAP version 13\r\nnot ok 1 - a\r\n1..1\r\n", Results{Failed: []string{"a"}, Named: true}},
		{"no TAP at all", "Tests: 3 failed\nok\nnot ok\n", Results{}},
		{"duplicates are one name", "TAP version 13\nnot ok 1 - a\nnot ok 2 - a\n1..2\n",
			Results{Failed: []string{"a"}, Named: true}},
		{"a point without a name", "TAP version 13\nnot ok 1\n1..1\n", Results{Failed: []string{"test 1"}, Named: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, collect(t, "/tmp/pkg", tt.tap)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNamesAreRelative checks that paths of the package root, in any form,
// leave the names.
func TestNamesAreRelative(t *testing.T) {
	out := `TAP version 13
not ok 1 - /tmp/x/pkg/test/a.test.js
not ok 2 - file:///tmp/x/pkg/test/b.mjs > works
not ok 3 - /tmp/x/pkgother/c.js
not ok 4 - /tmp/x/pkg
1..4
`
	want := []string{".", "/tmp/x/pkgother/c.js", "test/a.test.js", "test/b.mjs > works"}
	if diff := cmp.Diff(want, collect(t, "/tmp/x/pkg", out).Failed); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	// A trailing slash on the root changes nothing.
	if diff := cmp.Diff(want, collect(t, "/tmp/x/pkg/", out).Failed); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestMochaLoadErrorWithoutPackageFrame(t *testing.T) {
	out := "\n Exception during run: Error: Cannot find module 'x'\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1140:15)\n    at /tmp/pkg/node_modules/mocha/lib/cli/run.js:3:1\n"
	want := Results{Failed: []string{"[exception during run] Error: Cannot find module 'x'"}, Named: true}
	if diff := cmp.Diff(want, collect(t, "/tmp/pkg", out)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestLongNamesAreCut(t *testing.T) {
	long := strings.Repeat("é", maxName)
	r := collect(t, "/tmp/pkg", "TAP version 13\nnot ok 1 - "+long+"\n1..1\n")
	if len(r.Failed) != 1 || len(r.Failed[0]) > maxName+len("…") || !strings.HasSuffix(r.Failed[0], "…") {
		t.Errorf("got a name of %d bytes", len(r.Failed[0]))
	}
}

// FuzzCollector checks that no output makes the collector panic, and that
// the names it gives are sorted, unique and free of the package root.
func FuzzCollector(f *testing.F) {
	for _, s := range []string{
		"TAP version 13\n# Subtest: a\n    not ok 1 - b\nnot ok 1 - a\n1..1\n",
		"TAP version 13\nnot ok 1 - x {\n    not ok 1 - y\n}\n    }\nBail out!\n",
		"ok 1\n  ---\n  ...\n1..9\n Exception during run: x\n    at /tmp/pkg/a.js:1:1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		r := collect(t, "/tmp/pkg", out)
		for i, n := range r.Failed {
			if i > 0 && r.Failed[i-1] >= n {
				t.Fatalf("not sorted and unique: %q", r.Failed)
			}
			if strings.Contains(n, "/tmp/pkg/") {
				t.Fatalf("root in %q", n)
			}
		}
	})
}

// node --test prints every file's tests at the top level: two files with
// a test of the same title are two tests, named after their files.
func TestTAPNamesTestsAfterTheirFiles(t *testing.T) {
	c := NewCollector("/tmp/pkg", "")
	c.Write([]byte(`TAP version 13
# Subtest: connects
not ok 1 - connects
  ---
  duration_ms: 1.5
  location: '/tmp/pkg/test/client.test.js:3:1'
  failureType: 'testCodeFailure'
  ...
# Subtest: connects
ok 2 - connects
  ---
  duration_ms: 0.5
  location: '/tmp/pkg/test/db.test.js:3:1'
  ...
# Subtest: /tmp/pkg/test/broken.test.js
not ok 3 - /tmp/pkg/test/broken.test.js
  ---
  location: '/tmp/pkg/test/broken.test.js:1:1'
  ...
1..3
`))
	res, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"test/broken.test.js", "test/client.test.js > connects"}, res.Failed); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
