package sandbox

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
)

// Limits bound what one extraction may write.
type Limits struct {
	// MaxBytes caps the total size of the files written; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxFiles caps how many entries (files, directories, links) are
	// written; 0 means DefaultMaxFiles.
	MaxFiles int
}

// Defaults of Limits: far above any real repository, far below what
// fills a disk.
const (
	DefaultMaxBytes = 4 << 30
	DefaultMaxFiles = 500_000
)

// ErrUnsafeTree is wrapped by every error about an entry that would leave
// the tree or break its limits: the archive is hostile or broken, not the
// machine.
var ErrUnsafeTree = errors.New("unsafe tree")

// ExtractTar writes the tar stream r into the directory dst (created if
// missing) through an os.Root, so that nothing is ever written outside
// dst: names must be local (no absolute path, no ".."), a symbolic link is
// created only when its target stays inside the tree, nothing is written
// through a link the archive made, file modes are reduced to 0644 or 0755
// and directories to 0755, hard links, devices and other special entries
// are left out, and the total size and entry count are capped.
func ExtractTar(r io.Reader, dst string, lim Limits) error {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
	}
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = DefaultMaxFiles
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()
	x := extractor{root: root, lim: lim, links: map[string]bool{}}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return x.checkLinks()
		}
		if err != nil {
			return err
		}
		if err := x.entry(h, tr); err != nil {
			return err
		}
	}
}

type extractor struct {
	root    *os.Root
	lim     Limits
	written int64
	files   int
	// links are the symbolic links made so far (slash paths): nothing is
	// written at or below them.
	links map[string]bool
}

// checkLinks resolves every link made, through the links of the finished
// tree: one whose resolution leaves the tree (a link to "up/../.." where
// up is itself a link to "..") is removed and refused. A link to nothing
// is kept, as git keeps it. A link whose resolution takes more links than
// os.Root follows (8) is refused too: the kernel follows up to 40, so a
// chain too long for the check (a1 -> ., a2 -> a1, ... a8, up -> a8/..)
// could resolve outside the tree for every program that opens it.
// Every refused link is removed, not only the first.
func (x *extractor) checkLinks() error {
	var first error
	for _, name := range slices.Sorted(maps.Keys(x.links)) {
		_, err := x.root.Stat(name)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			continue
		}
		_ = x.root.Remove(name)
		if first != nil {
			continue
		}
		if errors.Is(err, syscall.ELOOP) {
			first = unsafeTree("refusing link %q: resolving it takes more than 8 links, so it cannot be shown to stay inside the tree", name)
		} else {
			first = unsafeTree("refusing link %q: it resolves outside the tree (%v)", name, err)
		}
	}
	return first
}

func unsafeTree(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsafeTree}, args...)...)
}

func (x *extractor) entry(h *tar.Header, body io.Reader) error {
	switch h.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
		return nil
	}
	name := strings.TrimSuffix(h.Name, "/")
	if strings.HasPrefix(name, "/") || !fs.ValidPath(name) || name == "." || strings.Contains(name, "\\") {
		return unsafeTree("refusing entry %q: not a plain relative path inside the tree", h.Name)
	}
	for p := name; p != "."; p = path.Dir(p) {
		if x.links[p] {
			return unsafeTree("refusing entry %q: %s is a symbolic link and nothing is written through one", h.Name, p)
		}
	}
	x.files++
	if x.files > x.lim.MaxFiles {
		return unsafeTree("more than %d entries", x.lim.MaxFiles)
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return x.root.MkdirAll(name, 0o755)
	case tar.TypeReg, tar.TypeRegA:
		if dir := path.Dir(name); dir != "." {
			if err := x.root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		if fi, err := x.root.Lstat(name); err == nil && !fi.Mode().IsRegular() {
			return unsafeTree("refusing entry %q: the tree already holds a %s there", h.Name, fi.Mode().Type())
		}
		f, err := x.root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		left := x.lim.MaxBytes - x.written
		n, err := io.Copy(f, io.LimitReader(body, left+1))
		x.written += n
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if n > left {
			return unsafeTree("more than %d bytes", x.lim.MaxBytes)
		}
		// OpenFile's mode applies only to a new file (and the umask).
		return x.root.Chmod(name, mode)
	case tar.TypeSymlink:
		target := h.Linkname
		resolved := path.Join(path.Dir(name), target)
		if target == "" || strings.HasPrefix(target, "/") || strings.Contains(target, "\\") || !fs.ValidPath(resolved) {
			return unsafeTree("refusing link %q -> %q: it points outside the tree", h.Name, target)
		}
		if dir := path.Dir(name); dir != "." {
			if err := x.root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		if _, err := x.root.Lstat(name); err == nil {
			return unsafeTree("refusing link %q: the tree already holds an entry of that name", h.Name)
		}
		x.links[name] = true
		return x.root.Symlink(target, name)
	default:
		// Hard links, devices, FIFOs: not part of a source tree.
		return nil
	}
}
