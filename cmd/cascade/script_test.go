package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cascade-dev/cascade/internal/cli"
	"github.com/cascade-dev/cascade/internal/schemadiff"
	"github.com/cascade-dev/cascade/internal/verify"
)

// programs are the commands the scripts run: this test binary, by name.
var programs = map[string]func(){
	"cascade": testMain,
	// verifysummary FILE prints a `cascade verify --json` report one
	// result a line, for scripts to match.
	"verifysummary": verifySummary,
}

func TestMain(m *testing.M) {
	if programs[filepath.Base(os.Args[0])] == nil {
		// The test binary itself (not one of the commands): its parallel
		// tests run longest first (sched_test.go).
		flag.Parse()
		parallelTests()
	}
	testscript.Main(m, programs)
}

// testMain is the cascade command of the scripts: the real program with a
// clock a script may set with CASCADE_TEST_NOW (RFC 3339). This seam lives
// in the test binary only; the shipped cascade has no way to move its clock.
func testMain() {
	pinZones()
	var opts cli.Options
	if v := os.Getenv("CASCADE_TEST_NOW"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			fmt.Fprintln(os.Stderr, "CASCADE_TEST_NOW:", err)
			os.Exit(2)
		}
		opts.Now = func() time.Time { return t }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	schemadiff.StopMatchingWhenDone(ctx)
	code := cli.MainWith(ctx, opts, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// TestScript runs the end-to-end scripts under testdata/script: each builds
// real git repositories in a temp dir and runs the real cascade binary.
func TestScript(t *testing.T) {
	// In parallel with the package's other tests, each script in a slot of
	// its own (taken in Setup, longest first; see sched_test.go).
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		// [registry:npm] holds when tests may install packages from the
		// npm registry (.ci/run says so with CASCADE_TEST_NPM_REGISTRY=1).
		Condition: func(cond string) (bool, error) {
			if cond == "registry:npm" {
				return os.Getenv("CASCADE_TEST_NPM_REGISTRY") != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// tcplisten: listen on 127.0.0.1 (port in $LISTEN_PORT) and count
			// connections; tcpaccepted N checks the count.
			"tcplisten": func(ts *testscript.TestScript, neg bool, args []string) {
				l, err := net.Listen("tcp4", "127.0.0.1:0")
				ts.Check(err)
				ts.Defer(func() { l.Close() })
				n := &atomic.Int64{}
				listeners.Store(ts, n)
				go func() {
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						n.Add(1)
						c.Close()
					}
				}()
				ts.Setenv("LISTEN_PORT", strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
			},
			"tcpaccepted": func(ts *testscript.TestScript, neg bool, args []string) {
				v, ok := listeners.Load(ts)
				if !ok || len(args) != 1 {
					ts.Fatalf("usage: tcplisten first, then tcpaccepted N")
				}
				if got := v.(*atomic.Int64).Load(); strconv.FormatInt(got, 10) != args[0] {
					ts.Fatalf("the listener accepted %d connections, want %s", got, args[0])
				}
			},
			// tzif FILE HOURS: write a time-zone file (TZif) of one zone,
			// HOURS east of UTC, named PST, such as a made-up zoneinfo
			// database would hold.
			"tzif": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: tzif FILE HOURS")
				}
				hours, err := strconv.Atoi(args[1])
				ts.Check(err)
				// Header, version 1; counts: isutcnt, isstdcnt, leapcnt,
				// timecnt, typecnt 1, charcnt 4; one ttinfo; "PST\0".
				b := append([]byte("TZif"), make([]byte, 16)...)
				for _, n := range []uint32{0, 0, 0, 0, 1, 4} {
					b = binary.BigEndian.AppendUint32(b, n)
				}
				b = binary.BigEndian.AppendUint32(b, uint32(int32(hours*3600)))
				b = append(b, 0, 0)
				b = append(b, "PST\x00"...)
				ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[0])), 0o755))
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
			},
			// jsondoc [error KIND]: the last command's stdout is exactly one
			// JSON object whose first field is "schema_version": 1; with
			// "error KIND", it is an error document of that kind.
			"jsondoc": func(ts *testscript.TestScript, neg bool, args []string) {
				if err := checkJSONDoc(ts.ReadFile("stdout"), args); (err == nil) == neg {
					if neg {
						ts.Fatalf("stdout is the JSON document asked for")
					}
					ts.Fatalf("%v\nstdout:\n%s", err, ts.ReadFile("stdout"))
				}
			},
			// hints DIR: run the commands the last output suggests (hints_test.go).
			"hints": runHints,
			// expand FILE...: replace $VAR references in files with their values.
			"expand": func(ts *testscript.TestScript, neg bool, args []string) {
				for _, f := range args {
					data := ts.ReadFile(f)
					ts.Check(os.WriteFile(ts.MkAbs(f), []byte(os.Expand(data, ts.Getenv)), 0o644))
				}
			},
		},
		Setup: func(env *testscript.Env) error {
			slotFor("TestScript/"+strings.TrimPrefix(filepath.Base(env.WorkDir), "script-"), env.Defer)
			// Go's module cache is read-only; let the work dir be removed.
			env.Defer(func() { exec.Command("chmod", "-R", "u+w", env.WorkDir).Run() })
			gitconfig := filepath.Join(env.WorkDir, ".gitconfig")
			err := os.WriteFile(gitconfig, []byte("[user]\n\tname = Test Engineer\n\temail = test@cascade.example\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"), 0o644)
			if err != nil {
				return err
			}
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("GIT_CONFIG_GLOBAL", gitconfig)
			env.Setenv("GIT_AUTHOR_DATE", "2026-03-02T09:00:00Z")
			env.Setenv("GIT_COMMITTER_DATE", "2026-03-02T09:00:00Z")
			env.Setenv("CASCADE_CACHE_DIR", filepath.Join(env.WorkDir, ".cache", "cascade"))
			// Builds run offline and share the test run's build cache.
			env.Setenv("GOCACHE", goCache(t))
			env.Setenv("GOPROXY", "off")
			env.Setenv("GOTOOLCHAIN", "local")
			env.Setenv("GOFLAGS", "")
			return nil
		},
	})
}

