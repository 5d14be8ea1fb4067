package sandbox

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// A command's disk is held in two ways.
//
// What it writes through its overlays (the build caches, a tree it may
// change but whose changes are thrown away) and in its /tmp (also its
// HOME) is on tmpfs file systems its init mounts: the overlays' upper
// layers on one of the disk cap's size and the inode cap's files, /tmp on
// one no larger than the cap either. The kernel holds them: a file
// written then removed, a file removed while still open, a directory made
// unreadable, millions of empty files all take room there, and past it
// the command gets ENOSPC. Their pages are memory, charged to the
// command's memory limit too: whichever of the two is reached first ends
// the command (out of disk, or killed by the memory limit: an error
// either way, see runIsolated).
//
// Its writable directories (its work tree, in the phases whose writes
// must stay) are on the host's disk: init counts them (diskMeter), again
// and again while the command runs and once more when it has ended, and
// reports each count on its status pipe; cascade (diskWatch) kills the
// command when a count is past a cap. A count sums the allocated blocks
// of every file whose status changed since the command started (a file
// with several names once; a file it changed counts whole) and the files
// the command's processes hold open after removing them, and counts the
// files and directories; init, root of the command's namespaces, reads
// the directories the command made unreadable. Shared caches a fetch
// phase fills (Cmd.Shared) are not counted. What is written and removed
// between two counts is not seen: see NotIsolated.

// diskUse is one count: the growth of the writable directories (bytes
// and files), what removed but open files there take, and what the
// tmpfs file systems (/tmp and the overlays' upper layers) hold; full
// names the tmpfs file systems found full.
type diskUse struct {
	Tree, TreeFiles int64
	Open            int64
	Tmpfs, TmpFiles int64
	Full            []string
}

// bytes is the disk the count says the command fills.
func (u diskUse) bytes() int64 { return u.Tree + u.Open + u.Tmpfs }

// files is the files and directories the count says it made.
func (u diskUse) files() int64 { return u.TreeFiles + u.TmpFiles }

// String is the line init writes on its status pipe.
func (u diskUse) String() string {
	full := "-"
	if len(u.Full) > 0 {
		full = strings.Join(u.Full, ",")
	}
	return fmt.Sprintf("disk %d %d %d %d %d %s", u.Tree, u.TreeFiles, u.Open, u.Tmpfs, u.TmpFiles, full)
}

// parseDiskUse reads a line made by String (after "disk ").
func parseDiskUse(s string) (diskUse, bool) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return diskUse{}, false
	}
	var n [5]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return diskUse{}, false
		}
		n[i] = v
	}
	u := diskUse{Tree: n[0], TreeFiles: n[1], Open: n[2], Tmpfs: n[3], TmpFiles: n[4]}
	if f[5] != "-" {
		u.Full = strings.Split(f[5], ",")
	}
	return u, true
}

// diskWatch judges the counts init reports against the command's caps.
type diskWatch struct {
	limit, inodes int64
	// dirs are the host directories counted, since when the command
	// started: cascade counts them once more itself when the command has
	// ended, in case init could not.
	dirs  []string
	since time.Time

	mu   sync.Mutex
	over atomic.Bool
	// peak is the largest count seen (by bytes), peakFiles the most
	// files; full names the tmpfs file systems found full.
	peak      int64
	peakFiles int64
	full      []string
}

// newDiskWatch watches the directories a command is about to write on
// the host, except the shared ones.
func newDiskWatch(limit, inodes int64, mounts []mountSpec, shared []string) *diskWatch {
	w := &diskWatch{limit: limit, inodes: inodes, since: fileClock()}
	skip := map[string]bool{}
	for _, p := range shared {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			skip[real] = true
		}
	}
	for _, m := range mounts {
		if m.Kind == "rw" && !skip[m.Path] {
			w.dirs = append(w.dirs, m.Path)
		}
	}
	return w
}

