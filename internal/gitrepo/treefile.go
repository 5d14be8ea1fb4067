package gitrepo

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// ReadTreeFile reads the regular file at rel (slash-separated, see
// CheckPath) under root, a tree extracted from a repository (or a user's
// checkout), at most max bytes. No symbolic link is followed, neither at
// rel nor on the way to it: a repository may hold links to anything on
// this machine, and cascade reads only what the repository itself holds.
// A missing file is an error wrapping fs.ErrNotExist; a link, a special
// file or a file over max bytes is an Invalid error naming it.
func ReadTreeFile(root, rel string, max int64) ([]byte, error) {
	if err := CheckPath(rel); err != nil {
		return nil, err
	}
	parts := strings.Split(rel, "/")
	p := root
	for i, c := range parts {
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if err != nil {
			if os.IsNotExist(err) {
				return nil, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
			}
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		here := strings.Join(parts[:i+1], "/")
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return nil, errkind.New(errkind.Invalid, "%s is a symbolic link; cascade reads only regular files from a repository and never follows links (commit the file itself)", here)
		case i < len(parts)-1 && !fi.IsDir():
			return nil, fmt.Errorf("%s: %s is not a directory: %w", rel, here, fs.ErrNotExist)
		case i == len(parts)-1 && !fi.Mode().IsRegular():
			return nil, errkind.New(errkind.Invalid, "%s is not a regular file", rel)
		case i == len(parts)-1 && fi.Size() > max:
			return nil, errkind.New(errkind.Invalid, "%s is %d bytes; cascade reads at most %d: %w", rel, fi.Size(), max, ErrTooLarge)
		}
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	if int64(len(data)) > max {
		return nil, errkind.New(errkind.Invalid, "%s is larger than %d bytes: %w", rel, max, ErrTooLarge)
	}
	return data, nil
}
