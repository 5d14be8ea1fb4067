package sandbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func run(t *testing.T, c Cmd) Result {
	t.Helper()
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.StartErr != nil {
		t.Fatalf("%s: %v", c, res.StartErr)
	}
	return res
}

func TestDaemonsDieWithTheCommand(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	// setsid, a double fork and nohup: none leaves the pid namespace.
	res := run(t, Cmd{Shell: "setsid sh -c '(nohup sh -c \"sleep 1; echo alive > " + marker + "\" &) &' ; exit 0", Writable: []string{dir}})
	if !res.OK() {
		t.Fatalf("%+v", res)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a daemon of the command outlived it")
	}
}

func TestProcShowsOnlyTheSandbox(t *testing.T) {
	t.Setenv("CASCADE_TEST_SECRET", "ancestor-secret-value")
	res := run(t, Cmd{Shell: "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; echo; echo pids:; ls /proc | grep '^[0-9]' | tr '\\n' ' '; echo; cat /proc/1/cmdline"})
	if strings.Contains(res.Output, "ancestor-secret-value") {
		t.Errorf("an ancestor's environment is readable:\n%s", res.Output)
	}
	if !strings.Contains(res.Output, "cascade-sandbox-init") {
		t.Errorf("pid 1 is not the sandbox's init:\n%s", res.Output)
	}
	_, pids, _ := strings.Cut(res.Output, "pids:\n")
	pids, _, _ = strings.Cut(pids, "\n")
	if n := len(strings.Fields(pids)); n > 6 {
		t.Errorf("the command sees %d processes: %s", n, pids)
	}
}

func TestNoNetworkButLoopback(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	script := fmt.Sprintf(`exec 3<>/dev/tcp/127.0.0.1/%d && echo CONNECTED; ip=$(cat /proc/net/dev | grep -c :); echo interfaces=$ip`, port)
	res := run(t, Cmd{Args: []string{"bash", "-c", script}})
	if strings.Contains(res.Output, "CONNECTED") {
		t.Errorf("the command reached the host's loopback:\n%s", res.Output)
	}
	select {
	case <-accepted:
		t.Error("the listener saw a connection from the sandbox")
	case <-time.After(200 * time.Millisecond):
	}
	if !strings.Contains(res.Output, "interfaces=1") {
		t.Errorf("the command sees more than its loopback:\n%s", res.Output)
	}
	// Its own loopback works: a test may serve on 127.0.0.1.
	res = run(t, Cmd{Args: []string{"bash", "-c", `python3 -c 1 2>/dev/null; (exec 3<>/dev/tcp/127.0.0.1/1) 2>&1 | grep -q refused && echo UP`}})
	if strings.TrimSpace(res.Output) != "UP" {
		t.Errorf("the sandbox's own loopback is not up: %q", res.Output)
	}
	// With Network, the host's network.
	res = run(t, Cmd{Args: []string{"bash", "-c", script}, Network: true})
	if !strings.Contains(res.Output, "CONNECTED") {
		t.Errorf("Network: the command did not reach the host's loopback:\n%s", res.Output)
	}
}

