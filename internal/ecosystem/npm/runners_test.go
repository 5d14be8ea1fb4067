package npm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRunnerOutputs reads what the real runners printed and wrote (see
// TestCaptureRunners) the way cascade reads a test run.
func TestRunnerOutputs(t *testing.T) {
	fileFails := []string{
		"test/math.test.js > fails",
		"test/math.test.js > group > deeper > deep fails",
		"test/math.test.js > group > inner fails",
		"test/throws.test.js",
	}
	tests := []struct {
		name string
		want Results
	}{
		// node prints nested tests indented, and each file's tests at the
		// top level: a test is named after the file its YAML block's
		// location: names; a test file that does not load is a failing test
		// named by its path; "todo failing" is a TODO.
		{"node", Results{Failed: []string{
			"test/math.test.js > fails",
			"test/math.test.js > group > deeper > deep fails",
			"test/math.test.js > group > inner fails",
			"test/throws.test.js",
		}, Passed: 2, Skipped: 3, Named: true}},
		// ava names an uncaught exception by its message, and the file that
		// exited; "not ok ... # TODO" is not a failure.
		{"ava", Results{Failed: []string{
			"Error: cannot load",
			"math › fails",
			"math › group › inner fails",
			"test/throws.js exited with a non-zero exit code: 1",
		}, Passed: 1, Skipped: 2, Named: true}},
		{"jest", Results{Failed: fileFails, Passed: 2, Skipped: 2, Named: true}},
		// The runner is in a script that scripts.test runs with npm run.
		{"jest-run", Results{Failed: fileFails, Passed: 2, Skipped: 2, Named: true}},
		{"vitest", Results{Failed: fileFails, Passed: 2, Skipped: 2, Named: true}},
		{"mocha", Results{Failed: []string{
			"fails",
			"group deeper deep fails",
			"group inner fails",
		}, Passed: 2, Skipped: 2, Named: true}},
		// mocha stops at a file that does not load and says which on stderr.
		{"mocha-load", Results{Failed: []string{"test/throws.test.js"}, Named: true}},
		// node-tap: a failing assertion fails its test, which is named.
		{"tap", Results{Failed: []string{
			"test/math.js > fails",
			"test/math.js > group > deeper > deep fails",
			"test/math.js > group > inner fails",
			"test/throws.js",
		}, Passed: 2, Skipped: 2, Named: true}},
		// The user's JUnit reporter stays; cascade's TAP goes to a file.
		{"node-junit", Results{Failed: []string{
			"test/math.test.js > fails",
			"test/math.test.js > group > deeper > deep fails",
			"test/math.test.js > group > inner fails",
			"test/throws.test.js",
		}, Passed: 2, Skipped: 3, Named: true}},
		// Scripts that write their own reports are left alone.
		{"vitest-junit", Results{}},
		{"mocha-json", Results{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "runners", tt.name)
			out, err := os.ReadFile(filepath.Join(dir, "output.txt"))
			if err != nil {
				t.Fatal(err)
			}
			c := NewCollector(captureRoot+"/"+tt.name, filepath.Join(dir, "report"))
			// Small writes that split lines anywhere.
			for len(out) > 0 {
				n := min(len(out), 7)
				c.Write(out[:n])
				out = out[n:]
			}
			got, err := c.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadReport reads report files that repos write themselves.
func TestReadReport(t *testing.T) {
	tests := []struct {
		file string
		want Results
	}{
		{"vitest-junit/junit.xml", Results{Failed: []string{
			"test/math.test.js > fails",
			"test/math.test.js > group > deeper > deep fails",
			"test/math.test.js > group > inner fails",
			"test/throws.test.js",
		}, Passed: 2, Skipped: 2, Named: true}},
		// node's JUnit: classname "test", suites for describe blocks; a
		// TODO test that fails is skipped, not failed.
		{"node-junit/junit.xml", Results{Failed: []string{
			"test > fails",
			"test > group > deeper > deep fails",
			"test > group > inner fails",
			"test > test/throws.test.js",
		}, Passed: 2, Skipped: 3, Named: true}},
		{"node-junit/report/1-node-test.tap", Results{Failed: []string{
			"test/math.test.js > fails",
			"test/math.test.js > group > deeper > deep fails",
			"test/math.test.js > group > inner fails",
			"test/throws.test.js",
		}, Passed: 2, Skipped: 3, Named: true}},
		{"mocha-json/mocha.json", Results{Failed: []string{
			"test/math.test.js > fails",
			"test/math.test.js > group deeper deep fails",
			"test/math.test.js > group inner fails",
		}, Passed: 2, Skipped: 2, Named: true}},
		{"jest/report/1-jest.json", Results{Failed: []string{
			"test/math.test.js > fails",
			"test/math.test.js > group > deeper > deep fails",
			"test/math.test.js > group > inner fails",
			"test/throws.test.js",
		}, Passed: 2, Skipped: 2, Named: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			name, _, _ := strings.Cut(tt.file, "/")
			got, err := ReadReport(filepath.Join("testdata", "runners", tt.file), captureRoot+"/"+name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
