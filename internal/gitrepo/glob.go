package gitrepo

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// Glob lists the regular files in the tree of the commit rev names whose
// slash-separated paths match pattern (see CheckGlob; '*' never crosses a
// '/'), sorted. It reads git objects only, so nothing outside the tree can
// match; a symbolic link or a submodule that matches is an Invalid error
// naming it, for cascade never follows links out of a repository.
func (b *Batch) Glob(rev, pattern string) ([]string, error) {
	if err := CheckGlob(pattern); err != nil {
		return nil, err
	}
	_, tree, err := b.Commit(rev)
	if err != nil {
		return nil, err
	}
	pats := strings.Split(pattern, "/")
	var out []string
	var walk func(tree, dir string, depth int) error
	walk = func(tree, dir string, depth int) error {
		obj, err := b.Read(tree)
		if err != nil {
			return err
		}
		entries, err := ParseTree(obj.Data, len(tree)/2)
		if err != nil {
			return fmt.Errorf("tree %s: %w", tree, err)
		}
		for _, e := range entries {
			if ok, _ := path.Match(pats[depth], e.Name); !ok {
				continue
			}
			p := path.Join(dir, e.Name)
			last := depth == len(pats)-1
			switch {
			case !last && e.IsDir():
				if err := walk(e.ID, p, depth+1); err != nil {
					return err
				}
			case !last && e.Mode == "120000":
				return errkind.New(errkind.Invalid, "%s at %s is a symbolic link on the way to %q; cascade never follows links out of a repository (commit the directory itself)", p, rev, pattern)
			case !last:
			case e.IsFile():
				out = append(out, p)
			case e.IsDir():
			case e.Mode == "120000":
				return errkind.New(errkind.Invalid, "%s at %s matches %q but is a symbolic link; cascade reads only regular files from a repository and never follows links (commit the file itself)", p, rev, pattern)
			default:
				return errkind.New(errkind.Invalid, "%s at %s matches %q but is not a regular file (mode %s)", p, rev, pattern, e.Mode)
			}
		}
		return nil
	}
	if err := walk(tree, "", 0); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}
