package sandbox

import (
	"errors"
	"fmt"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/landlock-lsm/go-landlock/landlock"
	"golang.org/x/sys/unix"
)

// deniedSyscalls are the calls no build or test needs and an escape would:
// tracing or reading other processes, mounting, namespaces, kernel keys,
// BPF, modules, the clock, rebooting. They fail with EPERM, and so does a
// clone that makes a namespace (seccompFilter).
var deniedSyscalls = []string{
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "fspick", "mount_setattr",
	"setns", "unshare",
	"keyctl", "add_key", "request_key",
	"bpf", "perf_event_open", "userfaultfd",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"open_by_handle_at", "name_to_handle_at",
	"swapon", "swapoff", "reboot", "acct", "quotactl", "syslog", "iopl", "ioperm", "vhangup",
	"clock_settime", "settimeofday", "adjtimex", "clock_adjtime", "sethostname", "setdomainname",
}

// limitSelf sets what the command inherits from init: resource limits, no
// capabilities after exec, Landlock (where the kernel has it) and the
// seccomp filter.
func limitSelf(cfg initConfig) error {
	for _, l := range []struct {
		res int
		max uint64
	}{
		{unix.RLIMIT_FSIZE, uint64(cfg.FileSize)},
		{unix.RLIMIT_CORE, 0},
	} {
		if err := unix.Setrlimit(l.res, &unix.Rlimit{Cur: l.max, Max: l.max}); err != nil {
			return fmt.Errorf("setting a resource limit: %w", err)
		}
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	if err := applyLandlock(cfg); err != nil {
		return err
	}
	return applySeccomp()
}

// dropCapabilities empties the bounding and inheritable sets: a command
// that runs as root gets no capability when it is executed.
func dropCapabilities() error {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("dropping capabilities: %w", err)
		}
	}
	_ = unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("dropping capabilities: %w", err)
	}
	return nil
}

// applyLandlock lets the command write only in its writable directories,
// its /tmp and /dev, and read the rest of its view: a second wall behind
// the read-only mounts. A kernel without Landlock is told apart by Check.
func applyLandlock(cfg initConfig) error {
	rw := []string{"/tmp"}
	for _, m := range cfg.Mounts {
		if m.Kind != "ro" {
			rw = append(rw, m.Path)
		}
	}
	err := landlock.V7.BestEffort().RestrictPaths(
		landlock.RODirs("/"),
		landlock.RWDirs(rw...).WithRefer(),
		landlock.RWDirs("/dev").WithIoctlDev(),
	)
	if err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	return nil
}

// namespaceFlags are clone's flags that make new namespaces: denied like
// unshare, so a command cannot make a network (or user, mount, ...)
// namespace of its own. (CLONE_NEWTIME is clone3's and unshare's only.)
const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// enosys fails a call as a kernel without it would: clone3 passes its
// flags in memory a filter cannot read, so it is refused the way C
// libraries expect (they then use clone, whose flags the filter sees).
const enosys = seccomp.Action(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))

func seccompFilter() seccomp.Filter {
	return seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls: []seccomp.SyscallGroup{{
				Action: seccomp.ActionErrno,
				Names:  deniedSyscalls,
				NamesWithCondtions: []seccomp.NameWithConditions{{
					Name:       "clone",
					Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.BitsSet, Value: namespaceFlags}},
				}},
			}, {
				Action: enosys,
				Names:  []string{"clone3"},
			}},
		},
	}
}

func applySeccomp() error {
	if err := seccomp.LoadFilter(seccompFilter()); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	return nil
}

// landlockABI is the Landlock ABI version of the kernel, 0 without it.
func landlockABI() int {
	v, _, errno := syscall.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}
