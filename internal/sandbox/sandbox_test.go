package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestEnvironmentIsScrubbed(t *testing.T) {
	t.Setenv("CASCADE_SECRET_TOKEN", "s3cret")
	t.Setenv("GITHUB_TOKEN", "ghp_x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws")
	res, err := Run(context.Background(), Cmd{Shell: "env; echo TMP=$TMPDIR; pwd", Env: []string{"GOFLAGS=-mod=mod"}})
	if err != nil || !res.OK() {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	for _, secret := range []string{"s3cret", "ghp_x", "aws"} {
		if strings.Contains(res.Output, secret) {
			t.Errorf("the command saw %q:\n%s", secret, res.Output)
		}
	}
	if !strings.Contains(res.Output, "GOFLAGS=-mod=mod") || !strings.Contains(res.Output, "PATH=") {
		t.Errorf("allowed variables missing:\n%s", res.Output)
	}
	var home string
	for _, line := range strings.Split(res.Output, "\n") {
		if h, ok := strings.CutPrefix(line, "HOME="); ok {
			home = h
		}
	}
	if home == "" || home == os.Getenv("HOME") {
		t.Fatalf("HOME = %q, want a temp dir", home)
	}
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Errorf("the temp HOME %s was not removed", home)
	}
}

func TestTimeoutKillsEveryProcess(t *testing.T) {
	for _, unisolated := range []bool{false, true} {
		t.Run(map[bool]string{false: "isolated", true: "unisolated"}[unisolated], func(t *testing.T) {
			if unisolated {
				runUnisolated(t)
			}
			dir := t.TempDir()
			marker := filepath.Join(dir, "marker")
			// A grandchild that would outlive a plain kill writes the marker later.
			res, err := Run(context.Background(), Cmd{
				Shell:    "(sleep 1; echo alive > " + marker + ") & sleep 60",
				Timeout:  300 * time.Millisecond,
				Writable: []string{dir},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !res.TimedOut || res.OK() || res.ExitCode != -1 {
				t.Fatalf("Result = %+v, want a timeout", res)
			}
			time.Sleep(1500 * time.Millisecond)
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("a process of the command outlived its timeout")
			}
		})
	}
}

// runUnisolated runs the rest of a test without isolation.
func runUnisolated(t *testing.T) {
	disabled.Store(true)
	t.Cleanup(func() { disabled.Store(false) })
}

func TestCancelKillsAndReportsIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	_, err := Run(ctx, Cmd{Shell: "sleep 30"})
	if err == nil {
		t.Fatal("Run after cancel returned no error")
	}
}

func TestOutputKeepsTheTail(t *testing.T) {
	res, err := Run(context.Background(), Cmd{Shell: "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; echo last", OutputLimit: 1000})
	if err != nil || !res.OK() {
		t.Fatal(res, err)
	}
	if !strings.HasSuffix(res.Output, "line 19999\nlast\n") || !strings.HasPrefix(res.Output, "[... ") {
		t.Errorf("output does not keep the tail: %q", res.Output[:80])
	}
	if res.Truncated == 0 || len(res.Output) > 1100 {
		t.Errorf("Truncated = %d, len = %d", res.Truncated, len(res.Output))
	}
}

func TestExitCodesAndStartErrors(t *testing.T) {
	res, _ := Run(context.Background(), Cmd{Shell: "echo failing >&2; exit 3"})
	if res.ExitCode != 3 || res.OK() || res.Output != "failing\n" {
		t.Errorf("Result = %+v", res)
	}
	res, _ = Run(context.Background(), Cmd{Args: []string{"/nonexistent/tool"}})
	if res.StartErr == nil || res.OK() {
		t.Errorf("Result = %+v, want a start error", res)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
}

func TestSplitStderr(t *testing.T) {
	res, err := Run(context.Background(), Cmd{Shell: "echo data; echo noise >&2; echo more", SplitStderr: true})
	if err != nil || res.Output != "data\nmore\n" || res.Stderr != "noise\n" {
		t.Errorf("Result = %+v, %v", res, err)
	}
}

func TestRefusedWithoutIsolation(t *testing.T) {
	isolate = func(context.Context, Cmd, []string, string, io.Writer, io.Writer) (ended, error) {
		return ended{exit: -1}, fmt.Errorf("%w: no namespaces here", errNoIsolation)
	}
	defer func() { isolate = runIsolated }()
	dir := t.TempDir()
	res, err := Run(context.Background(), Cmd{Shell: "touch ran", Dir: dir})
	if err != nil || res.StartErr == nil || !strings.Contains(res.StartErr.Error(), "--unsafe-sandbox") {
		t.Fatalf("Run = %+v, %v; want a refusal naming --unsafe-sandbox", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the command ran")
	}
	AllowUnsafe(true)
	defer AllowUnsafe(false)
	res, err = Run(context.Background(), Cmd{Shell: "touch ran", Dir: dir})
	if err != nil || !res.OK() || res.Note != "unisolated (--unsafe-sandbox)" {
		t.Fatalf("Run with --unsafe-sandbox = %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err != nil {
		t.Fatal("the command did not run")
	}
}

// TestUnsafeNoInheritedDescriptors: with --unsafe-sandbox too, a
// descriptor cascade inherited without close-on-exec (a shell's
// `77<secret`) does not reach the command.
func TestUnsafeNoInheritedDescriptors(t *testing.T) {
	AllowUnsafe(true)
	defer AllowUnsafe(false)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("TOKEN-42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const fd = 77
	// Dup3 without O_CLOEXEC: what a process gets from its shell.
	if err := syscall.Dup3(int(f.Fd()), fd, 0); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	res, err := Run(context.Background(), Cmd{Args: []string{"bash", "-c", "cat <&77; ls /proc/self/fd | tr '\\n' ' '"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Note, "unisolated") {
		t.Fatalf("not the unisolated path: %+v", res)
	}
	if strings.Contains(res.Output, "TOKEN-42") {
		t.Errorf("the command read an inherited descriptor:\n%s", res.Output)
	}
	if fds := strings.Fields(res.Output[strings.LastIndex(res.Output, "\n")+1:]); len(fds) > 4 {
		t.Errorf("the command has descriptors beyond stdin, stdout, stderr (and ls's own): %v", fds)
	}
}
