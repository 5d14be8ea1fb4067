package gitrepo

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// Repo is one git repository: a work tree with its .git directory, or a bare
// repository (a mirror).
type Repo struct {
	// GitDir is the repository's own git directory (per worktree).
	GitDir string
	// CommonDir holds refs and objects; it equals GitDir except in linked worktrees.
	CommonDir string
	// WorkDir is the work tree, or "" for a bare repository.
	WorkDir string
}

// ErrNotRepo is returned by Open for a directory that is not a git repository.
var ErrNotRepo = errors.New("not a git repository")

// Open opens the repository at path: a work tree (with a .git directory or
// a .git file pointing at one) or a bare repository.
func Open(path string) (*Repo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, errkind.New(errkind.NotFound, "%s does not exist", abs)
		}
		return nil, err
	}
	if !fi.IsDir() {
		return nil, errkind.Wrap(errkind.Invalid, fmt.Errorf("%s: %w (it is a file)", abs, ErrNotRepo))
	}
	dotgit := filepath.Join(abs, ".git")
	if fi, err := os.Stat(dotgit); err == nil {
		if fi.IsDir() {
			return &Repo{GitDir: dotgit, CommonDir: dotgit, WorkDir: abs}, nil
		}
		data, err := os.ReadFile(dotgit)
		if err != nil {
			return nil, err
		}
		line := strings.TrimSpace(string(data))
		if gd, ok := strings.CutPrefix(line, "gitdir: "); ok {
			if !filepath.IsAbs(gd) {
				gd = filepath.Join(abs, gd)
			}
			return &Repo{GitDir: gd, CommonDir: commonDir(gd), WorkDir: abs}, nil
		}
		return nil, errkind.Wrap(errkind.Invalid, fmt.Errorf("%s: %w (unreadable .git file)", abs, ErrNotRepo))
	}
	if isBare(abs) {
		return &Repo{GitDir: abs, CommonDir: commonDir(abs)}, nil
	}
	return nil, errkind.Wrap(errkind.Invalid, fmt.Errorf("%s: %w", abs, ErrNotRepo))
}

// IsRepo reports whether dir is the top of a git work tree or a bare repository.
func IsRepo(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return true
	}
	return isBare(dir)
}

func isBare(dir string) bool {
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

func commonDir(gitDir string) string {
	data, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir
	}
	cd := strings.TrimSpace(string(data))
	if !filepath.IsAbs(cd) {
		cd = filepath.Join(gitDir, cd)
	}
	return filepath.Clean(cd)
}

// Dir is where git commands for this repository run.
func (r *Repo) Dir() string {
	if r.WorkDir != "" {
		return r.WorkDir
	}
	return r.GitDir
}

// git runs a git command in the repository (see newCommand) and returns
// its trimmed stdout.
func (r *Repo) git(ctx context.Context, sub string, opts, operands []string) (string, error) {
	out, err := git(ctx, r.Dir(), nil, sub, opts, operands)
	return strings.TrimSpace(string(out)), err
}

var hexID = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// IsCommitID reports whether s is a full hexadecimal object id.
func IsCommitID(s string) bool { return hexID.MatchString(s) }

// Resolve returns the commit id that ref names: a full ref name, a branch,
// a tag, HEAD or a commit id (full or abbreviated), optionally with parent
// or ancestor suffixes (see CheckRev). A ref CheckRev refuses is an Invalid
// error naming the reason; an unknown ref is a NotFound error.
func (r *Repo) Resolve(ctx context.Context, ref string) (string, error) {
	if err := CheckRev(ref); err != nil {
		return "", err
	}
	if id, ok := r.resolveFast(ref); ok {
		return id, nil
	}
	out, err := git(ctx, r.Dir(), nil, "rev-parse", []string{"--verify", "--quiet"}, []string{ref + "^{commit}"})
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && len(out) == 0 {
			return "", errkind.New(errkind.NotFound, "unknown ref %q in %s", ref, r.Dir())
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// resolveFast resolves HEAD and full refs/heads/ names by reading git's ref
// files, without running git. It declines (ok=false) anything else. ref has
// passed CheckRev, so it holds no ".." and no component starting with '.'.
func (r *Repo) resolveFast(ref string) (string, bool) {
	if IsCommitID(ref) {
		return ref, true
	}
	name := ref
	for range 5 { // follow a few symbolic refs
		var data []byte
		var err error
		if name == "HEAD" {
			data, err = os.ReadFile(filepath.Join(r.GitDir, "HEAD"))
		} else if strings.HasPrefix(name, "refs/heads/") && CheckRefName(name) == nil {
			// A name git would refuse ("refs/heads/../../HEAD") is never
			// read from .git: git, which refuses it, has the last word.
			data, err = os.ReadFile(filepath.Join(r.CommonDir, filepath.FromSlash(name)))
			if os.IsNotExist(err) {
				return r.packedRef(name)
			}
		} else {
			return "", false
		}
		if err != nil {
			return "", false
		}
		line := strings.TrimSpace(string(data))
		if target, ok := strings.CutPrefix(line, "ref: "); ok {
			name = target
			continue
		}
		if IsCommitID(line) {
			return line, true
		}
		return "", false
	}
	return "", false
}

func (r *Repo) packedRef(name string) (string, bool) {
	f, err := os.Open(filepath.Join(r.CommonDir, "packed-refs"))
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if id, refname, ok := strings.Cut(line, " "); ok && refname == name && IsCommitID(id) {
			return id, true
		}
	}
	return "", false
}

// DefaultBranch returns the branch HEAD points at ("master", "main"), or ""
// when HEAD is detached.
func (r *Repo) DefaultBranch() string {
	data, err := os.ReadFile(filepath.Join(r.GitDir, "HEAD"))
	if err != nil {
		return ""
	}
	target, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "ref: refs/heads/")
	if !ok {
		return ""
	}
	return target
}

// MirrorPath is where the mirror of url lives under cacheDir.
func MirrorPath(cacheDir, url string) string {
	sum := sha256.Sum256([]byte(url))
	base := filepath.Base(strings.TrimSuffix(strings.TrimRight(url, "/"), ".git"))
	base = regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(base, "_")
	return filepath.Join(cacheDir, "mirrors", base+"-"+hex.EncodeToString(sum[:6])+".git")
}

// Mirror returns the mirror of url under cacheDir, cloning it first if it
// is not there yet. fetch updates an existing mirror from its remote.
func Mirror(ctx context.Context, cacheDir, url string, fetch bool) (*Repo, error) {
	if err := CheckURL(url); err != nil {
		return nil, err
	}
	dir := MirrorPath(cacheDir, url)
	if isBare(dir) {
		r := &Repo{GitDir: dir, CommonDir: dir}
		if fetch {
			if err := r.Fetch(ctx); err != nil {
				return nil, err
			}
		}
		return r, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".clone-")
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	defer os.RemoveAll(tmp)
	if _, err := git(ctx, filepath.Dir(dir), nil, "clone", []string{"--mirror", "--quiet"}, []string{url, tmp}); err != nil {
		return nil, redactError(fmt.Errorf("mirroring %s: %w", url, err), url)
	}
	if err := os.Rename(tmp, dir); err != nil && !isBare(dir) {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	return &Repo{GitDir: dir, CommonDir: dir}, nil
}

// Fetch updates a mirror from its remote.
func (r *Repo) Fetch(ctx context.Context) error {
	_, err := git(ctx, r.Dir(), nil, "remote", []string{"update", "--prune"}, nil)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", r.Dir(), err)
	}
	return nil
}
