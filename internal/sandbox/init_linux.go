package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// initEnv is set, in the environment of cascade's own re-execution only,
// to make the process the sandbox's init instead of cascade.
const initEnv = "CASCADE_SANDBOX_INIT"

// Files descriptors the init is given: the configuration to read, and
// where it reports "ok", then how the command ended (or an error).
const (
	configFD = 3
	statusFD = 4
)

func init() {
	if os.Getenv(initEnv) != "1" || os.Getpid() != 1 {
		return
	}
	// Everything below runs on this thread: the limits, Landlock and
	// seccomp it sets are inherited by the command it starts.
	runtime.LockOSThread()
	os.Exit(sandboxInit())
}

// sandboxInit is pid 1 of the command's namespaces: it builds the
// command's view of the file system, limits it, starts it, reaps every
// orphan, and when the command ends, ends everything else too (as init,
// its exit kills the whole pid namespace).
func sandboxInit() int {
	// Every descriptor init has beyond stdin, stdout and stderr closes
	// when the command is executed: the configuration and status pipes,
	// and whatever cascade itself inherited without close-on-exec (a
	// shell's `7>>file`), which would let the command write outside.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		closeInherited()
	}
	status := os.NewFile(statusFD, "status")
	say := func(line string) { fmt.Fprintln(status, line) }
	fail := func(err error) int {
		say("error " + strings.ReplaceAll(err.Error(), "\n", " "))
		return 125
	}
	data, err := io.ReadAll(os.NewFile(configFD, "config"))
	if err != nil {
		return fail(fmt.Errorf("reading the sandbox configuration: %w", err))
	}
	var cfg initConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fail(fmt.Errorf("reading the sandbox configuration: %w", err))
	}
	tmpFS, scratchFS, err := setupRoot(cfg)
	if err != nil {
		return fail(err)
	}
	if !cfg.Network {
		if err := loopbackUp(); err != nil {
			return fail(fmt.Errorf("bringing up loopback: %w", err))
		}
	}
	_ = unix.Sethostname([]byte("cascade-sandbox"))
	path, err := lookPath(cfg.Args[0], cfg.Env)
	if err != nil {
		return fail(err)
	}
	if err := limitSelf(cfg); err != nil {
		return fail(err)
	}
	devnull, err := os.Open("/dev/null")
	if err != nil {
		return fail(err)
	}
	// The command may signal its init (it is in the same namespaces, with
	// the same uid): every signal init could be sent is taken here and
	// dropped, so none ends it (its exit would end the command and skip
	// the final count) or makes it dump its stacks. A handled signal is
	// back to its default in the command, which exec starts afresh.
	dropped := make(chan os.Signal, 1)
	signal.Notify(dropped)
	// Told when a child ends (before it is started: none is missed).
	children := make(chan os.Signal, 1)
	signal.Notify(children, unix.SIGCHLD)
	pid, err := syscall.ForkExec(path, cfg.Args, &syscall.ProcAttr{
		Dir:   cfg.Dir,
		Env:   cfg.Env,
		Files: []uintptr{devnull.Fd(), 1, 2},
		// A session of its own: no controlling terminal, so no way to
		// reach the terminal cascade runs in (TIOCSTI into it would have
		// the user's shell run the command's input after cascade exits).
		Sys: &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return fail(fmt.Errorf("exec %s: %w", cfg.Args[0], err))
	}
	devnull.Close()
	say("ok")
	meter := newDiskMeter(cfg, tmpFS, scratchFS)
	// The disk meter runs here, on init's own thread: the command was
	// started from it and shares its Landlock domain, so the meter may
	// look at the command's open files (/proc/PID/fd), which a thread in
	// a domain of its own may not.
	pause := 250 * time.Millisecond
	next := time.NewTimer(pause)
	var ws unix.WaitStatus
	for {
		wpid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR || err == nil && wpid > 0 && wpid != pid {
			continue // an orphan reaped
		}
		if err != nil {
			say(fmt.Sprintf("error waiting for the command: %v", err))
			return 125
		}
		if wpid == pid {
			break
		}
		select {
		case <-children:
		case <-next.C:
			// A count costs a walk of the directories: the pause after
			// one is eight times what it took (at least a quarter of a
			// second), so that counting takes at most about a ninth of
			// one core.
			start := time.Now()
			say(meter.measure(true).String())
			pause = max(250*time.Millisecond, 8*time.Since(start))
			next.Reset(pause)
		}
	}
	// The command ended: nothing it started may outlive it.
	_ = unix.Kill(-1, unix.SIGKILL)
	reapAll(5 * time.Second)
	// What it left counts against its caps once more, now that nothing
	// of it writes.
	say("final " + meter.measure(false).String())
	if ws.Signaled() {
		say(fmt.Sprintf("signal %d", int(ws.Signal())))
		return 128 + int(ws.Signal())
	}
	say(fmt.Sprintf("exit %d", ws.ExitStatus()))
	return ws.ExitStatus()
}

