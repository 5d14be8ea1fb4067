// Package sandbox runs the commands of repositories cascade does not
// trust (downstream builds and tests, benchmarks, runbook steps) isolated,
// and extracts trees safely.
//
// Every command gets a scrubbed environment (an allow-list: none of
// cascade's own tokens), a timeout, captured output capped to its tail,
// and, on Linux, its own namespaces with cascade's executable as their
// init (pid 1): pid (every descendant dies with the command; /proc shows
// only its processes), mount (a read-only view of the system and
// toolchains, the directories the caller names read-only, writable or
// behind a throw-away overlay, a private size-capped /tmp that is also
// HOME, a minimal /dev without /dev/tty), network (loopback only, unless
// the command is given the network), IPC and UTS. It runs in a session of
// its own, with no controlling terminal and no descriptor of cascade's but
// its stdout and stderr. Memory and process counts are limited through a
// control group (cgroup v2, else v1), file sizes through rlimits;
// capabilities are dropped, a seccomp filter denies the calls an escape
// needs and pushing input into a terminal (TIOCSTI) and kills a command
// calling through another architecture's entry (i386), and Landlock
// (where the kernel has it) allows writes only in the writable
// directories. A machine that cannot isolate commands
// runs none unless AllowUnsafe(true) (--unsafe-sandbox).
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultOutputLimit is how much of a command's output is kept: the tail.
const DefaultOutputLimit = 256 << 10

// passThrough lists the variables of cascade's own environment a command
// may see. Everything else (tokens, credentials, proxies' passwords) is
// dropped.
var passThrough = []string{"PATH", "LANG", "LC_ALL", "TZ"}

// Cmd is one command to run.
type Cmd struct {
	// Args is the program and its arguments; Shell, if set, is run with
	// `sh -c` instead.
	Args  []string
	Shell string
	Dir   string
	// Env adds variables (KEY=value) to the allow-listed ones.
	Env []string
	// Timeout kills the command's process group after this long; 0 means none.
	Timeout time.Duration
	// OutputLimit caps the captured output (stdout and stderr together);
	// 0 means DefaultOutputLimit.
	OutputLimit int
	// SplitStderr keeps stderr apart (in Result.Stderr) so that Output is
	// stdout alone, for commands whose stdout is data.
	SplitStderr bool
	// Stream, if set, receives everything Output would hold (stdout, and
	// stderr unless SplitStderr), in full and in order, as it is written:
	// a parser that must see all of a large output reads it here, while
	// Output keeps only the tail. Writes come from one goroutine at a time.
	Stream io.Writer

	// What an isolated command sees besides the system (see Run): ReadOnly
	// directories it may read; Overlay directories it reads and writes,
	// its writes thrown away when it ends (a build cache it must not
	// poison); Writable directories it may write (Dir alone when empty).
	ReadOnly, Overlay, Writable []string
	// Shared are those of the Writable directories that commands share:
	// the module and build caches a fetch phase fills. What the command
	// writes there does not count against its disk cap.
	Shared []string
	// Network gives the command the host's network (a fetch phase, a
	// runbook step that declares it); otherwise it has only a loopback of
	// its own.
	Network bool
	// Memory, Pids, FileSize, TmpSize, Disk and Inodes override the
	// default limits. Disk caps the disk the command fills in total: the
	// growth of its writable directories, its overlays' writes and its
	// /tmp; Inodes caps the files (and directories) it makes there. Its
	// overlays' writes and its /tmp are tmpfs file systems no larger than
	// these caps, so the kernel holds them; its writable directories are
	// counted. Beyond either cap the command is killed
	// (Result.DiskExceeded).
	Memory   int64
	Pids     int
	FileSize int64
	TmpSize  int64
	Disk     int64
	Inodes   int64
}

// String is the command line as a person would type it.
func (c Cmd) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Args, " ")
}