func TestReadOnlyView(t *testing.T) {
	home, _ := os.UserHomeDir()
	work, ro, ov, outside := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(ro, "f"), []byte("ro"), 0o644)
	os.WriteFile(filepath.Join(ov, "f"), []byte("ov"), 0o644)
	script := strings.Join([]string{
		"echo x > " + work + "/ok && echo WORK-OK",
		"echo x > " + ro + "/f 2>/dev/null && echo RO-WRITTEN",
		"cat " + ro + "/f && echo",
		"echo x > " + ov + "/new && cat " + ov + "/new && echo OV-OK",
		"ls " + outside + " 2>/dev/null && echo OUTSIDE-VISIBLE",
		"ls -A " + home + " 2>/dev/null | grep -q . && echo HOME-VISIBLE",
		"echo x > $HOME/h && echo HOME-OK",
		"echo x > /usr/pwned 2>/dev/null && echo USR-WRITTEN",
		"echo x > /pwned 2>/dev/null && echo ROOT-WRITTEN",
		"echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo PROC-WRITTEN",
		"unshare -U true 2>/dev/null && echo UNSHARED",
		"cat /etc/shadow >/dev/null 2>&1 && echo SHADOW-READ",
		"cat /etc/passwd >/dev/null && echo PASSWD-OK",
		"true",
	}, "\n")
	res := run(t, Cmd{Shell: script, Dir: work, ReadOnly: []string{ro}, Overlay: []string{ov}})
	for _, want := range []string{"WORK-OK", "ro\n", "OV-OK", "HOME-OK", "PASSWD-OK"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Output)
		}
	}
	for _, bad := range []string{"RO-WRITTEN", "OUTSIDE-VISIBLE", "USR-WRITTEN", "ROOT-WRITTEN", "PROC-WRITTEN", "UNSHARED", "SHADOW-READ"} {
		if strings.Contains(res.Output, bad) {
			t.Errorf("%s:\n%s", bad, res.Output)
		}
	}
	if home != "" && home != "/" && strings.Contains(res.Output, "HOME-VISIBLE") {
		t.Errorf("the user's home %s is visible:\n%s", home, res.Output)
	}
	if _, err := os.Stat(filepath.Join(ov, "new")); err == nil {
		t.Error("a write to an overlay directory reached the host")
	}
	if data, _ := os.ReadFile(filepath.Join(ro, "f")); string(data) != "ro" {
		t.Errorf("read-only file now %q", data)
	}
}

func TestLimits(t *testing.T) {
	dir := t.TempDir()
	// A file over the size cap is cut short.
	res := run(t, Cmd{Shell: "head -c 3000000 /dev/zero > big; ls -l big", Dir: dir, FileSize: 1 << 20})
	if fi, err := os.Stat(filepath.Join(dir, "big")); err != nil || fi.Size() > 1<<20 {
		t.Errorf("file size cap not kept: %v %v\n%s", fi, err, res.Output)
	}
	// Memory beyond the limit kills the command, and the Result says why.
	if cg, err := newCgroup(64<<20, 100); err == nil {
		cg.remove()
		res = run(t, Cmd{Shell: "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived", Memory: 64 << 20})
		if strings.Contains(res.Output, "survived") && res.OK() {
			t.Errorf("300 MB held under a 64 MiB limit: %+v", res)
		}
		if !strings.Contains(res.Note, "memory limit") {
			t.Errorf("Note = %q, want the memory limit named", res.Note)
		}
	}
	// A fork bomb meets the process limit, and nothing is left after.
	marker := filepath.Join(dir, "marker")
	res = run(t, Cmd{Shell: "i=0; while [ $i -lt 200 ]; do sh -c 'sleep 2; echo x >> " + marker + "' & i=$((i+1)); done; echo all-started", Dir: dir, Pids: 50, Timeout: 20 * time.Second})
	if res.OK() || strings.Contains(res.Output, "all-started") {
		t.Errorf("fork bomb not stopped by the process limit: %+v", res)
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("a process of the fork bomb outlived the command")
	}
}

func TestLandlockIsASecondWall(t *testing.T) {
	if landlockABI() == 0 {
		t.Skip("no Landlock in this kernel")
	}
	// /proc/self/comm is writable by its process whatever the mounts say:
	// only Landlock (writes only in the writable directories) refuses it.
	res := run(t, Cmd{Shell: "echo renamed > /proc/self/comm && echo COMM-WRITTEN; echo x > /dev/null && echo DEVNULL-OK"})
	if strings.Contains(res.Output, "COMM-WRITTEN") || !strings.Contains(res.Output, "DEVNULL-OK") {
		t.Errorf("output:\n%s", res.Output)
	}
}

