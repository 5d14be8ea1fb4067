package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxTreeFile caps what ReadTreeFile reads: manifests and test reports
// are far smaller.
const MaxTreeFile = 64 << 20

// OpenTreeFile opens the file rel inside the directory dir for reading,
// as cascade reads what a repo or a command left in a tree: through an
// os.Root, so that no link leads outside dir; without blocking, so that
// a named pipe put there does not hang cascade; and only if it is a
// regular file (not a pipe, a socket or a device).
func OpenTreeFile(dir, rel string) (*os.File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if err := regular(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadTreeFile reads the file rel inside dir as OpenTreeFile opens it; a
// file larger than max bytes (MaxTreeFile when max is 0) is an error.
func ReadTreeFile(dir, rel string, max int64) ([]byte, error) {
	if max <= 0 {
		max = MaxTreeFile
	}
	f, err := OpenTreeFile(dir, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", f.Name(), max)
	}
	return data, nil
}

// WriteTreeFile replaces the content of the existing regular file rel
// inside dir, through an os.Root, keeping its mode.
func WriteTreeFile(dir, rel string, data []byte) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := root.OpenFile(rel, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	if err := regular(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ErrNotRegular is wrapped by the errors of OpenTreeFile and
// WriteTreeFile for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

func regular(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (%s)", f.Name(), ErrNotRegular, fi.Mode().Type())
	}
	return nil
}
