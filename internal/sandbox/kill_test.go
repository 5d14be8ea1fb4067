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
)

// helperEnv makes the test binary a cascade that runs one sandboxed
// command (its value, a shell script) and waits.
const helperEnv = "CASCADE_SANDBOX_TEST_HELPER"

func TestMain(m *testing.M) {
	if script := os.Getenv(helperEnv); script != "" {
		dir := os.Getenv(helperEnv + "_DIR")
		res, err := Run(context.Background(), Cmd{Shell: script, Dir: dir})
		fmt.Println(res.ExitCode, res.StartErr, err)
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