func TestDirInsideItsWritableTree(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "mod", "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	res := run(t, Cmd{Shell: "echo x > here && echo x > ../../top && echo BOTH-OK", Dir: sub, Writable: []string{root}})
	if !strings.Contains(res.Output, "BOTH-OK") {
		t.Errorf("a Dir inside its writable tree is not writable:\n%s", res.Output)
	}
	// Alone (another directory writable), Dir is read-only.
	other := t.TempDir()
	res = run(t, Cmd{Shell: "echo x > here 2>/dev/null && echo DIR-WRITTEN; pwd", Dir: sub, Writable: []string{other}})
	if strings.Contains(res.Output, "DIR-WRITTEN") || !strings.Contains(res.Output, sub) {
		t.Errorf("Dir outside the writable directories:\n%s", res.Output)
	}
}

// TestNoNamespacesOfItsOwn: a command cannot make namespaces of its own,
// neither through unshare nor through clone's flags (a network namespace
// where it could give itself addresses and interfaces): the clone fails,
// while a plain child process starts as usual.
func TestNoNamespacesOfItsOwn(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, Cmd{Args: []string{exe}, Env: []string{cloneEnv + "=1"}, ReadOnly: []string{filepath.Dir(exe)}})
	if !strings.Contains(res.Output, "new namespaces: fork/exec /usr/bin/true: operation not permitted") &&
		!strings.Contains(res.Output, "new namespaces: fork/exec /bin/true: operation not permitted") {
		t.Errorf("a clone with namespace flags was not refused:\n%s", res.Output)
	}
	if !strings.Contains(res.Output, "plain child: <nil>") {
		t.Errorf("a plain child did not start:\n%s", res.Output)
	}
	res = run(t, Cmd{Shell: "unshare -rn true && echo UNSHARED; ip addr add 10.213.0.1/32 dev lo 2>/dev/null && echo ADDRESS-ADDED; true"})
	if strings.Contains(res.Output, "UNSHARED") || strings.Contains(res.Output, "ADDRESS-ADDED") {
		t.Errorf("output:\n%s", res.Output)
	}
}

// TestNoInheritedDescriptors: a descriptor cascade inherited without
// close-on-exec (a shell's `77>>file`) is not the command's: writing to it
// fails and the file outside stays empty.
func TestNoInheritedDescriptors(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	f, err := os.Create(outside)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const fd = 77
	if err := syscall.Dup3(int(f.Fd()), fd, 0); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	res := run(t, Cmd{Args: []string{"bash", "-c", "echo WRITTEN >&77 && echo LEAK; ls /proc/self/fd | tr '\\n' ' '"}})
	if strings.Contains(res.Output, "LEAK") {
		t.Errorf("the command wrote to an inherited descriptor:\n%s", res.Output)
	}
	if data, _ := os.ReadFile(outside); len(data) != 0 {
		t.Errorf("written outside through fd %d: %q", fd, data)
	}
	if fds := strings.Fields(res.Output[strings.LastIndex(res.Output, "\n")+1:]); len(fds) > 4 {
		t.Errorf("the command has descriptors beyond stdin, stdout, stderr (and ls's own): %v", fds)
	}
}

// TestNoTerminal: the command is the leader of a session of its own, with
// no controlling terminal and no /dev/tty, and pushing input into a
// terminal (TIOCSTI, TIOCLINUX, high bits set in the request or not) is
// denied by seccomp even on a terminal it holds (here stdin, /dev/null:
// EPERM, where the kernel would say ENOTTY).
func TestNoTerminal(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, Cmd{Args: []string{exe}, Env: []string{ttyEnv + "=1"}, ReadOnly: []string{filepath.Dir(exe)}})
	for _, want := range []string{
		"session leader: true",
		"open /dev/tty: open /dev/tty: no such file or directory",
		"ioctl 0x5412: operation not permitted",
		"ioctl 0x100005412: operation not permitted",
		"ioctl 0x541c: operation not permitted",
	} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("no %q in:\n%s", want, res.Output)
		}
	}
}

