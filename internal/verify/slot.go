package verify

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/sandbox"
)

// maxSlots bounds how many verifications may share a cache directory at once.
const maxSlots = 64

// slot is a work directory of the cache that one verification holds at a
// time. Its trees sit at the same paths run after run, so the go command's
// build and test caches (which key on source paths) hit for unchanged code;
// the trees themselves are extracted afresh every run and removed after it.
type slot struct {
	dir  string
	lock *os.File
}

// acquireSlot takes the first free slot under cacheDir/work.
func acquireSlot(cacheDir string) (*slot, error) {
	root := filepath.Join(cacheDir, "work")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
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
		sandbox.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			f.Close()
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		return &slot{dir: dir, lock: f}, nil
	}
	return nil, errkind.New(errkind.Infra, "all %d work slots of %s are in use; wait for other verifications to finish", maxSlots, root)
}

// release empties the slot and unlocks it.
func (s *slot) release() {
	sandbox.RemoveAll(s.dir)
	s.lock.Close()
}
