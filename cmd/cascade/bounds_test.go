package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Hostile schemas and logs, run through the real binary in a child
// process whose peak memory is measured (the test binary is cascade when
// called by that name: see TestMain).

// child is a cascade process: started by start, ended by wait.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

// startCascade starts cascade in dir, under an address-space limit of 4
// GB so that a regression fails the test instead of the machine.
func startCascade(t *testing.T, dir string, args ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "cascade")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command("sh", append([]string{"-c", `ulimit -v 4000000 && exec "$0" "$@"`, link}, args...)...)}
	c.cmd.Dir = dir
	c.cmd.Env = append(os.Environ(), "CASCADE_CACHE_DIR="+filepath.Join(dir, ".cache"))
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// wait returns the exit code and the peak resident memory in MB.
func (c *child) wait(t *testing.T) (code int, rssMB int64) {
	t.Helper()
	err := c.cmd.Wait()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	ru := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return c.cmd.ProcessState.ExitCode(), ru.Maxrss / 1024
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func nested(levels int, leaf string) string {
	return strings.Repeat(`{"type":"object","properties":{"a":`, levels) + leaf + strings.Repeat(`}}`, levels)
}

// chain is a schema of n $defs, each referring twice to the next (through
// anyOf and allOf, or, with deep, one level down in property "a"), ending
// in leaf: 2.5 KB for 25 levels, and 2^25 evaluations for the validator to
// decide a value.
func chain(n int, deep bool, leaf string) string {
	var b strings.Builder
	b.WriteString(`{"$ref":"#/$defs/d0","$defs":{`)
	for i := range n {
		next := fmt.Sprintf(`{"$ref":"#/$defs/d%d"}`, i+1)
		if deep {
			fmt.Fprintf(&b, `"d%d":{"type":"object","properties":{"a":{"anyOf":[%s,{"allOf":[%s]}]}}},`, i, next, next)
		} else {
			fmt.Fprintf(&b, `"d%d":{"anyOf":[%s,{"allOf":[%s,{"type":"object"}]}]},`, i, next, next)
		}
	}
	fmt.Fprintf(&b, `"d%d":{"type":%q}}}`, n, leaf)
	return b.String()
}

func enum(from, n int) string {
	var b strings.Builder
	b.WriteString(`{"enum":[`)
	for i := from; i < from+n; i++ {
		if i > from {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"v%d"`, i)
	}
	b.WriteString("]}")
	return b.String()
}

// TestSchemaDiffHostileSchemasBounded: each case of issue 13 ends with
// the documented exit code, no stack trace, small output and a peak
// memory under 200 MB. Before, they took 9 GB (minItems), printed 100 MB
// (minLength), panicked (maxLength 1e20), ran for minutes (a 20k enum,
// 2,400 levels of nesting) or did not end (recursive trees).
func TestSchemaDiffHostileSchemasBounded(t *testing.T) {
	t.Parallel()
	slot(t)
	const capMB = 200
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"array.json":      `{"type":"array"}`,
		"minitems.json":   `{"type":"array","minItems":100000000}`,
		"minitems5.json":  `{"type":"array","minItems":5}`,
		"string.json":     `{"type":"string"}`,
		"minlength.json":  `{"type":"string","minLength":100000000}`,
		"minlength1.json": `{"type":"string","minLength":100000001}`,
		"maxlength.json":  `{"type":"string","maxLength":1e20}`,
		"enum-a.json":     enum(0, 20000),
		"enum-b.json":     enum(1, 20000),
		"deep-a.json":     nested(2400, `{"type":"string"}`),
		"deep-b.json":     nested(2400, `{"type":"integer"}`),
		"tree-a.json": `{"$defs":{"node":{"type":"object","properties":{"value":{"type":"string"},
			"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value"]}},"$ref":"#/$defs/node"}`,
		"tree-b.json": `{"$defs":{"node":{"type":"object","properties":{"value":{"type":"string","maxLength":10},
			"left":{"$ref":"#/$defs/node"},"right":{"$ref":"#/$defs/node"},
			"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value","left"]}},"$ref":"#/$defs/node"}`,
		"huge-a.json":       `{"type":"number","minimum":1e999999}`,
		"huge-b.json":       `{"type":"number","minimum":2e999999}`,
		"chain-a.json":      chain(25, false, "string"),
		"chain-b.json":      chain(25, false, "integer"),
		"deep-chain-a.json": chain(25, true, "string"),
		"deep-chain-b.json": chain(25, true, "integer"),
	})
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"minitems.json", "minitems5.json"}, 0, "accepted now: ["},
		{[]string{"array.json", "minitems.json"}, 1, "rejected now: []"},
		{[]string{"minlength.json", "minlength1.json"}, 1, "more than 10000 items, properties or characters"},
		{[]string{"string.json", "maxlength.json"}, 1, "at most more than 1099511627776 characters"},
		{[]string{"enum-a.json", "enum-b.json"}, 1, `rejected now: "v0"`},
		{[]string{"deep-a.json", "deep-b.json"}, 1, "nested more than 512 levels deep (cascade reads schemas of up to 512 levels and 20000 objects): not compiled"},
		{[]string{"--timeout", "1ns", "tree-a.json", "tree-b.json"}, 1, "the comparison stopped before it was complete (it reached its time limit of 1ns)"},
		// Exponential work for the validator from 2.5 KB: the comparison
		// stays within its time limit and memory (it took 5 GB and 300 s,
		// and overran --timeout 2s sevenfold), and an example that would
		// cost too much to validate is not validated.
		{[]string{"--timeout", "2s", "chain-a.json", "chain-b.json"}, 1, "the comparison stopped before it was complete (it reached its time limit of 2s)"},
		{[]string{"deep-chain-a.json", "deep-chain-b.json"}, 1, "validating an example could cost more than 500000 subschema evaluations"},
		// A number of a million digits (exact for the validator): printed
		// in a 2 MB witness, and comparisons with it overran --timeout.
		{[]string{"huge-a.json", "huge-b.json"}, 1, "a number at /minimum has more than 400 digits or an exponent beyond ±400: not compiled"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c := startCascade(t, dir, append([]string{"schema-diff"}, tc.args...)...)
			code, rss := c.wait(t)
			out := c.stdout.String()
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d; stdout does not say %q:\n%.2000s\nstderr:\n%.2000s", code, tc.code, tc.want, out, c.stderr.String())
			}
			if rss > capMB {
				t.Errorf("peak memory %d MB, over %d MB", rss, capMB)
			}
			if len(out) > 64<<10 {
				t.Errorf("%d bytes of output", len(out))
			}
			if strings.Contains(c.stderr.String(), "goroutine") {
				t.Errorf("stack trace:\n%.2000s", c.stderr.String())
			}
			t.Logf("peak memory %d MB", rss)
		})
	}
}

// TestReplayGzipBombBounded: a small gzip log that decompresses to 150
// lines of 1 MB each is replayed in bounded memory (it took 2 GB and
// more: lines were batched by count only, and remembered whole).
func TestReplayGzipBombBounded(t *testing.T) {
	t.Parallel()
	slot(t)
	const capMB = 256
	dir := t.TempDir()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	pad := strings.Repeat("a", 1000*1000-40)
	for i := range 150 {
		fmt.Fprintf(zw, `{"n":%d,"pad":"%s"}`+"\n", i, pad)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"bomb.jsonl.gz": buf.String(),
		"old.json":      `{"type":"object"}`,
		"new.json":      `{"type":"object","required":["n"]}`,
	})
	c := startCascade(t, dir, "replay", "--jobs", "2", "--old", "old.json", "--new", "new.json", "bomb.jsonl.gz")
	code, rss := c.wait(t)
	if code != 0 || !strings.Contains(c.stdout.String(), "150 requests: 150 accepted by both") {
		t.Errorf("exit %d:\n%s\n%.2000s", code, c.stdout.String(), c.stderr.String())
	}
	if rss > capMB {
		t.Errorf("peak memory %d MB for a %d KB gzip log, over %d MB", rss, buf.Len()>>10, capMB)
	}
	t.Logf("peak memory %d MB for a %d KB gzip log", rss, buf.Len()>>10)
}

// TestSchemaDiffInterrupt: SIGINT stops schema-diff, with exit code 130,
// while it compiles two big schemas (seconds of work that cannot itself be
// interrupted) and while it compares two schemas that cost the validator
// exponential work (it went on for 100-250 s). The bound is a liveness
// bound, far above the expected fraction of a second.
func TestSchemaDiffInterrupt(t *testing.T) {
	t.Parallel()
	slot(t)
	dir := t.TempDir()
	big := func(max int) string {
		var b strings.Builder
		b.WriteString(`{"type":"object","properties":{`)
		for i := range 19000 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"p%d":{"type":"string","maxLength":%d}`, i, max)
		}
		b.WriteString("}}")
		return b.String()
	}
	writeFiles(t, dir, map[string]string{"a.json": big(10), "b.json": big(9),
		"chain-a.json": chain(25, false, "string"), "chain-b.json": chain(25, false, "integer")})
	for _, tc := range []struct {
		name      string
		files     []string
		cpuCentis int // CPU time cascade has used when SIGINT is sent, in clock ticks of 10 ms
	}{
		{"compiling", []string{"a.json", "b.json"}, 20},
		{"validating", []string{"chain-a.json", "chain-b.json"}, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCascade(t, dir, append([]string{"schema-diff", "--timeout", "10m"}, tc.files...)...)
			// Send SIGINT once cascade (not the shell before its exec) has
			// used the CPU time given: its handler is installed first thing
			// in main.
			pid := c.cmd.Process.Pid
			for i := 0; ; i++ {
				data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				f := strings.Fields(string(data))
				if len(f) > 15 && f[1] == "(cascade)" {
					utime, _ := strconv.Atoi(f[13])
					stime, _ := strconv.Atoi(f[14])
					if utime+stime >= tc.cpuCentis {
						break
					}
				}
				if i > 6000 {
					c.cmd.Process.Kill()
					t.Fatalf("cascade did not start or ended early:\n%s\n%s", c.stdout.String(), c.stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			sent := time.Now()
			if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var code int
			go func() { code, _ = c.wait(t); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				c.cmd.Process.Kill()
				<-done
				t.Fatalf("still running 10 s after SIGINT")
			}
			if code != 130 || !strings.Contains(c.stderr.String(), "cascade: interrupted") {
				t.Errorf("exit %d, stderr %q; want 130 and interrupted", code, c.stderr.String())
			}
			t.Logf("ended %s after SIGINT", time.Since(sent))
		})
	}
}

// gitIn runs git in dir with a fixed identity and no user configuration.
func gitIn(t *testing.T, dir string, stdin io.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitBig commits on a new branch of repo a file of size bytes (head,
// then a comment line of 'a's), streamed into git's object store: no
// such file is ever written or held here.
func commitBig(t *testing.T, repo, branch, name, head string, size int) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<20)
		w.WriteString(head + "// ")
		line := bytes.Repeat([]byte("a"), 1<<20)
		for n := len(head) + 3; n < size; n += len(line) {
			w.Write(line[:min(len(line), size-n)])
		}
		w.Flush()
		pw.Close()
	}()
	id := gitIn(t, repo, pr, "hash-object", "-w", "--stdin")
	gitIn(t, repo, nil, "checkout", "-q", "-b", branch)
	gitIn(t, repo, nil, "update-index", "--add", "--cacheinfo", "100644,"+id+","+name)
	gitIn(t, repo, nil, "commit", "-q", "-m", "big "+name)
	gitIn(t, repo, nil, "checkout", "-q", "-f", "main")
}

// TestManifestOverCapRefused: a manifest over the 4 MiB limit on a ref
// cascade is asked to read (a candidate, a --with ref, a semver head, a
// repo's default branch) is refused with exit 2, naming the repo, the ref,
// the file and the limit, before any of it is read. verify read a 1 GiB
// go.mod on a candidate branch whole (and handed it to the go command).
func TestManifestOverCapRefused(t *testing.T) {
	t.Parallel()
	slot(t)
	const capMB = 100
	const size = 128 << 20
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	for name, files := range map[string]map[string]string{
		"lib": {"go.mod": "module example.com/lib\n\ngo 1.22\n", "lib.go": "package lib\n\nfunc V() int { return 1 }\n"},
		"app": {"go.mod": "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n",
			"app.go": "package app\n\nimport \"example.com/lib\"\n\nvar X = lib.V()\n"},
	} {
		repo := filepath.Join(ws, name)
		if err := os.MkdirAll(repo, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, repo, files)
		gitIn(t, repo, nil, "init", "-q", "-b", "main")
		gitIn(t, repo, nil, "add", "-A")
		gitIn(t, repo, nil, "commit", "-q", "-m", "init")
		gitIn(t, repo, nil, "tag", "v1.0.0")
		commitBig(t, repo, "big", "go.mod", files["go.mod"], size)
	}
	writeFiles(t, ws, map[string]string{"cascade.yaml": "discover: [\"./*\"]\n"})
	// A workspace whose repo has an npm package over the limit on its
	// default branch, in a subdirectory.
	ws2 := filepath.Join(dir, "ws2")
	web := filepath.Join(ws2, "web")
	if err := os.MkdirAll(web, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ws2, map[string]string{"cascade.yaml": "repos:\n  - path: ./web\n"})
	writeFiles(t, web, map[string]string{"README": "web\n"})
	gitIn(t, web, nil, "init", "-q", "-b", "main")
	gitIn(t, web, nil, "add", "-A")
	gitIn(t, web, nil, "commit", "-q", "-m", "init")
	commitBig(t, web, "big", "ui/package.json", `{"name": "@ex/web", "x": "`, size)
	gitIn(t, web, nil, "checkout", "-q", "-f", "big")

	// A workspace whose downstream requires a release (a tag) with a
	// go.mod over the limit: the baseline cannot be built, and the module
	// proxy does not serve that version (it said "fixed", or "broken",
	// which hides a regression).
	ws3 := filepath.Join(dir, "ws3")
	for name, files := range map[string]map[string]string{
		"lib": {"go.mod": "module example.com/lib\n\ngo 1.22\n", "lib.go": "package lib\n\nfunc V() int { return 1 }\n"},
		"app": {"go.mod": "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n",
			"app.go": "package app\n\nimport \"example.com/lib\"\n\nvar X = lib.V()\n"},
	} {
		repo := filepath.Join(ws3, name)
		if err := os.MkdirAll(repo, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, repo, files)
		gitIn(t, repo, nil, "init", "-q", "-b", "main")
		gitIn(t, repo, nil, "add", "-A")
		gitIn(t, repo, nil, "commit", "-q", "-m", "init")
		if name == "lib" {
			commitBig(t, repo, "release", "go.mod", files["go.mod"], size)
			gitIn(t, repo, nil, "tag", "v1.0.0", "release")
		}
	}
	writeFiles(t, ws3, map[string]string{"cascade.yaml": "discover: [\"./*\"]\n"})

	for _, tc := range []struct {
		dir  string
		args []string
		want string
	}{
		{ws, []string{"verify", "lib@big"}, "lib@big: go.mod at [0-9a-f]{12} is 134217728 bytes; cascade reads a manifest of at most 4194304 bytes \\(4 MiB\\)"},
		{ws, []string{"verify", "lib", "--with", "app@big"}, "app@big: go.mod at [0-9a-f]{12} is 134217728 bytes; cascade reads a manifest of at most 4194304 bytes"},
		{ws, []string{"semver", "lib", "--head", "big"}, "lib@big: go.mod at [0-9a-f]{12} is 134217728 bytes"},
		{ws, []string{"schema-diff", "lib@big:go.mod", "lib@main:go.mod"}, "lib@big:go.mod: go.mod at [0-9a-f]{12} is 134217728 bytes; cascade reads a manifest of at most 4194304 bytes"},
		{ws2, []string{"graph"}, `repo web \(branch big\): ui/package.json at [0-9a-f]{12} is 134217728 bytes; cascade reads a manifest of at most 4194304 bytes`},
		{ws2, []string{"verify", "web"}, `repo web \(branch big\): ui/package.json at [0-9a-f]{12} is 134217728 bytes`},
		{ws3, []string{"verify", "lib", "--all-packages"}, `app \(alone\): the workspace module proxy refused to serve example.com/lib@v1.0.0 \(repository .*/ws3/lib\): go.mod at [0-9a-f]{12} is 134217728 bytes; cascade reads a manifest of at most 4194304 bytes`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c := startCascade(t, tc.dir, tc.args...)
			code, rss := c.wait(t)
			if code != 2 || !regexp.MustCompile(tc.want).MatchString(c.stderr.String()) {
				t.Errorf("exit %d, want 2; stderr does not match %q:\n%.2000s\nstdout:\n%.2000s", code, tc.want, c.stderr.String(), c.stdout.String())
			}
			if rss > capMB {
				t.Errorf("peak memory %d MB for a manifest of %d MB, over %d MB", rss, size>>20, capMB)
			}
			t.Logf("peak memory %d MB", rss)
		})
	}
}
