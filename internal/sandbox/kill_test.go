package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary a cascade that runs one sandboxed
// command (its value, a shell script) and waits.
const helperEnv = "CASCADE_SANDBOX_TEST_HELPER"

// cloneEnv makes the test binary try to make namespaces (see
// TestNoNamespacesOfItsOwn).
const cloneEnv = "CASCADE_SANDBOX_TEST_CLONE"

// ttyEnv makes the test binary report its session and try the terminal
// (see TestNoTerminal).
const ttyEnv = "CASCADE_SANDBOX_TEST_TTY"

func TestMain(m *testing.M) {
	if os.Getenv(ttyEnv) != "" {
		sid, _ := unix.Getsid(0)
		fmt.Println("session leader:", sid == os.Getpid())
		_, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		fmt.Println("open /dev/tty:", err)
		c := byte('x')
		for _, req := range []uint64{unix.TIOCSTI, 1<<32 | unix.TIOCSTI, unix.TIOCLINUX} {
			_, _, errno := unix.Syscall(unix.SYS_IOCTL, 0, uintptr(req), uintptr(unsafe.Pointer(&c)))
			fmt.Printf("ioctl %#x: %v\n", req, errno)
		}
		os.Exit(0)
	}
	if os.Getenv(cloneEnv) != "" {
		// Inside a sandbox: try to make a user and network namespace.
		c := exec.Command("true")
		c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET}
		fmt.Println("new namespaces:", c.Run())
		fmt.Println("plain child:", exec.Command("true").Run())
		os.Exit(0)
	}
	if script := os.Getenv(helperEnv); script != "" {
		dir := os.Getenv(helperEnv + "_DIR")
		c := Cmd{Shell: script, Dir: dir}
		if disk := os.Getenv(helperEnv + "_DISK"); disk != "" {
			// A disk cap, and a timeout the cap must end the command
			// long before.
			fmt.Sscan(disk, &c.Disk)
			c.Timeout = time.Minute
		}
		if ov := os.Getenv(helperEnv + "_OVERLAY"); ov != "" {
			c.Overlay = []string{ov}
		}
		res, err := Run(context.Background(), c)
		fmt.Println(res.ExitCode, res.StartErr, err)
		fmt.Printf("disk exceeded: %v; timed out: %v; note: %s\n", res.DiskExceeded, res.TimedOut, res.Note)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDiesWithCascade kills cascade (SIGKILL, no chance to clean up) while
// its command runs: the command and everything it started die too, and
// the next run removes what the killed one left in the temp dir.
func TestDiesWithCascade(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	started := filepath.Join(dir, "started")
	script := fmt.Sprintf("touch %s; setsid sh -c 'sleep 2; echo alive > %s' & sleep 2; echo alive >> %s", started, marker, marker)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+script, helperEnv+"_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the command never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	time.Sleep(3 * time.Second)
	if data, err := os.ReadFile(marker); err == nil {
		t.Fatalf("a process of the command outlived cascade's SIGKILL: %q", data)
	}
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("cascade-run-%d-*", cmd.Process.Pid)))
	if len(left) == 0 {
		t.Skip("the killed run left no temp dir to clean")
	}
	sweepLeftovers()
	for _, d := range left {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s, left by the killed run, was not removed", d)
		}
	}
	for _, parent := range cgroupParents() {
		if left, _ := filepath.Glob(filepath.Join(parent, fmt.Sprintf("cascade-%d-*", cmd.Process.Pid))); len(left) > 0 {
			t.Errorf("control groups of the killed run remain: %s", strings.Join(left, ", "))
		}
	}
}

// TestSlotsOfKilledRunsAreEmptied: the trees a killed run left in its work
// slot are removed when the next run takes its first slot, whichever slot
// the killed run held; a slot another run holds is left alone.
func TestSlotsOfKilledRunsAreEmptied(t *testing.T) {
	cache := t.TempDir()
	root := filepath.Join(cache, "work", "verify")
	for _, n := range []string{"slot-3", "slot-4"} {
		if err := os.MkdirAll(filepath.Join(root, n, "tree"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, n+".lock"), nil, 0o644)
	}
	held, err := os.OpenFile(filepath.Join(root, "slot-4.lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	sl, err := AcquireSlot(cache, "verify")
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Release()
	if _, err := os.Stat(filepath.Join(root, "slot-3", "tree")); err == nil {
		t.Error("the tree a killed run left in slot-3 is still there")
	}
	if _, err := os.Stat(filepath.Join(root, "slot-4", "tree")); err != nil {
		t.Error("the tree of a slot another run holds was removed")
	}
}

// TestCommandCannotSignalItsInit: the command may send its init (pid 1
// of its namespace) any signal; init goes on, the command's exit status
// is what is judged, and the count at its end still happens. The
// command's own children get the default dispositions back (SIGTERM ends
// a sleep).
func TestCommandCannotSignalItsInit(t *testing.T) {
	dir := t.TempDir()
	// The signals' commands mostly sleep: they run side by side, each in
	// a work tree of its own, and all have ended before the run below.
	t.Run("signals", func(t *testing.T) {
		for _, sig := range []string{"TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "PIPE", "ALRM", "SEGV", "ABRT", "XCPU"} {
			t.Run(sig, func(t *testing.T) {
				t.Parallel()
				res := run(t, Cmd{Shell: "kill -" + sig + " 1; sleep 1; echo STILL-HERE; exit 1", Dir: t.TempDir()})
				if res.ExitCode != 1 || !strings.Contains(res.Output, "STILL-HERE") || res.DiskExceeded || res.Note != "" {
					t.Errorf("kill -%s 1: want a plain exit 1, got %+v", sig, res)
				}
			})
		}
	})
	res := run(t, Cmd{Shell: "sleep 600 & kill -TERM $!; wait $!; echo status $?", Dir: dir})
	if !res.OK() || !strings.Contains(res.Output, "status 143") {
		t.Errorf("SIGTERM to the command's child: %+v", res)
	}
	res = run(t, Cmd{Shell: fill(".", 48, "kill -TERM 1; exit 1"), Dir: dir, Disk: 32 << 20})
	wantDiskExceeded(t, res, "writing past the cap, then SIGTERM to init")
}
