package verify

import (
	"context"
	"fmt"

	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/cascade-dev/cascade/internal/ecosystems"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/scan"
)

// Member is one ref of the change set: the upstream candidate or a --with ref.
type Member struct {
	Repo   string `json:"repo"`
	Ref    string `json:"ref"`
	Commit string `json:"commit"`
	// Dir is set for a local directory candidate (uncommitted work).
	Dir string `json:"dir,omitempty"`
	// Digest identifies the content: the commit id, or a hash of the
	// directory's files.
	Digest string `json:"-"`
	node   int
	// snapshot is cascade's copy of Dir, taken once: what every job
	// builds and hashes, whatever happens to Dir meanwhile.
	snapshot string
}

// SplitRef splits "REPO@REF" at its last '@' (an npm scope's leading '@'
// is part of the name).
func SplitRef(s string) (repo, ref string) {
	if i := strings.LastIndex(s, "@"); i > 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func isLocalDir(ref, base string) bool {
	if strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "~") {
		return true
	}
	if base == "" {
		// No directory to look in (a server's request): a ref is a
		// git ref, and git refuses one holding "..".
		return false
	}
	fi, err := os.Stat(filepath.Join(base, ref))
	return err == nil && fi.IsDir() && strings.ContainsRune(ref, os.PathSeparator)
}

// ResolveChangeSet resolves the upstream "REPO[@REF]" and the "REPO@REF"
// refs that ship with it against the workspace, upstream first: an
// unknown repo, a ref the repo does not have, a --with ref without @REF or
// a repo named twice is an error. base is where relative local-directory
// refs are resolved; with base "" no ref may name a directory (a server's
// requests).
func ResolveChangeSet(ctx context.Context, g *graph.Workspace, upstream string, with []string, base string) ([]Member, error) {
	up, err := resolveMember(ctx, g, upstream, base)
	if err != nil {
		return nil, err
	}
	members := []Member{up}
	for _, w := range with {
		if _, ref := SplitRef(w); ref == "" {
			return nil, errkind.New(errkind.Invalid, "--with %s names no ref: a change set ships a branch, tag, commit or directory of each repo (--with %s@REF)", w, strings.TrimSuffix(w, "@"))
		}
		m, err := resolveMember(ctx, g, w, base)
		if err != nil {
			return nil, err
		}
		for _, prev := range members {
			if prev.Repo == m.Repo {
				return nil, errkind.New(errkind.Invalid, "repo %s is in the change set twice (%s and %s); keep one ref per repo", m.Repo, prev.Ref, m.Ref)
			}
		}
		members = append(members, m)
	}
	return members, nil
}

// resolveMember resolves "REPO[@REF]" against the workspace.
func resolveMember(ctx context.Context, g *graph.Workspace, arg, base string) (Member, error) {
	if strings.HasSuffix(arg, "@") {
		return Member{}, errkind.New(errkind.Invalid, "%q names no ref after @: give a branch, tag, commit or directory (REPO@REF), or leave out the @ for the default branch", arg)
	}
	name, ref := SplitRef(arg)
	i, err := g.Lookup(name)
	if err != nil {
		return Member{}, err
	}
	r := g.Repos[i]
	m := Member{Repo: r.Name, Ref: ref, node: i}
	if ref == "" {
		if r.Commit == "" {
			return m, errkind.New(errkind.Invalid, "repo %s has no commits to verify", r.Name)
		}
		m.Ref, m.Commit, m.Digest = r.Branch, r.Commit, r.Commit
		return m, nil
	}
	if isLocalDir(ref, base) {
		if base == "" {
			// A server verifies the workspace's repos at their branches,
			// tags and commits, never a directory on its own disk.
			return m, errkind.New(errkind.Invalid, "%s@%s names a directory; give a branch, tag or commit of %s", r.Name, ref, r.Name)
		}
		dir := ref
		if strings.HasPrefix(dir, "~/") {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, dir[2:])
		} else if !filepath.IsAbs(dir) {
			dir = filepath.Join(base, dir)
		}
		if err := checkLocalDir(dir, r.Name, r.Modules); err != nil {
			return m, err
		}
		m.Dir, m.Commit = dir, ""
		return m, nil
	}
	resolve := func() (string, error) {
		c, err := r.Git.Resolve(ctx, ref)
		if err == nil && gitrepoID(ref) {
			// A full commit id resolves without looking: make sure the
			// repo has that commit.
			if _, cerr := r.Git.Resolve(ctx, ref+"^{commit}"); cerr != nil {
				return "", cerr
			}
		}
		return c, err
	}
	commit, err := resolve()
	if err != nil && errkind.Of(err) == errkind.NotFound && r.URL != "" {
		if ferr := r.Git.Fetch(ctx); ferr != nil {
			return m, ferr
		}
		commit, err = resolve()
	}
	if err != nil {
		if errkind.Of(err) == errkind.NotFound {
			return m, errkind.New(errkind.Invalid, "repo %s has no branch, tag or commit %q; check the name (`git -C %s branch -a`)", r.Name, ref, r.Git.Dir())
		}
		return m, err
	}
	// Refused before anything reads the tree: a manifest over the limit
	// would be read whole by whatever builds it.
	if err := r.Git.CheckManifests(ctx, commit); err != nil {
		return m, fmt.Errorf("%s@%s: %w", r.Name, ref, err)
	}
	m.Commit, m.Digest = commit, commit
	if gitrepoID(ref) {
		m.Ref = ref[:12] // a commit id: short enough to read
	}
	return m, nil
}

func gitrepoID(s string) bool { return len(s) >= 40 && strings.Trim(s, "0123456789abcdef") == "" }

// checkLocalDir makes sure a directory candidate holds one of the repo's
// modules, so that a typo cannot verify the wrong code.
func checkLocalDir(dir, repo string, mods []scan.Module) error {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return errkind.New(errkind.Invalid, "%s is not a directory", dir)
	}
	var names []string
	for _, m := range mods {
		names = append(names, m.Name)
		if ecosystems.Holds(dir, m) {
			return nil
		}
	}
	return errkind.New(errkind.Invalid, "%s is not a checkout of %s: it holds none of its modules (%s) where the repo has them",
		dir, repo, strings.Join(names, ", "))
}

// hashDir hashes the names and contents of the regular files under dir
// (a snapshot: cascade's own copy, without links).
func hashDir(dir string) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return dirhash.Hash1(files, func(name string) (io.ReadCloser, error) {
		return os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	})
}
