package npm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLongLineIgnored checks that a line over 1 MiB is dropped as text,
// whether it comes in one write or many, and that the lines around it
// still count.
func TestLongLineIgnored(t *testing.T) {
	long := "not ok 2 - " + strings.Repeat("x", maxLine)
	out := "TAP version 13\nnot ok 1 - before\n" + long + "\nnot ok 3 - after\n1..3\n"
	// The dropped test point is missing from the plan's count.
	want := Results{Failed: []string{"[TAP output ended after 2 of 3 planned tests]", "after", "before"}, Named: true}
	for _, size := range []int{len(out), 4096, 1} {
		c := NewCollector("/tmp/pkg", "")
		for s := out; len(s) > 0; {
			n := min(size, len(s))
			c.Write([]byte(s[:n]))
			s = s[n:]
			if cap(c.line) > maxLine {
				t.Fatalf("write size %d: line buffer grew to %d", size, cap(c.line))
			}
		}
		got, err := c.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("write size %d: mismatch (-want +got):\n%s", size, diff)
		}
	}
}

// tapGen generates TAP of n tests, every failEvery-th failing, without
// holding it.
type tapGen struct {
	n, i, failEvery int
	buf             []byte
}

func (s *tapGen) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.i <= s.n {
		switch {
		case s.i == 0:
			s.buf = append(s.buf, "TAP version 13\n"...)
		case s.i%s.failEvery == 0:
			s.buf = fmt.Appendf(s.buf, "not ok %d - failing test number %d\n  ---\n  duration_ms: 0.1\n  ...\n", s.i, s.i)
		default:
			s.buf = fmt.Appendf(s.buf, "ok %d - passing test number %d with a longish name to fill the log\n", s.i, s.i)
		}
		if s.i == s.n {
			s.buf = fmt.Appendf(s.buf, "1..%d\n", s.n)
		}
		s.i++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	return n, nil
}

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// TestLargeOutputBoundedMemory reads 50 MB of TAP and checks both the
// results and that the collector did not keep the output.
func TestLargeOutputBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 50 MB")
	}
	const n = 750_000
	before := heapMB()
	c := NewCollector("/tmp/pkg", "")
	src := &tapGen{n: n, i: 0, failEvery: 1000}
	read, err := io.Copy(c, src)
	if err != nil {
		t.Fatal(err)
	}
	if read < 50<<20 {
		t.Fatalf("the stream was only %d bytes", read)
	}
	held := heapMB() - before
	got, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if held > 16 {
		t.Errorf("reading %d MB held %.1f MB", read>>20, held)
	}
	t.Logf("read %d MiB of TAP holding %.1f MiB", read>>20, held)
	if len(got.Failed) != n/1000 || got.Passed != n-n/1000 || got.Failed[0] != "failing test number 1000" {
		t.Errorf("got %d failed (first %q), %d passed", len(got.Failed), got.Failed[0], got.Passed)
	}
}

// TestManyFailuresBounded checks that past maxFailed failing tests the rest
// are summed up in one name instead of held.
func TestManyFailuresBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 200,000 failures")
	}
	c := NewCollector("/tmp/pkg", "")
	if _, err := io.Copy(c, &tapGen{n: maxFailed * 2, failEvery: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Failed) != maxFailed+1 || !contains(got.Failed, tooManyFailed) {
		t.Errorf("got %d names", len(got.Failed))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestNodeTestTwoCopies runs node's own test runner for real, through
// InstrumentScript and a Collector, in two copies of one package (one
// reached through a symlink) and checks that both name the same failures,
// relative to the package.
func TestNodeTestTwoCopies(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("sh is not installed")
	}
	var results []Results
	base := t.TempDir()
	for i, copyName := range []string{"baseline", "candidate"} {
		dir := filepath.Join(base, copyName, "pkg")
		for name, body := range nodeTests {
			mustWrite(t, filepath.Join(dir, name), body)
		}
		root := dir
		if i == 1 {
			// The candidate is run through a symlink to its directory.
			root = filepath.Join(base, "link")
			if err := os.Symlink(dir, root); err != nil {
				t.Fatal(err)
			}
		}
		report := filepath.Join(base, copyName, "report")
		if err := os.Mkdir(report, 0o755); err != nil {
			t.Fatal(err)
		}
		script, runners := InstrumentScript("node --test test/", report)
		if diff := cmp.Diff([]string{NodeTest}, runners); diff != "" {
			t.Fatalf("runners mismatch (-want +got):\n%s", diff)
		}
		c := NewCollector(root, report)
		cmd := exec.Command(sh, "-c", script)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + filepath.Dir(node), "NO_COLOR=1"}
		cmd.Stdout, cmd.Stderr = c, c
		if err := cmd.Run(); err == nil {
			t.Fatal("node --test passed; the package has failing tests")
		}
		r, err := c.Finish()
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	if diff := cmp.Diff(results[0], results[1]); diff != "" {
		t.Errorf("the two copies differ (-baseline +candidate):\n%s", diff)
	}
	want := []string{"test/math.test.js > fails", "test/math.test.js > group > deeper > deep fails", "test/math.test.js > group > inner fails", "test/throws.test.js"}
	if diff := cmp.Diff(want, results[0].Failed); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if !results[0].Named || results[0].Passed != 2 {
		t.Errorf("got %+v", results[0])
	}
}

func TestReportErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		f := filepath.Join(dir, name)
		mustWrite(t, f, content)
		return f
	}
	tests := []struct {
		file, content, err string
	}{
		{"cut.json", `{"testResults": [{"name": "/x/a.js", "status": "failed", "assert`, "the JSON report ends early"},
		{"other.json", `{"name": "pkg"}`, "without testResults"},
		{"bad.xml", `<testsuite><testcase name="a"></testsuite`, "invalid JUnit XML"},
		{"other.xml", `<project><name>x</name></project>`, "without testsuite"},
		{"log.txt", "just a log\n", "no test results in it"},
	}
	for _, tt := range tests {
		f := write(tt.file, tt.content)
		_, err := ReadReport(f, dir)
		if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), f) {
			t.Errorf("%s: got error %v, want one naming the file and saying %q", tt.file, err, tt.err)
		}
	}
	// In a report directory, a broken report is an error; the rest still counts.
	rep := filepath.Join(dir, "rep")
	mustWrite(t, filepath.Join(rep, "1-jest.json"), `{"testResults": [`)
	mustWrite(t, filepath.Join(rep, "2-node-test.tap"), "TAP version 13\nnot ok 1 - a\n1..1\n")
	c := NewCollector(dir, rep)
	r, err := c.Finish()
	if err == nil || !strings.Contains(err.Error(), "1-jest.json") {
		t.Errorf("got error %v", err)
	}
	if diff := cmp.Diff([]string{"a"}, r.Failed); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	// An empty report file is a runner that never wrote: no error.
	mustWrite(t, filepath.Join(dir, "empty", "1-jest.json"), "")
	if _, err := NewCollector(dir, filepath.Join(dir, "empty")).Finish(); err != nil {
		t.Errorf("empty report: %v", err)
	}
}