// report takes one count and reports whether the command is past a cap.
func (w *diskWatch) report(u diskUse) bool {
	w.mu.Lock()
	w.peak = max(w.peak, u.bytes())
	w.peakFiles = max(w.peakFiles, u.files())
	for _, f := range u.Full {
		if !contains(w.full, f) {
			w.full = append(w.full, f)
		}
	}
	w.mu.Unlock()
	if u.bytes() > w.limit || u.files() > w.inodes || len(u.Full) > 0 {
		w.over.Store(true)
	}
	return w.over.Load()
}

// final judges the command once it has ended: last is init's last count,
// made after the command ended when ended is set. Otherwise (init was
// killed before it could count) cascade counts the writable directories
// itself.
func (w *diskWatch) final(last diskUse, ended bool) bool {
	if !ended {
		b, n, whole := usage(w.dirs, w.since)
		last.Tree, last.TreeFiles, last.Open = max(last.Tree, b), max(last.TreeFiles, n), 0
		if !whole {
			last.Full = append(last.Full, "tree")
		}
	}
	return w.report(last)
}

// note says how the command went past its cap.
func (w *diskWatch) note() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.peak > w.limit:
		return fmt.Sprintf("killed: the command filled %d MiB of disk (its work tree, overlays and /tmp), more than its disk cap of %d MiB (--sandbox-disk)", w.peak>>20, w.limit>>20)
	case w.peakFiles > w.inodes:
		return fmt.Sprintf("killed: the command made %d files and directories on disk (in its work tree, overlays and /tmp), more than its cap of %d (--sandbox-files)", w.peakFiles, w.inodes)
	case contains(w.full, "tree"):
		return fmt.Sprintf("killed: part of the command's work tree could not be read to count it, and a count that is not whole is taken as past the disk cap of %d MiB (--sandbox-disk)", w.limit>>20)
	default:
		what := []string{}
		for _, f := range w.full {
			switch f {
			case "tmp":
				what = append(what, "its /tmp")
			case "overlays":
				what = append(what, "the tmpfs that holds what it writes through overlays")
			}
		}
		return fmt.Sprintf("out of disk: the command filled %s (disk cap %d MiB, --sandbox-disk; %d files and directories, --sandbox-files)", strings.Join(what, " and "), w.limit>>20, w.inodes)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// diskMeter counts, in init, what the command fills: see diskUse.
type diskMeter struct {
	dirs  []string
	since time.Time
	// devs are the devices of dirs: a removed file still open counts when
	// it is on one of them.
	devs map[uint64]bool
	// tmpfs are the command's tmpfs file systems by name, opened before
	// the root was changed, with the size each was given.
	tmpfs []meteredFS
}

type meteredFS struct {
	name string
	f    *os.File
	size int64
}

func newDiskMeter(cfg initConfig, tmp, scratch *os.File) *diskMeter {
	m := &diskMeter{dirs: cfg.Count, since: time.Unix(0, cfg.Since), devs: map[uint64]bool{}}
	for _, d := range cfg.Count {
		var st unix.Stat_t
		if unix.Stat(d, &st) == nil {
			m.devs[uint64(st.Dev)] = true
		}
	}
	if tmp != nil {
		m.tmpfs = append(m.tmpfs, meteredFS{"tmp", tmp, cfg.TmpSize})
	}
	if scratch != nil {
		m.tmpfs = append(m.tmpfs, meteredFS{"overlays", scratch, cfg.ScratchSize})
	}
	return m
}

// tmpSlack is how close to full (in bytes, or files) a tmpfs counts as
// filled up.
const tmpSlack = 1 << 20

