package gomod

import (
	"path"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"

	"github.com/cascade-dev/cascade/internal/gitrepo"
)

// PathAt is the module path of module known (found in dir of a repo's
// default branch) in root, another tree of the repo such as a candidate:
// the path root's go.mod in dir declares when it is known's path at
// another major version (example.com/m moved to example.com/m/v2, as a
// major release needs), else known. A candidate that moves to a new major
// path is served and put in place under that path; the go command refuses
// it under the old one.
func PathAt(root, dir, known string) string {
	data, err := gitrepo.ReadTreeFile(root, path.Join(dir, FileName), gitrepo.MaxManifest)
	if err != nil {
		return known
	}
	declared := modfile.ModulePath(data)
	if declared == "" || declared == known {
		return known
	}
	return SameModule(known, declared)
}

// SameModule returns other when it is the path of module known at another
// major version ("/vN" suffixes aside, the same path), else known.
func SameModule(known, other string) string {
	kp, _, ok1 := module.SplitPathVersion(known)
	op, om, ok2 := module.SplitPathVersion(other)
	if !ok1 || !ok2 || kp != op || (om != "" && om[0] != '/') || module.CheckPath(other) != nil {
		return known
	}
	return other
}
