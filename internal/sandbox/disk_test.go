//go:build linux

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// TestDiskCapCountsOpenRemovedFiles: files the command removes while it
// holds them open keep their blocks; they count, and the command is
// killed for its cap instead of sleeping to its timeout. No single file
// grows past the cap (the first write stops there).
func TestDiskCapCountsOpenRemovedFiles(t *testing.T) {
	dir := t.TempDir()
	res := run(t, Cmd{Shell: "exec 3>a 4>b; rm a b; head -c 67108864 /dev/zero >&3; head -c 25165824 /dev/zero >&4; echo WROTE; sleep 600",
		Dir: dir, Disk: 32 << 20, Timeout: time.Minute})
	wantDiskExceeded(t, res, "two removed files held open (64 MiB asked, 56 MiB written)")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the work tree holds %v", entries)
	}
	// In /tmp and in an overlay the tmpfs holds them: full, it is out of
	// disk.
	ov := t.TempDir()
	for _, where := range []string{"/tmp", ov} {
		res = run(t, Cmd{Shell: "exec 3>" + where + "/a; rm " + where + "/a; head -c 67108864 /dev/zero >&3; echo WROTE; sleep 600",
			Dir: dir, Overlay: []string{ov}, Disk: 32 << 20, Timeout: time.Minute})
		wantDiskExceeded(t, res, "a removed file held open in "+where)
	}
}