// measure counts once; open says whether to count removed open files
// (while the command's processes live).
func (m *diskMeter) measure(open bool) diskUse {
	var u diskUse
	var whole bool
	u.Tree, u.TreeFiles, whole = usage(m.dirs, m.since)
	if !whole {
		u.Full = append(u.Full, "tree")
	}
	if open {
		u.Open = openRemoved(m.devs)
	}
	for _, t := range m.tmpfs {
		var st unix.Statfs_t
		if unix.Fstatfs(int(t.f.Fd()), &st) != nil {
			continue
		}
		used := int64(st.Blocks-st.Bfree) * st.Bsize
		u.Tmpfs += used
		u.TmpFiles += int64(st.Files - st.Ffree)
		if used > t.size-tmpSlack || st.Ffree == 0 {
			u.Full = append(u.Full, t.name)
		}
	}
	return u
}

// usage is the disk the files under dirs whose status changed at or
// after since take (allocated blocks, links not followed, a file with
// several names counted once), and how many there are (directories
// included). It walks relative to open directories (openat, fstatat), so
// a path longer than PATH_MAX is counted like any other. whole is false
// when part of the tree could not be read (anything but a file removed
// while it was walked): the count is then no bound, and the caller takes
// it as past the cap.
func usage(dirs []string, since time.Time) (total, files int64, whole bool) {
	c := treeCounter{seen: map[inode]bool{}, after: since.UnixNano()}
	whole = true
	for _, d := range dirs {
		var st unix.Stat_t
		switch err := unix.Lstat(d, &st); {
		case err == unix.ENOENT:
			continue
		case err != nil:
			whole = false
			continue
		}
		c.count(&st)
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if err != unix.ENOENT {
				whole = false
			}
			continue
		}
		if err := c.dir(fd); err != nil {
			whole = false
		}
	}
	return c.total, c.files, whole
}

type inode struct{ dev, ino uint64 }

type treeCounter struct {
	seen         map[inode]bool
	after        int64
	total, files int64
}

func (c *treeCounter) count(st *unix.Stat_t) {
	if st.Ctim.Nano() < c.after {
		return
	}
	if st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		k := inode{uint64(st.Dev), st.Ino}
		if c.seen[k] {
			return
		}
		c.seen[k] = true
	}
	c.files++
	c.total += st.Blocks * 512
}

// dir counts what the open directory fd holds, and closes it.
func (c *treeCounter) dir(fd int) error {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	for {
		names, err := f.Readdirnames(1024)
		for _, name := range names {
			var st unix.Stat_t
			switch err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); {
			case err == unix.ENOENT:
				continue
			case err != nil:
				return err
			}
			c.count(&st)
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				continue
			}
			sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == unix.ENOENT {
				continue
			}
			if err != nil {
				return err
			}
			if err := c.dir(sub); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// openRemoved is what the files on devs that every process of /proc holds
// open or mapped after they were removed take: their blocks stay used
// until the last is closed and unmapped. (init reads the mappings of the
// command's processes through /proc/PID/map_files, which needs the
// capabilities it keeps.)
func openRemoved(devs map[uint64]bool) int64 {
	if len(devs) == 0 {
		return 0
	}
	seen := map[inode]bool{}
	var total int64
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		// What it holds open, and what it has mapped (a file mapped,
		// closed and removed keeps its blocks while the mapping lives).
		for _, sub := range []string{"/fd", "/map_files"} {
			dir := "/proc/" + p.Name() + sub
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				var st unix.Stat_t
				if unix.Stat(dir+"/"+e.Name(), &st) != nil || st.Nlink != 0 || st.Mode&unix.S_IFMT != unix.S_IFREG || !devs[uint64(st.Dev)] {
					continue
				}
				k := inode{uint64(st.Dev), st.Ino}
				if !seen[k] {
					seen[k] = true
					total += st.Blocks * 512
				}
			}
		}
	}
	return total
}

// fileClock is the time as the kernel stamps files: its coarse clock,
// which may lag the precise one by a tick. A file the command changes is
// stamped at or after it; a file changed in the same tick before is
// counted too, which errs on the side of the cap.
func fileClock() time.Time {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &ts) != nil {
		return time.Now().Add(-time.Second)
	}
	return time.Unix(ts.Unix())
}