// listeners are the connection counters of tcplisten, by script.
var listeners sync.Map

var goCacheDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	return strings.TrimSpace(string(out)), err
})

func goCache(t *testing.T) string {
	dir, err := goCacheDir()
	if err != nil || dir == "" {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	return dir
}

func verifySummary() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var r verify.Report
	if err := json.Unmarshal(data, &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, res := range r.Results {
		fmt.Printf("%s %s %s cause=%s baseline=%s candidate=%s\n", res.Repo, res.State, res.Verdict, res.Cause, res.Baseline, res.Candidate)
	}
	fmt.Print("summary")
	for _, v := range []string{"passed", "regressed", "flaky", "skipped", "fixed", "broken", "error"} {
		fmt.Printf(" %s=%d", v, r.Summary[v])
	}
	fmt.Printf("\nconclusion %s\norder %s\n", r.Conclusion, strings.Join(r.Order, " "))
	os.Exit(0)
}

// checkJSONDoc checks that out is one JSON object, its first field
// "schema_version": 1; with args "error KIND" it is an error document
// ({"schema_version":1,"error":{"kind":KIND,"message":...}}).
func checkJSONDoc(out string, args []string) error {
	dec := json.NewDecoder(strings.NewReader(out))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("stdout does not start with a JSON object (%v, %v)", tok, err)
	}
	if tok, err := dec.Token(); err != nil || tok != "schema_version" {
		return fmt.Errorf("the first field is %v, not schema_version (%v)", tok, err)
	}
	var version int
	if err := dec.Decode(&version); err != nil || version != 1 {
		return fmt.Errorf("schema_version is not 1 (%d, %v)", version, err)
	}
	var doc struct {
		Error *struct {
			Kind    string `json:"kind"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec = json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("stdout is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err == nil {
		return fmt.Errorf("stdout holds more than one JSON document")
	}
	switch {
	case len(args) == 0 && doc.Error != nil:
		return fmt.Errorf("stdout is an error document: %s: %s", doc.Error.Kind, doc.Error.Message)
	case len(args) == 2 && args[0] == "error":
		if doc.Error == nil || doc.Error.Kind != args[1] || doc.Error.Message == "" {
			return fmt.Errorf("stdout is not an error document of kind %s with a message", args[1])
		}
	case len(args) != 0:
		return fmt.Errorf("usage: jsondoc [error KIND]")
	}
	return nil
}