// TestForeignArchitectureCalls: a call through the i386 entry (int $0x80
// on x86-64) kills the command, whatever it is: the denied unshare and
// keyctl, and a harmless getpid alike. Without the architecture check,
// they all passed the filter.
func TestForeignArchitectureCalls(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("int $0x80 is x86-64's")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build the i386 caller")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "i386.c")
	// A 64-bit program making one i386 call, its number and first
	// argument from the command line; it says what the call returned.
	prog := `#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  long nr = atol(argv[1]), a = atol(argv[2]), ret;
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("calling %ld\n", nr);
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(0), "d"(0) : "memory");
  printf("returned %ld\n", ret);
  return 0;
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "i386")
	if out, err := exec.Command(gcc, "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Skipf("gcc: %v\n%s", err, out)
	}
	// Outside the sandbox the kernel answers (this one has the i386 ABI).
	out, err := exec.Command(bin, "20", "0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "returned ") || strings.Contains(string(out), "returned -38") {
		t.Skipf("no i386 system calls on this kernel: %v\n%s", err, out)
	}
	for _, call := range []struct{ name, nr, arg string }{
		{"getpid", "20", "0"},
		{"unshare(CLONE_NEWUSER|CLONE_NEWNET)", "310", fmt.Sprint(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET)},
		{"keyctl(GET_KEYRING_ID)", "288", "0"},
	} {
		res := run(t, Cmd{Args: []string{bin, call.nr, call.arg}, ReadOnly: []string{dir}})
		if !strings.Contains(res.Output, "calling "+call.nr) || strings.Contains(res.Output, "returned") || res.OK() {
			t.Errorf("i386 %s: exit %d (want it killed), output:\n%s", call.name, res.ExitCode, res.Output)
		}
	}
}

// TestX32Calls: on x86-64 a call numbered with the x32 bit (which comes
// through the native entry, and which the filters' lists would not name)
// kills the command, whether or not the kernel has the x32 ABI.
func TestX32Calls(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x32 is x86-64's")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build the caller")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "x32.c")
	prog := `#include <stdio.h>
#include <unistd.h>
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("calling\n");
  long ret = syscall(0x40000000L | 39); /* getpid */
  printf("returned %ld\n", ret);
  return 0;
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "x32")
	if out, err := exec.Command(gcc, "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Skipf("gcc: %v\n%s", err, out)
	}
	res := run(t, Cmd{Args: []string{bin}, ReadOnly: []string{dir}})
	if !strings.Contains(res.Output, "calling") || strings.Contains(res.Output, "returned") || res.OK() {
		t.Errorf("x32 getpid: exit %d (want it killed), output:\n%s", res.ExitCode, res.Output)
	}
}

// TestIOURingAndVsockRefused: io_uring (file operations the filters
// would not see, a keep-size fallocate among them) and vsock sockets
// (which the network namespace does not hold) are refused.
func TestIOURingAndVsockRefused(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the io_uring_setup number below is x86-64's")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	script := `import ctypes, errno, socket
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 8, params)
print("io_uring_setup", fd, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()) if fd < 0 else "ok")
try:
    socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    print("vsock ok")
except OSError as e:
    print("vsock", errno.errorcode.get(e.errno, e.errno))
`
	res := run(t, Cmd{Args: []string{"/usr/bin/python3", "-c", script}})
	for _, want := range []string{"io_uring_setup -1 EPERM", "vsock EAFNOSUPPORT"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("want %q in:\n%s", want, res.Output)
		}
	}
}

// TestWritableDirectoriesAreNosuid: the directories a command may write
// are mounted nosuid and nodev, as its /tmp is.
func TestWritableDirectoriesAreNosuid(t *testing.T) {
	dir := t.TempDir()
	res := run(t, Cmd{Shell: "grep ' " + dir + " ' /proc/self/mountinfo", Dir: dir})
	line := strings.TrimSpace(res.Output)
	if line == "" {
		t.Fatalf("no mount at %s:\n%+v", dir, res)
	}
	opts := strings.Fields(line)[5]
	for _, want := range []string{"rw", "nosuid", "nodev"} {
		if !slices.Contains(strings.Split(opts, ","), want) {
			t.Errorf("the writable directory is mounted %s, want %s: %s", opts, want, line)
		}
	}
}
