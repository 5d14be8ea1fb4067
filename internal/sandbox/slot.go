package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// maxSlots bounds how many runs of one kind may share a cache directory at once.
const maxSlots = 64

// Slot is a work directory of the cache that one command holds at a time.
// Its trees sit at the same paths run after run, so the go command's build
// and test caches (which key on source paths) hit for unchanged code; the
// trees themselves are extracted afresh every run and removed after it.
type Slot struct {
	Dir  string
	lock *os.File
}

// AcquireSlot takes the first free slot under cacheDir/work/kind. The
// first call of a run also removes what killed runs left behind: the
// trees of every slot no run holds, their commands' temp dirs and
// control groups.
func AcquireSlot(cacheDir, kind string) (*Slot, error) {
	root := filepath.Join(cacheDir, "work", kind)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	sweepOnce.Do(sweepLeftovers)
	if _, done := sweptSlots.LoadOrStore(root, true); !done {
		sweepSlots(root)
	}
	for i := range maxSlots {
		dir := filepath.Join(root, fmt.Sprintf("slot-%d", i))
		f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		// A run that was killed may have left its trees behind.
		removeAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			f.Close()
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		return &Slot{Dir: dir, lock: f}, nil
	}
	return nil, errkind.New(errkind.Infra, "all %d work slots of %s are in use; wait for other runs to finish", maxSlots, root)
}

// Release empties the slot and unlocks it.
func (s *Slot) Release() {
	removeAll(s.Dir)
	s.lock.Close()
}

// sweptSlots are the slot directories this run has swept.
var sweptSlots sync.Map

// sweepSlots empties every slot under root that no run holds: a run that
// was killed left its trees there.
func sweepSlots(root string) {
	locks, _ := filepath.Glob(filepath.Join(root, "slot-*.lock"))
	for _, l := range locks {
		f, err := os.OpenFile(l, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			removeAll(strings.TrimSuffix(l, ".lock"))
		}
		f.Close()
	}
}