// reapAll waits for every process left (killed) to be gone, for at most
// limit.
func reapAll(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		wpid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR || wpid > 0:
		case err != nil:
			return // no child left
		default:
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// setupRoot builds the command's file system in a tmpfs at cfg.Root and
// makes it the root: the system and toolchains read-only, the command's
// directories as asked (the overlays' upper layers in a tmpfs of the disk
// cap's size), a private /tmp (HOME inside it), a minimal /dev and a
// /proc that shows only this namespace's processes. It returns the /tmp
// and the overlays' tmpfs (nil without overlays), opened, for the disk
// meter.
func setupRoot(cfg initConfig) (tmpFS, scratchFS *os.File, err error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, nil, fmt.Errorf("making mounts private: %w", err)
	}
	root := cfg.Root
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=16m,mode=0755"); err != nil {
		return nil, nil, fmt.Errorf("mounting the sandbox root: %w", err)
	}
	at := func(p string) string { return filepath.Join(root, p) }
	tmpOpts := fmt.Sprintf("size=%d,nr_inodes=%d,mode=1777", cfg.TmpSize, cfg.Inodes)
	if err := os.MkdirAll(at("/tmp"), 0o755); err != nil {
		return nil, nil, err
	}
	if err := unix.Mount("tmpfs", at("/tmp"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpOpts); err != nil {
		return nil, nil, fmt.Errorf("mounting /tmp: %w", err)
	}
	if tmpFS, err = os.Open(at("/tmp")); err != nil {
		return nil, nil, err
	}
	for _, m := range cfg.Mounts {
		if m.Kind != "overlay" || scratchFS != nil {
			continue
		}
		// What the command writes through its overlays stays in memory,
		// within the disk cap and the inode cap: the kernel holds it.
		opts := fmt.Sprintf("size=%d,nr_inodes=%d,mode=0700", cfg.ScratchSize, cfg.Inodes)
		if err := unix.Mount("tmpfs", cfg.Scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return nil, nil, fmt.Errorf("mounting the overlays' tmpfs: %w", err)
		}
		if scratchFS, err = os.Open(cfg.Scratch); err != nil {
			return nil, nil, err
		}
	}
	var readOnly, writable []string
	for _, m := range cfg.Mounts {
		dst := at(m.Path)
		if m.Kind == "link" {
			if err := os.Symlink(m.Target, dst); err != nil {
				return nil, nil, fmt.Errorf("sandbox: %w", err)
			}
			continue
		}
		fi, err := os.Stat(m.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
		if fi.IsDir() {
			err = os.MkdirAll(dst, 0o755)
		} else {
			err = touch(dst)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox: mount point %s: %w", m.Path, err)
		}
		switch m.Kind {
		case "overlay":
			for _, d := range []string{m.Upper, m.Work} {
				if err := os.MkdirAll(d, 0o700); err != nil {
					return nil, nil, fmt.Errorf("sandbox: overlay on %s: %w", m.Path, err)
				}
			}
			opts := "lowerdir=" + escapeOverlay(m.Path) + ",upperdir=" + escapeOverlay(m.Upper) + ",workdir=" + escapeOverlay(m.Work)
			if err := unix.Mount("overlay", dst, "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
				return nil, nil, fmt.Errorf("sandbox: overlay on %s: %w", m.Path, err)
			}
		default:
			if err := unix.Mount(m.Path, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return nil, nil, fmt.Errorf("sandbox: binding %s: %w", m.Path, err)
			}
			if m.Kind == "ro" {
				readOnly = append(readOnly, dst)
			} else {
				writable = append(writable, dst)
			}
		}
	}
	// Writable directories hold no set-user-ID program or device the
	// command could use.
	for _, dst := range writable {
		if err := remountBind(dst, unix.MS_NOSUID|unix.MS_NODEV); err != nil {
			return nil, nil, fmt.Errorf("sandbox: remounting %s nosuid: %w", dst, err)
		}
	}
	// Read-only last: mount points inside were made while they could be.
	for _, dst := range readOnly {
		if err := remountBind(dst, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV); err != nil {
			return nil, nil, fmt.Errorf("sandbox: making %s read-only: %w", dst, err)
		}
	}
	if err := setupDev(at("/dev")); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(at("/proc"), 0o555); err != nil {
		return nil, nil, err
	}
	if err := unix.Mount("proc", at("/proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return nil, nil, fmt.Errorf("mounting /proc: %w", err)
	}
	if cfg.Home != "" {
		if err := os.MkdirAll(at(cfg.Home), 0o700); err != nil {
			return nil, nil, err
		}
	}
	if err := unix.Chdir(root); err != nil {
		return nil, nil, err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return nil, nil, fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return nil, nil, fmt.Errorf("detaching the host's root: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return nil, nil, fmt.Errorf("making the sandbox root read-only: %w", err)
	}
	dir := cfg.Dir
	if dir == "" {
		dir = cfg.Home
	}
	if err := unix.Chdir(dir); err != nil {
		return nil, nil, fmt.Errorf("sandbox: the command's directory %s: %w", dir, err)
	}
	return tmpFS, scratchFS, nil
}

// setupDev makes a /dev of the harmless devices. /dev/tty is not one:
// it is the controlling terminal of whoever opens it.
func setupDev(dev string) error {
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"null", "zero", "full", "random", "urandom"} {
		if _, err := os.Stat("/dev/" + d); err != nil {
			continue
		}
		if err := touch(filepath.Join(dev, d)); err != nil {
			return err
		}
		if err := unix.Mount("/dev/"+d, filepath.Join(dev, d), "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("binding /dev/%s: %w", d, err)
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o1777); err != nil {
		return err
	}
	return unix.Mount("tmpfs", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64m,mode=1777")
}

// closeInherited marks every open descriptor above stderr close-on-exec,
// for kernels without close_range (before 5.11).
func closeInherited() {
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
	for _, fd := range []int{configFD, statusFD} {
		unix.CloseOnExec(fd)
	}
}

// closeOnExecInherited marks every descriptor of cascade above stderr
// close-on-exec before an unisolated command starts: what cascade itself
// inherited without it (a shell's `7>>file`) would otherwise reach the
// command. cascade's own descriptors have it already; those it gives a
// command on purpose are duplicated for it.
func closeOnExecInherited() {
	if unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) != nil {
		entries, _ := os.ReadDir("/proc/self/fd")
		for _, e := range entries {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				unix.CloseOnExec(fd)
			}
		}
	}
}

func touch(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// escapeOverlay escapes the characters overlayfs options give a meaning.
func escapeOverlay(p string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`).Replace(p)
}

// loopbackUp brings up lo in the command's network namespace: tests that
// listen on 127.0.0.1 work, and nothing else is reachable.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// lookPath finds a program on the command's PATH, inside its view.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: %w", name, exec.ErrNotFound)
}

// remountBind remounts the bind mount at dst with flags added to the ones
// it has: in a user namespace the kernel refuses a remount that would
// clear a flag the mount was locked with (noexec, nosuid, nodev, atime
// settings), so those are kept.
func remountBind(dst string, flags uintptr) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dst, &st); err != nil {
		return err
	}
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	return unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|flags, "")
}
