package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// Default limits of an isolated command.
const (
	// DefaultMemory caps the memory (with its tmpfs /tmp) of all of a
	// command's processes together.
	DefaultMemory = 6 << 30
	// DefaultPids caps how many processes and threads a command may have.
	DefaultPids = 4096
	// DefaultTmpSize caps the private /tmp (and HOME) of a command.
	DefaultTmpSize = 2 << 30
	// DefaultFileSize caps the size of any one file a command writes.
	DefaultFileSize = 1 << 30
	// DefaultDisk caps the disk a command fills in total: what its
	// writable directories (its work tree) grow by, what it writes through
	// overlays, and its /tmp and HOME (see diskWatch).
	DefaultDisk = 8 << 30
	// DefaultInodes caps the files and directories a command makes in
	// total (in its work tree, its overlays and its /tmp).
	DefaultInodes = 1 << 20
)

// diskLimit is the disk cap of commands that set none (SetDiskLimit).
var diskLimit atomic.Int64

// SetDiskLimit sets the disk cap of every command that sets none
// (Cmd.Disk); 0 restores DefaultDisk. The CLI sets it from
// --sandbox-disk.
func SetDiskLimit(n int64) { diskLimit.Store(n) }

// diskCap is the disk cap of c.
func diskCap(c Cmd) int64 {
	if c.Disk > 0 {
		return c.Disk
	}
	return orDefault(diskLimit.Load(), DefaultDisk)
}

// inodeLimit is the cap on files of commands that set none
// (SetInodeLimit).
var inodeLimit atomic.Int64

// SetInodeLimit sets the cap on the files and directories every command
// that sets none (Cmd.Inodes) may make; 0 restores DefaultInodes. The CLI
// sets it from --sandbox-files.
func SetInodeLimit(n int64) { inodeLimit.Store(n) }

// inodeCap is the cap on the files and directories c makes.
func inodeCap(c Cmd) int64 {
	if c.Inodes > 0 {
		return c.Inodes
	}
	return orDefault(inodeLimit.Load(), DefaultInodes)
}

// allowUnsafe runs commands without isolation (--unsafe-sandbox).
var allowUnsafe atomic.Bool

// AllowUnsafe says whether commands run unisolated, with the environment
// filter, process group and timeout only: on a machine that cannot isolate
// them, or where a person chooses so (a test whose flakiness lives
// outside its tree). The CLI sets it from --unsafe-sandbox; every
// Result's Note says so.
func AllowUnsafe(ok bool) { allowUnsafe.Store(ok) }

// UnsafeAllowed reports what AllowUnsafe last set.
func UnsafeAllowed() bool { return allowUnsafe.Load() }

// errNoIsolation wraps the reason a machine cannot isolate commands.
var errNoIsolation = errors.New("cannot isolate commands on this machine")

// ended is how an isolated command ended: its exit status (-1 when it did
// not exit), why it could not start, what the sandbox says about it, and
// whether it went past its disk cap.
type ended struct {
	exit     int
	startErr error
	note     string
	disk     bool
}

// isolate runs a command isolated (runIsolated; the tests replace it to
// play a machine without namespaces).
var isolate = runIsolated

// disabled turns isolation off for this process: the sandbox's own tests
// of the unisolated path use it.
var disabled atomic.Bool

// mountSpec is one path of the host the isolated command sees.
type mountSpec struct {
	Path string `json:"path"`
	// Kind is "ro", "rw", "overlay" (reads from Path, writes kept in
	// Upper and thrown away) or "link" (a symbolic link to Target).
	Kind   string `json:"kind"`
	Target string `json:"target,omitempty"`
	Upper  string `json:"upper,omitempty"`
	Work   string `json:"work,omitempty"`
}

// initConfig is what cascade tells the sandbox's init.
type initConfig struct {
	Root     string      `json:"root"`
	Args     []string    `json:"args"`
	Dir      string      `json:"dir"`
	Env      []string    `json:"env"`
	Home     string      `json:"home"`
	Network  bool        `json:"network"`
	Mounts   []mountSpec `json:"mounts"`
	TmpSize  int64       `json:"tmp_size"`
	FileSize int64       `json:"file_size"`
	// Scratch is where init mounts the tmpfs that holds the overlays'
	// upper and work directories: ScratchSize bytes (the disk cap) and
	// Inodes files at most, so the kernel holds what the command writes
	// through its overlays; /tmp has as many files at most.
	Scratch     string `json:"scratch"`
	ScratchSize int64  `json:"scratch_size"`
	Inodes      int64  `json:"inodes"`
	// Count are the host directories the command writes whose growth
	// init counts (since Since, in Unix nanoseconds) and reports on its
	// status pipe while the command runs and when it has ended.
	Count []string `json:"count"`
	Since int64    `json:"since"`
}

// systemPaths are the parts of the machine every command reads: programs,
// libraries and the configuration they need (users, name resolution,
// certificates, time zones). Everything else of the host (home
// directories, /root, /var, /run, the rest of /etc) is absent.
var systemPaths = []string{
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
	"/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/ssl", "/etc/ca-certificates",
	"/etc/pki", "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/localtime", "/etc/timezone", "/etc/os-release", "/etc/mime.types", "/etc/debian_version",
}