// TestJestSuiteFailures: a file that fails without a failing test (it
// did not load, or a hook outside tests failed) is named by its path.
func TestJestSuiteFailures(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "r.json")
	mustWrite(t, f, `{"numFailedTests": 1, "testResults": [
 {"name": "/ci/pkg/test/a.test.js", "status": "failed", "message": "afterAll failed", "assertionResults": [
   {"ancestorTitles": ["A"], "title": "ok", "status": "passed"}]},
 {"name": "/ci/pkg/test/b.test.js", "status": "failed", "message": "x", "assertionResults": [
   {"ancestorTitles": [], "title": "bad", "status": "failed"},
   {"ancestorTitles": [], "title": "later", "status": "todo"}]}
], "snapshot": {"x": [1, {"y": null}]}}`)
	r, err := ReadReport(f, "/ci/pkg")
	if err != nil {
		t.Fatal(err)
	}
	want := Results{Failed: []string{"test/a.test.js", "test/b.test.js > bad"}, Passed: 1, Skipped: 1, Named: true}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestCollectorAfterFinish(t *testing.T) {
	c := NewCollector("/tmp/pkg", "")
	c.Write([]byte("TAP version 13\nnot ok 1 - a\n1..1"))
	r1, _ := c.Finish()
	c.Write([]byte("\nnot ok 2 - b\n"))
	r2, _ := c.Finish()
	if diff := cmp.Diff(r1, r2); diff != "" || !bytes.Equal([]byte(strings.Join(r1.Failed, ",")), []byte("a")) {
		t.Errorf("got %v then %v", r1, r2)
	}
}

// A suite whose setup fails reports an error outside every test case: it
// is a failure, not a pass.
func TestJUnitSuiteError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "junit.xml")
	if err := os.WriteFile(file, []byte(`<testsuites><testsuite name="db" errors="1"><error message="beforeAll failed"/><testcase classname="db" name="reads"/></testsuite></testsuites>`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ReadReport(file, dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"db > [error outside a test]"}, res.Failed); diff != "" || !res.Named || res.Passed != 1 {
		t.Errorf("named=%v passed=%d, mismatch (-want +got):\n%s", res.Named, res.Passed, diff)
	}
}

// TestReportLeftByTheTest: the report file is written by the repo's own
// test command, which may leave a named pipe, a link out of its tree or
// a link to a device there. Each is an error at once: cascade neither
// blocks, nor reads without end, nor reads a file outside the tree.
func TestReportLeftByTheTest(t *testing.T) {
	base := t.TempDir()
	secret := filepath.Join(base, "secret.xml")
	if err := os.WriteFile(secret, []byte(`<testsuites><testsuite name="s"><testcase classname="s" name="leaked"/></testsuite></testsuites>`), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(base, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "reports"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(tree, "reports", "fifo.xml"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, to := range map[string]string{"zero.xml": "/dev/zero", "out.xml": "../../secret.xml", "abs.xml": secret} {
		if err := os.Symlink(to, filepath.Join(tree, "reports", name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(base, filepath.Join(tree, "up")); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"reports/fifo.xml", "reports/zero.xml", "reports/out.xml", "reports/abs.xml", "up/secret.xml"} {
		done := make(chan error, 1)
		go func() {
			_, err := ReadReportIn(tree, filepath.FromSlash(rel), tree)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: read as a report", rel)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: reading the report did not return", rel)
		}
	}
	// The same through the directory the runners write their reports in.
	c := NewCollector(tree, filepath.Join(tree, "reports"))
	if _, err := c.Finish(); err != nil && strings.Contains(err.Error(), "leaked") {
		t.Error(err)
	}
	if res, _ := c.Finish(); slices.Contains(res.Failed, "s > leaked") || res.Passed > 0 {
		t.Errorf("read a report from outside the tree: %+v", res)
	}
}

// TestReportsOverBudget: the runners' report directory is the test's to
// write. Many large sparse files there (no disk blocks, so no disk cap
// holds them) are refused by their sizes, not read for hours.
func TestReportsOverBudget(t *testing.T) {
	dir := t.TempDir()
	for i := range 200 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("r%03d.xml", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(256 << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	done := make(chan error, 1)
	go func() {
		_, err := NewCollector(dir, dir).Finish()
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errReportsTooLarge) {
			t.Errorf("Finish = %v, want the reports refused as too large", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("reading 200 sparse reports of 256 MiB did not end in 20 s")
	}
}
