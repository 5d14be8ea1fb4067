package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// isolatedHome is the command's HOME and TMPDIR, inside its private /tmp.
const isolatedHome = "/tmp/home"

// runIsolated runs args as c in new pid, mount, network (unless
// c.Network), IPC and UTS namespaces, under cascade's own executable as
// init, in a control group. It returns how the command ended, or an error
// wrapping errNoIsolation when the namespaces cannot be had.
func runIsolated(runCtx context.Context, c Cmd, args []string, tmp string, stdout, stderr io.Writer) (ended, error) {
	self, err := os.Executable()
	if err != nil {
		return ended{exit: -1}, fmt.Errorf("%w: %v", errNoIsolation, err)
	}
	fail := func(err error) (ended, error) { return ended{exit: -1, startErr: err}, nil }
	env := dedupEnv(Env(isolatedHome, c.Env))
	mounts, err := mountsFor(c, env, tmp)
	if err != nil {
		return fail(err)
	}
	root := filepath.Join(tmp, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		return fail(err)
	}
	disk := diskCap(c)
	cfg := initConfig{Root: root, Args: args, Dir: c.Dir, Env: env, Home: isolatedHome, Network: c.Network, Mounts: mounts,
		TmpSize: min(orDefault(c.TmpSize, DefaultTmpSize), disk), FileSize: orDefault(c.FileSize, DefaultFileSize)}
	data, err := json.Marshal(cfg)
	if err != nil {
		return fail(err)
	}
	var note string
	cg, cgErr := newCgroup(orDefault(c.Memory, DefaultMemory), int(orDefault(int64(c.Pids), DefaultPids)))
	defer cg.remove()
	if cgErr != nil {
		note = "no memory or process limit: " + cgErr.Error()
	}
	fail = func(err error) (ended, error) { return ended{exit: -1, startErr: err, note: note}, nil }
	watch := newDiskWatch(disk, cfg.TmpSize, mounts, c.Shared)

	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	defer cfgR.Close()
	defer cfgW.Close()
	statR, statW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	defer statR.Close()
	defer statW.Close()

	cmd := exec.CommandContext(runCtx, self)
	cmd.Args = []string{"cascade-sandbox-init"}
	cmd.Env = []string{initEnv + "=1"}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = []*os.File{cfgR, statW}
	flags := syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	if !c.Network {
		flags |= syscall.CLONE_NEWNET
	}
	attr := &syscall.SysProcAttr{Cloneflags: uintptr(flags), Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		// Without root, a user namespace gives init the right to mount;
		// the command runs as root of that namespace, the user outside.
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	// Killing init kills every process of its pid namespace.
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = 5 * time.Second

	// The parent-death signal follows the thread that started init: keep
	// it alive (and this goroutine on it) until init is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EUSERS) {
			return ended{exit: -1, note: note}, fmt.Errorf("%w: new namespaces: %v", errNoIsolation, err)
		}
		return fail(err)
	}
	cfgR.Close()
	statW.Close()
	if cg != nil {
		if err := cg.add(cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return fail(err)
		}
	}
	_, werr := cfgW.Write(data)
	cfgW.Close()
	lines := make(chan []string, 1)
	// Once init says "ok", its /tmp is the command's, seen from here
	// through /proc.
	tmpPath := fmt.Sprintf("/proc/%d/root/tmp", cmd.Process.Pid)
	var rooted atomic.Bool
	watch.tmp = func() int64 {
		if !rooted.Load() {
			return 0
		}
		return max(tmpfsUsed(tmpPath), 0)
	}
	go func() {
		var ls []string
		sc := bufio.NewScanner(statR)
		for sc.Scan() {
			if sc.Text() == "ok" {
				rooted.Store(true)
			}
			ls = append(ls, sc.Text())
		}
		lines <- ls
	}()
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watch.run(done, func() { _ = cmd.Process.Kill() })
	}()
	_ = cmd.Wait()
	close(done)
	<-watched
	if cg != nil {
		cg.kill()
		if cg.oomKilled() {
			note = strings.TrimSpace(note + "; killed: the command's processes used more than their memory limit")
		}
	}
	status := <-lines
	e := ended{exit: -1}
	tmpUsed := int64(0)
	for _, l := range status {
		switch {
		case strings.HasPrefix(l, "error "):
			e.startErr = errors.New("sandbox: " + strings.TrimPrefix(l, "error "))
		case strings.HasPrefix(l, "exit "):
			e.exit, _ = strconv.Atoi(strings.TrimPrefix(l, "exit "))
		case strings.HasPrefix(l, "tmp "):
			tmpUsed, _ = strconv.ParseInt(strings.TrimPrefix(l, "tmp "), 10, 64)
		}
	}
	if e.startErr == nil && werr != nil && len(status) == 0 {
		e.startErr = fmt.Errorf("sandbox: starting init: %w", werr)
	}
	// Counted once more now that nothing of the command runs: past the
	// cap, its exit status says nothing about its code.
	if e.startErr == nil && watch.check(tmpUsed) {
		e.exit, e.disk = -1, true
		note += "; " + watch.note()
	}
	e.note = strings.TrimPrefix(note, "; ")
	return e, nil
}