// TestDiskCapWriteThenRemove: a command that writes past its cap and
// removes what it wrote before a count could see it never gets past the
// cap through its overlays (a build cache) or in its /tmp: the kernel
// refuses the writes (ENOSPC) and the command fails, and nothing reaches
// the host. (In its work tree, only counts hold it: see NotIsolated.)
func TestDiskCapWriteThenRemove(t *testing.T) {
	tree := t.TempDir()
	if err := os.WriteFile(filepath.Join(tree, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// 0.9 of the cap twice, then removed, 30 times over.
	loop := func(d string) string {
		return "i=0; while [ $i -lt 30 ]; do head -c 30198989 /dev/zero > " + d + "/a || exit 9; head -c 30198989 /dev/zero > " + d + "/b || exit 9; rm -f " + d + "/a " + d + "/b; i=$((i+1)); done; echo ALL-WRITTEN"
	}
	for _, where := range []string{tree, "/tmp"} {
		res := run(t, Cmd{Shell: loop(where), Dir: tree, Overlay: []string{tree}, Disk: 32 << 20, Timeout: time.Minute})
		if res.OK() || strings.Contains(res.Output, "ALL-WRITTEN") || !strings.Contains(res.Output, "No space left on device") {
			t.Errorf("writing 1.8 times the cap in %s then removing it: want ENOSPC and a failure, got %+v", where, res)
		}
	}
	entries, _ := os.ReadDir(tree)
	if len(entries) != 1 {
		t.Errorf("the tree on the host holds %v", entries)
	}
}

// TestDiskCapInodes: files count against a cap of their own, empty ones
// too: in the work tree the command is killed past it, in an overlay or
// /tmp the kernel refuses the file past it and the command is out of
// disk.
func TestDiskCapInodes(t *testing.T) {
	make3000 := func(d string) string {
		return "i=0; while [ $i -lt 3000 ]; do : > " + d + "/f$i || exit 9; i=$((i+1)); done; echo MADE-ALL; "
	}
	dir := t.TempDir()
	res := run(t, Cmd{Shell: make3000(".") + "sleep 600", Dir: dir, Inodes: 2000, Timeout: time.Minute})
	wantDiskExceeded(t, res, "3000 empty files in the work tree")
	if !strings.Contains(res.Note, "more than its cap of 2000") {
		t.Errorf("Note = %q", res.Note)
	}
	ov := t.TempDir()
	for _, where := range []string{ov, "/tmp"} {
		res = run(t, Cmd{Shell: make3000(where) + "exit 0", Overlay: []string{ov}, Inodes: 2000})
		wantDiskExceeded(t, res, "3000 empty files in "+where)
		if strings.Contains(res.Output, "MADE-ALL") {
			t.Errorf("3000 files made in %s under a cap of 2000", where)
		}
	}
	// Under the cap, as usual.
	res = run(t, Cmd{Shell: "i=0; while [ $i -lt 500 ]; do : > f$i; : > /tmp/f$i; i=$((i+1)); done; exit 3", Dir: t.TempDir(), Inodes: 2000})
	if res.ExitCode != 3 || res.DiskExceeded {
		t.Errorf("1000 files under a cap of 2000: %+v", res)
	}
}

// TestDiskCapUnreadableDirectory: cascade run by a user (not root), whose
// command makes a directory of its tree unlistable and fills it: its
// files count all the same (init, root of the command's namespaces,
// counts them).
func TestDiskCapUnreadableDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run cascade as another user")
	}
	const nobody = 65534
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.MkdirTemp("", "cascade-test-bin-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bin)
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(bin, "sandbox.test")
	if err := os.WriteFile(self, data, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cascade-test-tree-")
	if err != nil {
		t.Fatal(err)
	}
	defer RemoveAll(dir)
	for _, p := range []string{bin, dir} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	asNobody := func(script string, env ...string) string {
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(append(os.Environ(), helperEnv+"="+script, helperEnv+"_DIR="+dir, helperEnv+"_DISK="+strconv.Itoa(32<<20)), env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if strings.Contains(string(out), "refusing") || strings.Contains(string(out), "cannot isolate") {
			t.Skipf("cannot isolate as user %d here:\n%s", nobody, out)
		}
		t.Logf("as user %d:\n%s", nobody, out)
		return string(out)
	}
	out := asNobody("mkdir d && chmod 300 d && " + fill("d", 48, "chmod 000 d; echo WROTE; sleep 600"))
	if !strings.Contains(out, "disk exceeded: true; timed out: false") {
		t.Errorf("48 MiB in an unlistable directory under a 32 MiB cap:\n%s", out)
	}
	// The same through an overlay, as a user: the tmpfs holds it.
	out = asNobody("mkdir d2 && chmod 300 d2 && "+fill("d2", 48, "chmod 000 d2; echo WROTE; sleep 600"), helperEnv+"_OVERLAY="+dir)
	if !strings.Contains(out, "disk exceeded: true; timed out: false") || strings.Contains(out, "WROTE") {
		t.Errorf("48 MiB in an unlistable directory of an overlay under a 32 MiB cap:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "d2")); !os.IsNotExist(err) {
		t.Errorf("the overlay's writes reached the host: %v", err)
	}
}

// TestDiskHogMeetsTheMemoryLimit: what /tmp and the overlays hold is
// memory, charged to the command's memory limit: a command filling them
// past that limit is killed by it, and its result is an error even when
// its script swallows the failure and exits 0.
func TestDiskHogMeetsTheMemoryLimit(t *testing.T) {
	if cg, err := newCgroup(64<<20, 100); err != nil {
		t.Skipf("no memory limit here: %v", err)
	} else {
		cg.remove()
	}
	ov := t.TempDir()
	for _, where := range []string{"/tmp", ov} {
		hog := "i=0; while [ $i -lt 50 ]; do head -c 4194304 /dev/zero > " + where + "/f$i; i=$((i+1)); done; exit 0"
		res := run(t, Cmd{Shell: hog, Overlay: []string{ov}, Memory: 64 << 20, Disk: 256 << 20})
		if res.OK() || res.ExitCode != -1 {
			t.Errorf("200 MiB in %s under a 64 MiB memory limit: %+v", where, res)
		}
		if !res.DiskExceeded && !strings.Contains(res.Note, "memory limit") {
			t.Errorf("Note = %q, want the memory limit or the disk named", res.Note)
		}
	}
}

// TestFileSizeAtTheDiskCap: no file grows past the disk cap, even where
// the file-size limit is larger.
func TestFileSizeAtTheDiskCap(t *testing.T) {
	dir := t.TempDir()
	run(t, Cmd{Shell: "head -c 50331648 /dev/zero > big", Dir: dir, Disk: 32 << 20, FileSize: 1 << 30})
	fi, err := os.Stat(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 32<<20 {
		t.Errorf("a file of %d bytes past the disk cap of 32 MiB", fi.Size())
	}
}

// TestDiskCapDeepTree: files at a path longer than PATH_MAX (20 levels of
// 250-character names, reached by cd one level at a time) count like any
// other: writing twice the cap there is killed for the cap.
func TestDiskCapDeepTree(t *testing.T) {
	dir := t.TempDir()
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl")
	}
	// The shells cd by full names, which fail past PATH_MAX: perl
	// changes directory one level at a time, then writes 64 MiB in
	// files of 4 MiB (under the file-size cap).
	deep := `perl -e 'for (1..20) { mkdir("d" x 250) or exit 8; chdir("d" x 250) or exit 8 } ` +
		`for my $i (1..16) { open(my $f, ">", "f$i") or exit 9; print $f "\0" x 4194304 or exit 9; close($f) or exit 9 }'`
	res := run(t, Cmd{Shell: deep, Dir: dir, Disk: 32 << 20})
	wantDiskExceeded(t, res, "writing under a tree deeper than PATH_MAX")
	if !strings.Contains(res.Note, "more than its disk cap of 32 MiB") {
		t.Errorf("Note = %q, want the count past the cap", res.Note)
	}
	sandboxRemoveDeep(t, dir)
}

// sandboxRemoveDeep removes a tree deeper than PATH_MAX (os.RemoveAll
// walks relative to open directories).
func sandboxRemoveDeep(t *testing.T, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Errorf("removing %s: %v", dir, err)
	}
}

// TestFallocateKeepSize: fallocate with FALLOC_FL_KEEP_SIZE (or any mode
// but the plain one) would allocate blocks past the file-size limit (the
// kernel checks it against the file's size, which KEEP_SIZE leaves
// alone): it fails as unsupported. A plain fallocate is held by the
// file-size limit, and one under it works.
func TestFallocateKeepSize(t *testing.T) {
	if _, err := exec.LookPath("fallocate"); err != nil {
		t.Skip("no fallocate")
	}
	dir := t.TempDir()
	res := run(t, Cmd{Shell: "fallocate -l 1MiB small; echo small $?; : > keep; fallocate -n -l 100MiB keep; echo keep $?; " +
		"fallocate -p -o 0 -l 4096 small; echo punch $?; fallocate -l 100MiB grow || echo grow refused", Dir: dir, Disk: 32 << 20})
	for _, want := range []string{"small 0", "keep 1", "punch 1", "grow refused"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("no %q in %+v", want, res)
		}
	}
	if !res.OK() || res.DiskExceeded {
		t.Errorf("want the command to end as usual: %+v", res)
	}
}

// TestDiskCapCountsMappedRemovedFiles: files the command maps, closes and
// removes keep their blocks while mapped; they count (through the
// processes' mappings), and the command is killed for its cap instead of
// sleeping to its timeout. Each file, and any two of them, is under the
// cap: only the mapped ones counted make three pass it, so the count may
// kill the command before or after it says MAPPED.
func TestDiskCapCountsMappedRemovedFiles(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	dir := t.TempDir()
	// mmap through libc: Python's own mmap keeps a descriptor open.
	script := `import ctypes, mmap, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
for i in range(3):
    with open("m%d" % i, "wb") as f:
        f.write(b"\1" * (12 << 20))
    fd = os.open("m%d" % i, os.O_RDWR)
    p = libc.mmap(None, 12 << 20, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
    if p is None or p == ctypes.c_void_p(-1).value:
        raise SystemExit("mmap failed")
    os.close(fd)
    os.remove("m%d" % i)
print("MAPPED", sorted(os.listdir("/proc/self/fd")), flush=True)
time.sleep(600)
`
	res := run(t, Cmd{Args: []string{"/usr/bin/python3", "-c", script}, Dir: dir, Disk: 32 << 20, Timeout: time.Minute})
	wantDiskExceeded(t, res, "three removed files mapped (36 MiB)")
}

// TestUsageNotWhole: a count that cannot read part of the tree (here: out
// of descriptors, ten levels down) says so, and the meter reports it as
// past the cap instead of a smaller count.
func TestUsageNotWhole(t *testing.T) {
	dir := t.TempDir()
	deep := dir
	for range 10 {
		deep = filepath.Join(deep, "d")
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deep, "f"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-time.Hour)
	if b, n, whole := usage([]string{dir}, since); !whole || n != 12 || b < 1<<20 {
		t.Fatalf("usage = %d bytes, %d files, whole %v; want 1 MiB or more, 12, whole", b, n, whole)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = uint64(len(fds) + 8) // highest fd in use is below this, with room for a few levels
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	_, _, whole := usage([]string{dir}, since)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if whole {
		t.Errorf("usage out of descriptors says the count is whole")
	}
	m := &diskMeter{dirs: []string{dir}, since: since}
	w := &diskWatch{limit: 1 << 40, inodes: 1 << 40}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	u := m.measure(false)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if !w.report(u) || !strings.Contains(w.note(), "could not be read") {
		t.Errorf("a count not whole: over %v, note %q", w.over.Load(), w.note())
	}
}
