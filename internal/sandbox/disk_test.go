//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fill writes n MiB in files of 4 MiB (each under the file-size cap) into
// dir, then runs rest.
func fill(dir string, n int, rest string) string {
	return "i=0; while [ $i -lt " + strconv.Itoa(n/4) + " ]; do head -c 4194304 /dev/zero > " + dir + "/f$i || exit 9; i=$((i+1)); done; " + rest
}

func wantDiskExceeded(t *testing.T, res Result, what string) {
	t.Helper()
	if !res.DiskExceeded || res.ExitCode != -1 || res.OK() || res.TimedOut {
		t.Errorf("%s: want the command killed for its disk cap, got %+v", what, res)
	}
	if !strings.Contains(res.Note, "disk") {
		t.Errorf("%s: Note = %q, want the disk named", what, res.Note)
	}
}

// TestDiskCapKillsTheCommand: a command that keeps writing files (each
// under the file-size cap) into its work tree is killed once the tree has
// grown past the disk cap, long before its timeout; the Result says why.
func TestDiskCapKillsTheCommand(t *testing.T) {
	dir := t.TempDir()
	res := run(t, Cmd{Shell: fill(".", 96, "echo WROTE-ALL; sleep 600"), Dir: dir, Disk: 32 << 20, Timeout: 5 * time.Minute})
	wantDiskExceeded(t, res, "writing then sleeping")
	if !strings.Contains(res.Note, "more than its disk cap of 32 MiB") {
		t.Errorf("Note = %q", res.Note)
	}
}

// TestDiskCapAtTheEnd: a command that writes past the cap and exits at
// once (before any count falls while it runs) is judged the same way: its
// exit status 0 is disregarded.
func TestDiskCapAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	res := run(t, Cmd{Shell: fill(".", 48, "exit 0"), Dir: dir, Disk: 32 << 20})
	wantDiskExceeded(t, res, "writing then exiting 0")
}

// TestDiskCapCountsGrowth: what the work tree held before the command
// does not count, a file with two names counts once, and a command under
// its cap runs as usual; shared caches do not count.
func TestDiskCapCountsGrowth(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 40<<20)
	for i := range big {
		big[i] = 1
	}
	if err := os.WriteFile(filepath.Join(dir, "before"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, Cmd{Shell: fill(".", 16, "ln f0 again; ln f1 again2; echo DONE"), Dir: dir, Disk: 32 << 20})
	if !res.OK() || res.DiskExceeded || !strings.Contains(res.Output, "DONE") {
		t.Errorf("a command under its cap: %+v", res)
	}
	// A shared cache a fetch phase fills does not count; the same
	// directory not marked shared does.
	cache := t.TempDir()
	res = run(t, Cmd{Shell: fill(cache, 48, "echo DONE"), Dir: dir, Writable: []string{dir, cache}, Shared: []string{cache}, Disk: 32 << 20})
	if !res.OK() || res.DiskExceeded {
		t.Errorf("writing a shared cache: %+v", res)
	}
	res = run(t, Cmd{Shell: fill(cache, 48, "echo DONE"), Dir: dir, Writable: []string{dir, cache}, Disk: 32 << 20})
	wantDiskExceeded(t, res, "writing a writable directory not shared")
}

// TestDiskCapTmpAndOverlay: /tmp (and HOME) is no larger than the cap, and
// a command that fills it is out of disk even if it swallows the error;
// writes through an overlay (thrown away after) count too.
func TestDiskCapTmpAndOverlay(t *testing.T) {
	res := run(t, Cmd{Shell: "head -c 50000000 /dev/zero > /tmp/x; df -k /tmp | tail -1; exit 0", Disk: 32 << 20})
	wantDiskExceeded(t, res, "filling /tmp")
	res = run(t, Cmd{Shell: "cd $HOME && head -c 50000000 /dev/zero > x; exit 0", Disk: 32 << 20})
	wantDiskExceeded(t, res, "filling HOME")
	ov := t.TempDir()
	res = run(t, Cmd{Shell: fill(ov, 48, "exit 0"), Overlay: []string{ov}, Disk: 32 << 20})
	wantDiskExceeded(t, res, "writing through an overlay")
	if entries, _ := os.ReadDir(ov); len(entries) != 0 {
		t.Errorf("overlay writes reached the host: %v", entries)
	}
}

// TestDiskCapDefault: SetDiskLimit is the cap of commands that set none.
func TestDiskCapDefault(t *testing.T) {
	SetDiskLimit(32 << 20)
	defer SetDiskLimit(0)
	if got := diskCap(Cmd{}); got != 32<<20 {
		t.Errorf("diskCap = %d", got)
	}
	if got := diskCap(Cmd{Disk: 1 << 30}); got != 1<<30 {
		t.Errorf("diskCap with Disk = %d", got)
	}
	res := run(t, Cmd{Shell: fill(".", 48, "exit 0"), Dir: t.TempDir()})
	wantDiskExceeded(t, res, "under SetDiskLimit")
	SetDiskLimit(0)
	if got := diskCap(Cmd{}); got != DefaultDisk {
		t.Errorf("diskCap after SetDiskLimit(0) = %d", got)
	}
}