// Result is how a command ended.
type Result struct {
	// ExitCode is the command's exit status; -1 when it did not exit
	// normally (killed, timed out, could not start).
	ExitCode int
	// Output is the tail of stdout and stderr, interleaved (stdout alone
	// with SplitStderr).
	Output string
	// Stderr is the tail of stderr with SplitStderr.
	Stderr string
	// Truncated is how many bytes of output were dropped from the head.
	Truncated int64
	TimedOut  bool
	Duration  time.Duration
	// StartErr is set when the command could not start at all.
	StartErr error
	// Note says what the sandbox could not do or what ended the command
	// (no memory limit here, the memory limit killed it, unisolated).
	Note string
	// DiskExceeded is set when the command filled more disk than its cap
	// (or its /tmp): it was killed, or its exit status is disregarded
	// (ExitCode -1), since a command out of disk says nothing about its
	// code.
	DiskExceeded bool
}

// OK reports whether the command exited with status 0.
func (r Result) OK() bool { return r.ExitCode == 0 && !r.TimedOut && r.StartErr == nil }

// PassedEnv is the part of cascade's environment every command sees (the
// allow-listed variables), for callers that cache what commands produce.
func PassedEnv() []string {
	var env []string
	for _, k := range passThrough {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// Env returns the environment a command would get: the allow-listed
// variables of cascade's environment, HOME and TMPDIR set to tmp, then extra.
func Env(tmp string, extra []string) []string {
	var env []string
	for _, k := range passThrough {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, "HOME="+tmp, "TMPDIR="+tmp, "GOTMPDIR="+tmp, "USER=cascade", "CI=true")
	return append(env, extra...)
}

// Run runs c and waits for it. It returns an error only when ctx is
// cancelled (every process of the command is killed first); a command
// that fails, times out or cannot start is described by the Result.
//
// The command is isolated (see the package comment): its own pid, mount,
// network, IPC and UTS namespaces with cascade as their init, a read-only
// view of the system, limits. On a machine that cannot isolate it, it is
// refused (Result.StartErr) unless AllowUnsafe(true), and then runs with
// the environment filter, process group and timeout only.
func Run(ctx context.Context, c Cmd) (Result, error) {
	sweepOnce.Do(sweepLeftovers)
	tmp, err := os.MkdirTemp("", fmt.Sprintf("cascade-run-%d-", os.Getpid()))
	if err != nil {
		return Result{ExitCode: -1, StartErr: err}, nil
	}
	defer removeAll(tmp)
	args := c.Args
	if c.Shell != "" {
		args = []string{"sh", "-c", c.Shell}
	}
	if len(args) == 0 {
		return Result{ExitCode: -1, StartErr: errors.New("empty command")}, nil
	}
	runCtx := ctx
	var cancel context.CancelFunc
	if c.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	limit := c.OutputLimit
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	out := &tail{limit: limit}
	errOut := out
	if c.SplitStderr {
		errOut = &tail{limit: DefaultOutputLimit}
	}
	var w io.Writer = out
	if c.Stream != nil {
		w = io.MultiWriter(out, c.Stream)
	}
	// The same writer for both streams unless split: exec then calls it
	// from one goroutine.
	stdout, stderr := w, w
	if c.SplitStderr {
		stderr = errOut
	}
	start := time.Now()
	var res Result
	var runErr error
	isolated := !disabled.Load() && !allowUnsafe.Load()
	if isolated {
		e, err := isolate(runCtx, c, args, tmp, stdout, stderr)
		if errors.Is(err, errNoIsolation) {
			return Result{ExitCode: -1, StartErr: fmt.Errorf("refusing to run `%s` unisolated: cascade %v; run `cascade sandbox check` to see what is missing, or pass --unsafe-sandbox to run it anyway", c, err)}, nil
		}
		res.ExitCode, res.StartErr, res.Note, res.DiskExceeded = e.exit, e.startErr, e.note, e.disk
	}
	if !isolated {
		runErr = runPlain(runCtx, c, args, tmp, stdout, stderr)
		if allowUnsafe.Load() {
			res.Note = "unisolated (--unsafe-sandbox)"
		}
	}
	res.Duration = time.Since(start)
	res.Output, res.Truncated = out.String(), out.total-int64(min(out.total, int64(out.limit)))
	if c.SplitStderr {
		res.Stderr = errOut.String()
	}
	switch {
	case ctx.Err() != nil:
		res.ExitCode = -1
		return res, ctx.Err()
	case res.DiskExceeded:
		// Out of disk, not out of time: the command could not be judged.
	case runCtx.Err() == context.DeadlineExceeded:
		res.ExitCode, res.TimedOut = -1, true
	case isolated:
	case runErr == nil:
		res.ExitCode = 0
	default:
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			res.ExitCode = ee.ExitCode()
		} else {
			res.ExitCode, res.StartErr = -1, runErr
		}
	}
	return res, nil
}

// runPlain runs args without isolation: a scrubbed environment, its own
// process group killed at the end, HOME and TMPDIR in tmp.
func runPlain(runCtx context.Context, c Cmd, args []string, tmp string, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(runCtx, args[0], args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = Env(tmp, c.Env)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// On timeout or cancellation, kill the whole group: a test binary's
	// children must not outlive it.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	// Only stdin, stdout and stderr: no descriptor cascade inherited.
	closeOnExecInherited()
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the command left running in its group goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return err
}

var sweepOnce sync.Once

// sweepLeftovers removes what runs of cascade that were killed left
// behind: their commands' temporary directories and control groups (their
// processes died with them).
func sweepLeftovers() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "cascade-run-*-*"))
	for _, d := range dirs {
		if pid := ownerPid(filepath.Base(d), "cascade-run-"); pid > 0 && !alive(pid) {
			removeAll(d)
		}
	}
	sweepCgroups()
}