// mountsFor lists what c sees: the system, the directories on PATH (the
// toolchains), c's read-only, overlay and writable directories and its Dir
// (writable unless listed otherwise), each resolved through links, in an
// order where a directory comes before what is mounted inside it.
func mountsFor(c Cmd, env []string, scratch string) ([]mountSpec, error) {
	byPath := map[string]mountSpec{}
	add := func(p, kind string, must bool) error {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			if must {
				return fmt.Errorf("sandbox: %s: %w", p, err)
			}
			return nil
		}
		if !filepath.IsAbs(real) {
			if real, err = filepath.Abs(real); err != nil {
				return err
			}
		}
		// A writable or overlay directory wins over a read-only one.
		if old, ok := byPath[real]; ok && old.Kind != "ro" && kind == "ro" {
			return nil
		}
		byPath[real] = mountSpec{Path: real, Kind: kind}
		return nil
	}
	var links []mountSpec
	for _, p := range systemPaths {
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 && !strings.HasPrefix(p, "/etc/") {
			// /bin -> usr/bin on a merged-/usr system: the same link, to
			// what /usr holds.
			if target, err := os.Readlink(p); err == nil && !filepath.IsAbs(target) {
				links = append(links, mountSpec{Path: p, Kind: "link", Target: target})
				continue
			}
		}
		_ = add(p, "ro", false)
	}
	// The directories on PATH, except those in the user's home: a
	// toolchain installed there is named by the caller (ReadOnly).
	home, _ := os.UserHomeDir()
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, d := range filepath.SplitList(v) {
				if filepath.IsAbs(d) && !within(d, home) {
					_ = add(d, "ro", false)
				}
			}
		}
	}
	for _, p := range c.ReadOnly {
		if err := add(p, "ro", false); err != nil {
			return nil, err
		}
	}
	for _, p := range c.Overlay {
		if err := add(p, "overlay", false); err != nil {
			return nil, err
		}
	}
	// Dir is writable when nothing else is, unless it is behind an
	// overlay: its writes then go through the overlay.
	writable := c.Writable
	if len(writable) == 0 && c.Dir != "" && !insideAny(c.Dir, c.Overlay) {
		writable = []string{c.Dir}
	}
	for _, p := range writable {
		if err := add(p, "rw", true); err != nil {
			return nil, err
		}
	}
	if c.Dir != "" {
		// Dir is seen as it is inside what the caller named (a module in
		// its writable tree); alone, it is read-only.
		real, err := filepath.EvalSymlinks(c.Dir)
		if err != nil {
			return nil, fmt.Errorf("sandbox: %s: %w", c.Dir, err)
		}
		inside := false
		for _, p := range append(append(append([]string(nil), writable...), c.ReadOnly...), c.Overlay...) {
			if rp, err := filepath.EvalSymlinks(p); err == nil && within(real, rp) {
				inside = true
			}
		}
		if !inside {
			if err := add(c.Dir, "ro", true); err != nil {
				return nil, err
			}
		}
	}
	out := links
	for _, m := range byPath {
		if m.Path == "/" || m.Path == "/proc" || m.Path == "/dev" || m.Path == "/tmp" || strings.HasPrefix(m.Path, "/proc/") || strings.HasPrefix(m.Path, "/dev/") {
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	// A read-only directory inside a read-only one is there already.
	kept := out[:0]
	for _, m := range out {
		var parent *mountSpec
		for i := len(kept) - 1; i >= 0; i-- {
			if within(m.Path, kept[i].Path) {
				parent = &kept[i]
				break
			}
		}
		if m.Kind == "ro" && parent != nil && parent.Kind == "ro" {
			continue
		}
		kept = append(kept, m)
	}
	out = kept
	// The upper and work directories are made by init, in the tmpfs it
	// mounts at scratch (initConfig.Scratch): nothing of them is on the
	// host's disk.
	for i := range out {
		if out[i].Kind == "overlay" {
			out[i].Upper = filepath.Join(scratch, fmt.Sprintf("overlay-%d", i), "upper")
			out[i].Work = filepath.Join(scratch, fmt.Sprintf("overlay-%d", i), "work")
		}
	}
	return out, nil
}

// insideAny reports whether p is inside one of dirs, links resolved.
func insideAny(p string, dirs []string) bool {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	for _, d := range dirs {
		if rd, err := filepath.EvalSymlinks(d); err == nil && within(real, rd) {
			return true
		}
	}
	return false
}

// within reports whether p is dir or inside it ("" and "/" hold nothing).
func within(p, dir string) bool {
	if dir == "" || dir == "/" {
		return false
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(rel) || rel == "."
}

// dedupEnv keeps the last value of every variable, in first-seen order.
func dedupEnv(env []string) []string {
	last := map[string]int{}
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		last[k] = i
	}
	var out []string
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if last[k] == i {
			out = append(out, kv)
		}
	}
	return out
}

// orDefault is v, or d when v is not set.
func orDefault[T int64 | int](v, d T) T {
	if v > 0 {
		return v
	}
	return d
}
