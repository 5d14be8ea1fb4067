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
	// The overlays' upper layers go in a tmpfs init mounts here.
	scratch := filepath.Join(tmp, "scratch")
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return fail(err)
	}
	mounts, err := mountsFor(c, env, scratch)
	if err != nil {
		return fail(err)
	}
	root := filepath.Join(tmp, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		return fail(err)
	}
	disk, inodes := diskCap(c), inodeCap(c)
	watch := newDiskWatch(disk, inodes, mounts, c.Shared)
	// No file may be larger than the disk cap either.
	cfg := initConfig{Root: root, Args: args, Dir: c.Dir, Env: env, Home: isolatedHome, Network: c.Network, Mounts: mounts,
		TmpSize: min(orDefault(c.TmpSize, DefaultTmpSize), disk), FileSize: min(orDefault(c.FileSize, DefaultFileSize), disk),
		Scratch: scratch, ScratchSize: disk, Inodes: inodes, Count: watch.dirs, Since: watch.since.UnixNano()}
	data, err := json.Marshal(cfg)
	if err != nil {
		return fail(err)
	}
	var note string
	oom := false
	cg, cgErr := newCgroup(orDefault(c.Memory, DefaultMemory), int(orDefault(int64(c.Pids), DefaultPids)))
	defer cg.remove()
	if cgErr != nil {
		note = "no memory or process limit: " + cgErr.Error()
	}
	fail = func(err error) (ended, error) { return ended{exit: -1, startErr: err, note: note}, nil }

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
	// Init reports what the command fills ("disk ..." lines) while it
	// runs: past a cap, it is killed.
	var last diskUse
	final := false
	go func() {
		var ls []string
		sc := bufio.NewScanner(statR)
		for sc.Scan() {
			l := sc.Text()
			end := false
			if rest, ok := strings.CutPrefix(l, "final "); ok {
				l, end = rest, true
			}
			if rest, ok := strings.CutPrefix(l, "disk "); ok {
				if u, ok := parseDiskUse(rest); ok {
					last, final = u, end
					if watch.report(u) {
						_ = cmd.Process.Kill()
					}
				}
				continue
			}
			ls = append(ls, l)
		}
		lines <- ls
	}()
	_ = cmd.Wait()
	if cg != nil {
		cg.kill()
		if cg.oomKilled() {
			note = strings.TrimSpace(note + "; killed: the command's processes used more than their memory limit (which its /tmp and its overlays' writes count against too)")
			oom = true
		}
	}
	status := <-lines
	e := ended{exit: -1}
	for _, l := range status {
		switch {
		case strings.HasPrefix(l, "error "):
			e.startErr = errors.New("sandbox: " + strings.TrimPrefix(l, "error "))
		case strings.HasPrefix(l, "exit "):
			e.exit, _ = strconv.Atoi(strings.TrimPrefix(l, "exit "))
		}
	}
	if e.startErr == nil && werr != nil && len(status) == 0 {
		e.startErr = fmt.Errorf("sandbox: starting init: %w", werr)
	}
	// Counted once more now that nothing of the command runs: past a
	// cap, its exit status says nothing about its code.
	if e.startErr == nil && watch.final(last, final) {
		e.exit, e.disk = -1, true
		note += "; " + watch.note()
	}
	// A command whose processes the memory limit killed (a disk hog in
	// its tmpfs file systems among them) is not judged either, whatever
	// its status.
	if oom {
		e.exit = -1
	}
	e.note = strings.TrimPrefix(note, "; ")
	return e, nil
}
