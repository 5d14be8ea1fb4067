package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/landlock-lsm/go-landlock/landlock"
	"golang.org/x/net/bpf"
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
	// io_uring does file operations (fallocate among them) without the
	// system calls the filters check; programs that try it fall back to
	// the plain calls when it is refused.
	"io_uring_setup", "io_uring_enter", "io_uring_register",
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
	return loadGuardFilter()
}

// The offsets of seccomp_data's fields the guard filter reads.
const (
	seccompNrOffset   = 0
	seccompArchOffset = 4
	seccompArgsOffset = 16
)

// guardFilter is a second seccomp program, for what go-seccomp-bpf's
// policy cannot say. The kernel runs every filter loaded and the
// strictest answer wins.
//
//   - A call through another architecture's entry (on x86-64, int $0x80:
//     the i386 ABI, with its own numbers) kills the command. The policy
//     above checks only native calls and allows the rest, so every call it
//     denies was reachable through its i386 number. On x86-64 a call
//     numbered with the x32 bit (0x40000000) kills it too: the x32 ABI
//     comes through the native entry, with numbers no check here names.
//   - ioctl TIOCSTI (push bytes into a terminal's input, which its shell
//     then runs) and TIOCLINUX (the same on a virtual console) fail with
//     EPERM. The kernel reads ioctl's request as 32 bits, so only the low
//     half of the argument is compared: high bits set change nothing.
//   - socket in the vsock family (AF_VSOCK) fails with EAFNOSUPPORT:
//     vsock reaches the hypervisor and other virtual machines, and it is
//     not held by the network namespace that holds every other family.
//   - fallocate with any mode but the plain one fails with EOPNOTSUPP, as
//     on a file system without it: FALLOC_FL_KEEP_SIZE allocates blocks
//     past the end of the file, which the file-size limit (checked
//     against the file's size) does not hold. The plain mode grows the
//     file and is held by it. The mode is an int: its low half is
//     compared.
func guardFilter() ([]bpf.Instruction, error) {
	native, err := arch.GetInfo("")
	if err != nil {
		return nil, err
	}
	// The low halves of args[0] (socket's family) and args[1] (ioctl's
	// request, fallocate's mode).
	arg0, arg1 := uint32(seccompArgsOffset), uint32(seccompArgsOffset+8)
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		arg0, arg1 = arg0+4, arg1+4 // big-endian: the low half comes second
	}
	const (
		allow      = unix.SECCOMP_RET_ALLOW
		eperm      = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		eopnotsupp = unix.SECCOMP_RET_ERRNO | uint32(unix.EOPNOTSUPP)
		eafnosupp  = unix.SECCOMP_RET_ERRNO | uint32(unix.EAFNOSUPPORT)
		kill       = unix.SECCOMP_RET_KILL_PROCESS
	)
	var p prog
	p.add(bpf.LoadAbsolute{Off: seccompArchOffset, Size: 4})
	p.jump(bpf.JumpEqual, uint32(native.ID), "", "kill")
	p.add(bpf.LoadAbsolute{Off: seccompNrOffset, Size: 4})
	if runtime.GOARCH == "amd64" {
		p.jump(bpf.JumpGreaterOrEqual, 0x40000000, "kill", "")
	}
	p.jump(bpf.JumpEqual, unix.SYS_IOCTL, "ioctl", "")
	p.jump(bpf.JumpEqual, unix.SYS_FALLOCATE, "fallocate", "")
	p.jump(bpf.JumpEqual, unix.SYS_SOCKET, "socket", "")
	p.add(bpf.RetConstant{Val: allow})
	p.label("socket")
	p.add(bpf.LoadAbsolute{Off: arg0, Size: 4})
	p.jump(bpf.JumpEqual, unix.AF_VSOCK, "eafnosupport", "")
	p.add(bpf.RetConstant{Val: allow})
	p.label("ioctl")
	p.add(bpf.LoadAbsolute{Off: arg1, Size: 4})
	p.jump(bpf.JumpEqual, unix.TIOCSTI, "eperm", "")
	p.jump(bpf.JumpEqual, unix.TIOCLINUX, "eperm", "")
	p.add(bpf.RetConstant{Val: allow})
	p.label("fallocate")
	p.add(bpf.LoadAbsolute{Off: arg1, Size: 4})
	p.jump(bpf.JumpEqual, 0, "", "eopnotsupp")
	p.add(bpf.RetConstant{Val: allow})
	p.label("eperm")
	p.add(bpf.RetConstant{Val: eperm})
	p.label("eopnotsupp")
	p.add(bpf.RetConstant{Val: eopnotsupp})
	p.label("eafnosupport")
	p.add(bpf.RetConstant{Val: eafnosupp})
	p.label("kill")
	p.add(bpf.RetConstant{Val: kill})
	return p.resolve()
}

// prog is a BPF program with jumps to named labels ("" goes on to the
// next instruction), resolved into relative skips.
type prog struct {
	insts  []bpf.Instruction
	labels map[string]int
	jumps  []pendingJump
}

type pendingJump struct {
	at          int
	cond        bpf.JumpTest
	val         uint32
	true, false string
}

func (p *prog) add(i bpf.Instruction) { p.insts = append(p.insts, i) }

func (p *prog) label(name string) {
	if p.labels == nil {
		p.labels = map[string]int{}
	}
	p.labels[name] = len(p.insts)
}

func (p *prog) jump(cond bpf.JumpTest, val uint32, ifTrue, ifFalse string) {
	p.jumps = append(p.jumps, pendingJump{len(p.insts), cond, val, ifTrue, ifFalse})
	p.add(nil)
}

func (p *prog) resolve() ([]bpf.Instruction, error) {
	skip := func(from int, to string) (uint8, error) {
		if to == "" {
			return 0, nil
		}
		at, ok := p.labels[to]
		if !ok || at <= from || at-from-1 > 255 {
			return 0, fmt.Errorf("seccomp: bad jump to %q", to)
		}
		return uint8(at - from - 1), nil
	}
	for _, j := range p.jumps {
		t, err := skip(j.at, j.true)
		if err != nil {
			return nil, err
		}
		f, err := skip(j.at, j.false)
		if err != nil {
			return nil, err
		}
		p.insts[j.at] = bpf.JumpIf{Cond: j.cond, Val: j.val, SkipTrue: t, SkipFalse: f}
	}
	return p.insts, nil
}

// loadGuardFilter loads guardFilter, like the policy for every thread of
// init (no_new_privs is already set by the policy's loading).
func loadGuardFilter() error {
	insts, err := guardFilter()
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	prog := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		prog[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("seccomp: loading the architecture and terminal filter: %w", errno)
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