// ownerPid reads the pid in a name made as prefix + pid + "-...".
func ownerPid(name, prefix string) int {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0
	}
	digits, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(digits)
	if err != nil {
		return 0
	}
	return pid
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeAll removes a temp dir even where a command left it unwritable
// (the Go module cache, for one, makes its files read-only).
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// CopyTree copies the directory src to dst (which must not exist yet),
// without .git and node_modules directories: regular files keep their
// permission bits; a link to a file inside src is copied as the file it
// points at, and anything else (a link that leaves src, a link to a
// directory, a device, a pipe) is left out: the copy holds nothing from
// outside the tree.
func CopyTree(src, dst string) error {
	realSrc, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() && (fi.Name() == ".git" || fi.Name() == "node_modules") && p != src {
			return filepath.SkipDir
		}
		t := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(t, 0o755)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			to, err := filepath.EvalSymlinks(p)
			if err != nil || !inside(realSrc, to) {
				return nil
			}
			p = to
		} else if !fi.Mode().IsRegular() {
			return nil
		}
		// Opened without blocking (a pipe put there meanwhile does not
		// hang the copy) and copied only if it is a regular file.
		in, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
		if errors.Is(err, syscall.ELOOP) {
			return nil // made a link meanwhile
		} else if err != nil {
			return err
		}
		defer in.Close()
		if fi, err = in.Stat(); err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		out, err := os.OpenFile(t, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm()|0o200)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// inside reports whether the clean path p is dir or below it.
func inside(dir, p string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// RemoveAll removes a directory a sandboxed command wrote to.
func RemoveAll(dir string) { removeAll(dir) }

// tail keeps the last limit bytes written to it.
type tail struct {
	mu      sync.Mutex
	limit   int
	buf     []byte
	dropped int64
	total   int64
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	t.total += int64(n)
	if len(p) > t.limit {
		t.dropped += int64(len(p) - t.limit)
		p = p[len(p)-t.limit:]
	}
	t.buf = append(t.buf, p...)
	// Trim only once the buffer holds twice the limit: amortised, each
	// byte is copied at most once more.
	if len(t.buf) > 2*t.limit {
		over := len(t.buf) - t.limit
		t.dropped += int64(over)
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return n, nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	buf, dropped := t.buf, t.dropped
	if over := len(buf) - t.limit; over > 0 {
		buf, dropped = buf[over:], dropped+int64(over)
	}
	s := string(bytes.ToValidUTF8(buf, []byte("?")))
	if dropped > 0 {
		s = fmt.Sprintf("[... %d bytes dropped ...]\n", dropped) + s
	}
	return s
}
