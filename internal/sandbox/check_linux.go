package sandbox

import (
	"context"
	"fmt"
	"os"
	"strings"

	seccomp "github.com/elastic/go-seccomp-bpf"
)

// Feature is one protection of the sandbox and whether this machine has it.
type Feature struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Required features are those without which cascade refuses to run
	// untrusted code (unless --unsafe-sandbox).
	Required bool   `json:"required"`
	Detail   string `json:"detail"`
}

// Check says which protections this machine gives isolated commands, by
// trying them: it runs `true` isolated, makes and removes a control group,
// and asks the kernel for seccomp and Landlock.
func Check(ctx context.Context) []Feature {
	var fs []Feature
	res, err := Run(ctx, Cmd{Args: []string{"true"}})
	iso := Feature{Name: "namespaces", Required: true,
		Detail: "pid (the command is its init's child, in a session of its own with no terminal and no descriptor of cascade's beyond stdout and stderr; /proc shows only its processes; all die with it, and with cascade, even killed with SIGKILL), mount (read-only system, only its own tree writable, private /tmp and HOME), network (its own loopback only, unless a fetch phase or a step with network: true), IPC, UTS"}
	switch {
	case err != nil:
		iso.Detail = err.Error()
	case res.StartErr != nil:
		iso.Detail = res.StartErr.Error()
	case !res.OK():
		iso.Detail = fmt.Sprintf("an isolated `true` exited %d: %s", res.ExitCode, strings.TrimSpace(res.Output))
	default:
		iso.OK = true
	}
	if os.Geteuid() != 0 {
		iso.Detail += "; as a user: through a user namespace"
	}
	fs = append(fs, iso)
	disk := diskCap(Cmd{})
	tmp := min(int64(DefaultTmpSize), disk)
	fileSize := min(int64(DefaultFileSize), disk)
	files := inodeCap(Cmd{})
	cg, err := newCgroup(DefaultMemory, DefaultPids)
	lim := Feature{Name: "limits", OK: err == nil}
	switch {
	case err != nil:
		lim.Detail = fmt.Sprintf("no memory or process limit (%v); file size (%d MiB) and /tmp size (%d MiB) still capped, wall time by --timeout; what /tmp and the overlays hold is memory, bounded only by their sizes", err, fileSize>>20, tmp>>20)
	case cg.v2:
		lim.Detail = fmt.Sprintf("cgroup v2: memory %d MiB (what /tmp and the overlays hold included), %d processes; file size %d MiB, /tmp %d MiB", DefaultMemory>>20, DefaultPids, fileSize>>20, tmp>>20)
	default:
		lim.Detail = fmt.Sprintf("cgroup v1 (memory, pids): memory %d MiB (what /tmp and the overlays hold included), %d processes; file size %d MiB, /tmp %d MiB", DefaultMemory>>20, DefaultPids, fileSize>>20, tmp>>20)
	}
	cg.remove()
	fs = append(fs, lim)
	fs = append(fs, Feature{Name: "disk", OK: iso.OK, Required: true,
		Detail: fmt.Sprintf("%d MiB and %d files and directories per command in total (--sandbox-disk, --sandbox-files). Held by the kernel: what it writes through overlays (the build caches) is in a tmpfs of %d MiB and its /tmp and HOME in one of %d MiB (%d files each; memory, counted against the memory limit too). Counted: what its work tree grows by (its writes there stay: a retried test runs in the tree the last attempt wrote to, a build's output is the test's input), removed files it holds open or mapped and directories it made unreadable included, at any depth, by its init while it runs and when it ends. Past a cap, a tmpfs full at a count or at its end, or a tree it could not read whole, it is killed or not judged: an error, never a pass", disk>>20, files, disk>>20, tmp>>20, files)})
	sc := Feature{Name: "seccomp", Required: true, OK: seccomp.Supported()}
	if sc.OK {
		sc.Detail = "denied: " + strings.Join(deniedSyscalls, ", ") + ", clone with a namespace flag, ioctl TIOCSTI and TIOCLINUX; socket(AF_VSOCK) answers EAFNOSUPPORT; fallocate in any mode but the plain one (FALLOC_FL_KEEP_SIZE would allocate past the file-size limit) answers EOPNOTSUPP; clone3 answers ENOSYS (C libraries fall back to clone); a call through another architecture's entry (i386 int $0x80) or with the x32 bit kills the command"
	} else {
		sc.Detail = "the kernel has no seccomp filters"
	}
	fs = append(fs, sc)
	ll := Feature{Name: "landlock"}
	if abi := landlockABI(); abi > 0 {
		ll.OK, ll.Detail = true, fmt.Sprintf("ABI %d: writes only in the command's own directories", abi)
	} else {
		ll.Detail = "the kernel has no Landlock; the read-only mounts alone keep the rest of the view unwritable"
	}
	fs = append(fs, ll)
	ov := Feature{Name: "overlay", Required: true}
	if data, _ := os.ReadFile("/proc/filesystems"); strings.Contains(string(data), "\toverlay\n") {
		ov.OK, ov.Detail = true, "build caches are seen through an overlay: a command's writes to them are thrown away"
	} else {
		ov.Detail = "no overlayfs: build caches cannot be shared safely"
	}
	fs = append(fs, ov)
	return fs
}

// NotIsolated says what the sandbox leaves open, on any machine: the
// counterpart of Check, for `cascade sandbox check` and the README.
func NotIsolated() []string {
	return []string{
		"the fetch phase (go list -deps -test -export; npm install --ignore-scripts, with npm's settings that name a program (git, the shells, node-gyp, editor, browser, viewer) set by cascade over the repo's .npmrc: install scripts run afterwards, offline) and steps with network: true have the host's network, the host's 127.0.0.1 included, and write the shared module and build caches",
		"CPU time is limited only by --timeout; the kernel is shared (the system calls left allowed are its attack surface); the system view (/usr, a few files of /etc) is readable",
		"disk, in the work tree (on the host's disk, counted at least 250 ms apart: eight times what the last count took): what is written there and removed between two counts is not seen, and what is written before the count that finds the cap passed is on the disk until the command is killed; no file is larger than the cap (nor 1 GiB), nor holds more blocks than that (fallocate may not allocate past a file's end); a removed file referenced only by a descriptor in flight in a unix socket message is not counted (freed when the command ends)",
		"disk, in /tmp and through overlays: a tmpfs of the cap's size each (/tmp 2 GiB at most), in memory; their sum is held against the cap at each count and at the end; whichever of the disk cap and the memory limit is reached first ends the command; one that met ENOSPC there, removed what it wrote and exited 0 is judged by its exit status (nothing went past the cap); /dev/shm (64 MiB) is held by its size and the memory limit only",
		"disk: what the fetch phase and npm install write to the shared module, build and npm caches is not counted",
		"a test's results are what the test binary prints: a Go test's own code (or the code it tests) can print the framed result lines go test -json reads (\\x16--- PASS, \\x16PASS) and exit 0 without testing's exit path, reporting a pass for itself; the verdict then rests on its exit status and the frames it printed (an npm runner's reports likewise)",
		"cascade semver reads the Go API with the go command outside the sandbox (it runs none of the repo's code)",
		"with --unsafe-sandbox (or where cascade cannot isolate and it is given), commands run with the environment filter, process group, timeout and no descriptor of cascade's beyond stdin, stdout and stderr only (no disk cap, no memory limit), and reports say so",
	}
}
