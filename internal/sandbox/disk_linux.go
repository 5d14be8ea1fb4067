package sandbox

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// diskWatch keeps a command inside its disk cap. The command's /tmp (also
// its HOME) is a tmpfs no larger than the cap, so it can never hold more;
// its writable directories (its work tree) and the upper layers of its
// overlays are on the host's disk, where only a count can bound them:
// diskWatch sums what the files the command made or changed there take
// (allocated blocks of every file whose status changed since the command
// started, a file with several names once; a file it changed counts
// whole), again and again while it runs and once more when it has ended.
// When that plus what its /tmp holds passes the cap, the command is
// killed; a command found past the cap only at its end (it wrote and
// ended between two counts) is judged the same way: the cap does not
// depend on when the counts fall. Shared caches a fetch phase fills
// (Cmd.Shared) are not counted.
type diskWatch struct {
	limit int64
	// dirs are the host directories counted, since when the command
	// started.
	dirs  []string
	since time.Time
	// tmp reads how much the command's /tmp holds (0 before it exists);
	// tmpSize is how much it can hold: a /tmp filled up is past the cap
	// too (the command was out of disk).
	tmp     func() int64
	tmpSize int64

	mu   sync.Mutex
	over atomic.Bool
	// peak is the largest total seen, what the report names; tmpFull is
	// set when the command's /tmp filled up.
	peak    int64
	tmpFull bool
}

// newDiskWatch watches the directories a command is about to write on
// the host, except the shared ones.
func newDiskWatch(limit, tmpSize int64, mounts []mountSpec, shared []string) *diskWatch {
	w := &diskWatch{limit: limit, tmpSize: tmpSize, tmp: func() int64 { return 0 }, since: fileClock()}
	skip := map[string]bool{}
	for _, p := range shared {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			skip[real] = true
		}
	}
	for _, m := range mounts {
		switch {
		case m.Kind == "rw" && !skip[m.Path]:
			w.dirs = append(w.dirs, m.Path)
		case m.Kind == "overlay":
			w.dirs = append(w.dirs, m.Upper)
		}
	}
	return w
}

// check counts once and reports whether the command is past its cap.
// tmpUsed, when not negative, is what its /tmp held at the end (the
// command's init says).
func (w *diskWatch) check(tmpUsed int64) bool {
	if tmpUsed < 0 {
		tmpUsed = w.tmp()
	}
	total := usage(w.dirs, w.since) + tmpUsed
	full := tmpUsed > w.tmpSize-tmpSlack
	w.mu.Lock()
	w.peak = max(w.peak, total)
	w.tmpFull = w.tmpFull || full
	w.mu.Unlock()
	if total > w.limit || full {
		w.over.Store(true)
	}
	return w.over.Load()
}

// run counts until done is closed, and calls kill when the command is
// past its cap. A count costs a walk of the directories: the pause after
// one is eight times what it took (at least a quarter of a second), so
// that counting takes at most about a ninth of one core.
func (w *diskWatch) run(done <-chan struct{}, kill func()) {
	pause := 250 * time.Millisecond
	for {
		select {
		case <-done:
			return
		case <-time.After(pause):
		}
		start := time.Now()
		if w.check(-1) {
			kill()
			return
		}
		pause = max(250*time.Millisecond, 8*time.Since(start))
	}
}

// tmpSlack is how close to full a /tmp counts as filled up.
const tmpSlack = 1 << 20

// note says how the command went past its cap.
func (w *diskWatch) note() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.peak <= w.limit && w.tmpFull {
		return fmt.Sprintf("out of disk: the command filled its /tmp (%d MiB)", w.tmpSize>>20)
	}
	return fmt.Sprintf("killed: the command filled %d MiB of disk (its work tree, overlays and /tmp), more than its disk cap of %d MiB (--sandbox-disk)", w.peak>>20, w.limit>>20)
}

// usage is the disk the files under dirs whose status changed at or
// after since take: allocated blocks, links not followed, a file with
// several names counted once. What cannot be read (a directory the
// command made unreadable) counts as nothing: the cap is then the tmpfs's
// and the file-size limit's.
func usage(dirs []string, since time.Time) int64 {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	after := since.UnixNano()
	var total int64
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			fi, err := e.Info()
			if err != nil {
				return nil
			}
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok || st.Ctim.Nano() < after {
				return nil
			}
			if st.Nlink > 1 && !fi.IsDir() {
				k := inode{uint64(st.Dev), st.Ino}
				if seen[k] {
					return nil
				}
				seen[k] = true
			}
			total += st.Blocks * 512
			return nil
		})
	}
	return total
}

// tmpfsUsed is what the tmpfs at path holds; -1 when path is no tmpfs
// (the command's root is not in place yet, or is gone).
func tmpfsUsed(path string) int64 {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil || st.Type != unix.TMPFS_MAGIC {
		return -1
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize
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
