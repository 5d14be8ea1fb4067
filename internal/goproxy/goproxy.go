// Package goproxy serves the workspace's own Go modules over the module
// proxy protocol, straight from their git repositories: every semver tag
// (and any pseudo-version of a commit) of every workspace module, built on
// demand and cached by commit id. Builds of downstreams point GOPROXY at it,
// so that a baseline resolves the versions it requires today without the
// network.
package goproxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
)

// Source is one workspace module: where its code lives.
type Source struct {
	Module string
	Repo   *gitrepo.Repo
	// Dir is the module's directory inside the repo, slash-separated; "." for the root.
	Dir string
}

// tagPrefix is what the module's tags start with.
func (s Source) tagPrefix() string { return TagPrefix(s.Module, s.Dir) }

// TagDir is the directory part of the tags of module modPath in dir: dir
// itself, except for a major-version subdirectory (module example.com/m/v2
// in v2/, or in x/v2/) whose tags leave the major version out, as the go
// command reads them ("v2.0.0", or "x/v2.0.0").
func TagDir(modPath, dir string) string {
	_, major, ok := module.SplitPathVersion(modPath)
	if !ok || !strings.HasPrefix(major, "/") || dir == "." || dir == "" {
		return dir
	}
	if path.Base(dir) == strings.TrimPrefix(major, "/") {
		return path.Dir(dir)
	}
	return dir
}

// TagPrefix is what a module's tags start with: "" at the repo's root,
// else its tag directory and a slash.
func TagPrefix(modPath, dir string) string {
	d := TagDir(modPath, dir)
	if d == "." || d == "" {
		return ""
	}
	return d + "/"
}

// Server is a running module proxy on 127.0.0.1.
type Server struct {
	URL      string
	sources  map[string]Source
	cacheDir string
	srv      *http.Server
	ln       net.Listener

	mu      sync.Mutex
	batches map[*gitrepo.Repo]*gitrepo.Batch
	tags    map[*gitrepo.Repo][]string
	checked map[string]error // commit → its manifests' check (see checkManifests)
	ctx     context.Context
	cancel  context.CancelFunc
}

// Start serves sources on a free port of 127.0.0.1. cacheDir keeps the
// module zips it builds. Close stops it.
func Start(sources []Source, cacheDir string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		URL:      "http://" + ln.Addr().String(),
		sources:  map[string]Source{},
		cacheDir: cacheDir,
		ln:       ln,
		batches:  map[*gitrepo.Repo]*gitrepo.Batch{},
		tags:     map[*gitrepo.Repo][]string{},
		checked:  map[string]error{},
		ctx:      ctx,
		cancel:   cancel,
	}
	for _, src := range sources {
		s.sources[src.Module] = src
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and its git readers.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.mu.Lock()
	for _, b := range s.batches {
		b.Close()
	}
	s.mu.Unlock()
	s.cancel()
	return err
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	escaped, rest, ok := strings.Cut(p, "/@")
	if !ok {
		http.NotFound(w, r)
		return
	}
	mod, err := module.UnescapePath(escaped)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	src, ok := s.source(mod)
	if !ok {
		http.Error(w, "not a workspace module", http.StatusNotFound)
		return
	}
	var body []byte
	what := mod
	switch {
	case rest == "v/list":
		body, err = s.list(src)
	case rest == "latest":
		body, err = s.latest(src)
	case strings.HasPrefix(rest, "v/"):
		file := strings.TrimPrefix(rest, "v/")
		ext := path.Ext(file)
		var v string
		if v, err = module.UnescapeVersion(strings.TrimSuffix(file, ext)); err == nil {
			what = mod + "@" + v
			body, err = s.version(src, v, ext)
		}
	default:
		err = fs.ErrNotExist
	}
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, gitrepo.ErrMissing) {
			status = http.StatusNotFound
		}
		msg := err.Error()
		if errors.Is(err, gitrepo.ErrTooLarge) {
			// The go command prints the response; Refused finds it there.
			status, msg = http.StatusForbidden, refusedPrefix+fmt.Sprintf("%s (repository %s): %v", what, src.Repo.Dir(), err)
		}
		http.Error(w, msg, status)
		return
	}
	w.Write(body)
}

// source finds the workspace module mod: a module of the workspace, or one
// at another major version of its path ("/vN"), in the same directory of
// the same repo, as a branch that moves the module to its next major path
// declares it (the go command checks the go.mod it is served).
func (s *Server) source(mod string) (Source, bool) {
	if src, ok := s.sources[mod]; ok {
		return src, true
	}
	prefix, major, ok := module.SplitPathVersion(mod)
	if !ok || !strings.HasPrefix(major, "/") {
		return Source{}, false
	}
	var found []Source
	for _, src := range s.sources {
		if p, m, ok := module.SplitPathVersion(src.Module); ok && p == prefix && (m == "" || strings.HasPrefix(m, "/")) {
			found = append(found, src)
		}
	}
	if len(found) != 1 {
		// None, or several majors in the workspace: which directory holds
		// this one cannot be told.
		return Source{}, false
	}
	return Source{Module: mod, Repo: found[0].Repo, Dir: found[0].Dir}, true
}

func (s *Server) batch(r *gitrepo.Repo) (*gitrepo.Batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.batches[r]; ok {
		return b, nil
	}
	b, err := r.OpenBatch(s.ctx)
	if err != nil {
		return nil, err
	}
	s.batches[r] = b
	return b, nil
}

func (s *Server) repoTags(r *gitrepo.Repo) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tags[r]; ok {
		return t, nil
	}
	t, err := r.TagNames(s.ctx)
	if err != nil {
		return nil, err
	}
	s.tags[r] = t
	return t, nil
}

// versions are the module's release versions: its semver tags.
func (s *Server) versions(src Source) ([]string, error) {
	tags, err := s.repoTags(src.Repo)
	if err != nil {
		return nil, err
	}
	var vs []string
	for _, t := range tags {
		v, ok := strings.CutPrefix(t, src.tagPrefix())
		if !ok || strings.Contains(v, "/") || !semver.IsValid(v) || semver.Canonical(v) != v {
			continue
		}
		if err := module.Check(src.Module, v); err != nil {
			// A v2+ tag of a module whose path has no /vN suffix: +incompatible.
			if module.Check(src.Module, v+"+incompatible") == nil {
				v += "+incompatible"
			} else {
				continue
			}
		}
		vs = append(vs, v)
	}
	semver.Sort(vs)
	return vs, nil
}

func (s *Server) list(src Source) ([]byte, error) {
	vs, err := s.versions(src)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, nil
	}
	return []byte(strings.Join(vs, "\n") + "\n"), nil
}

func (s *Server) latest(src Source) ([]byte, error) {
	vs, err := s.versions(src)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fs.ErrNotExist
	}
	return s.version(src, vs[len(vs)-1], ".info")
}

// commitOf maps a version to its commit: a tag, or the commit a
// pseudo-version names.
func (s *Server) commitOf(src Source, v string) (string, error) {
	if err := module.Check(src.Module, v); err != nil {
		return "", fmt.Errorf("%w: %v", fs.ErrNotExist, err)
	}
	if module.IsPseudoVersion(v) {
		rev, err := module.PseudoVersionRev(v)
		if err != nil {
			return "", fmt.Errorf("%w: %v", fs.ErrNotExist, err)
		}
		c, err := src.Repo.Resolve(s.ctx, rev)
		if err != nil {
			return "", fmt.Errorf("%w: %v", fs.ErrNotExist, err)
		}
		return c, nil
	}
	tag := src.tagPrefix() + strings.TrimSuffix(v, "+incompatible")
	c, err := src.Repo.Resolve(s.ctx, "refs/tags/"+tag)
	if err != nil {
		return "", fmt.Errorf("%w: no tag %s in %s", fs.ErrNotExist, tag, src.Repo.Dir())
	}
	return c, nil
}

func (s *Server) version(src Source, v, ext string) ([]byte, error) {
	commit, err := s.commitOf(src, v)
	if err != nil {
		return nil, err
	}
	if ext == ".mod" || ext == ".zip" {
		// A version whose tree holds a manifest over the limit is not
		// served (see gitrepo.CheckManifests), go.mod or zip.
		if err := s.checkManifests(src.Repo, commit); err != nil {
			return nil, err
		}
	}
	switch ext {
	case ".info":
		t, err := src.Repo.CommitTime(s.ctx, commit)
		if err != nil {
			return nil, err
		}
		// The commit goes with it: the go command keeps it in its module
		// cache, where PurgeStale finds a version whose tag has moved.
		return json.Marshal(map[string]any{"Version": v, "Time": time.Unix(t, 0).UTC().Format(time.RFC3339),
			"Origin": map[string]string{"VCS": "git", "Hash": commit}})
	case ".mod":
		b, err := s.batch(src.Repo)
		if err != nil {
			return nil, err
		}
		data, err := b.ReadFile(commit, path.Join(src.Dir, "go.mod"), gitrepo.MaxManifest)
		if errors.Is(err, gitrepo.ErrMissing) {
			return []byte("module " + src.Module + "\n"), nil
		}
		if err != nil {
			return nil, err
		}
		return data, nil
	case ".zip":
		return s.zip(src, v, commit)
	}
	return nil, fs.ErrNotExist
}

// checkManifests is src.Repo.CheckManifests(commit), once per commit.
func (s *Server) checkManifests(r *gitrepo.Repo, commit string) error {
	s.mu.Lock()
	err, ok := s.checked[commit]
	s.mu.Unlock()
	if ok {
		return err
	}
	err = r.CheckManifests(s.ctx, commit)
	if err != nil && !errors.Is(err, gitrepo.ErrTooLarge) {
		return err // not remembered: git could not answer this time
	}
	s.mu.Lock()
	s.checked[commit] = err
	s.mu.Unlock()
	return err
}

// refusedPrefix starts the answer to a request for a version the proxy
// refuses to serve (its tree holds a manifest over the limit).
const refusedPrefix = "cascade refuses to serve "

// Refused returns an Invalid error (exit 2) when the output of a go
// command shows that the proxy refused it a version (the go command prints
// the proxy's answer: "server response: cascade refuses to serve ..."),
// naming the module, version, repository, file and limit; else nil.
func Refused(output string) error {
	for line := range strings.Lines(output) {
		if _, msg, ok := strings.Cut(line, "server response: "+refusedPrefix); ok {
			return errkind.New(errkind.Invalid, "the workspace module proxy refused to serve %s", strings.TrimSpace(msg))
		}
	}
	return nil
}

// PurgeStale removes from the go command's module cache every version of
// a workspace module that no longer names the commit it was downloaded
// from (a tag moved or deleted), or whose commit it cannot tell (a version
// cached without its origin). The go command trusts a cached version
// forever; a workspace's tags can move.
func (s *Server) PurgeStale(modCache string) error {
	for _, src := range s.sources {
		esc, err := module.EscapePath(src.Module)
		if err != nil {
			continue
		}
		dir := filepath.Join(modCache, "cache", "download", filepath.FromSlash(esc), "@v")
		infos, _ := filepath.Glob(filepath.Join(dir, "*.info"))
		for _, info := range infos {
			ev := strings.TrimSuffix(filepath.Base(info), ".info")
			v, err := module.UnescapeVersion(ev)
			if err != nil {
				continue
			}
			var rec struct {
				Origin *struct{ Hash string }
			}
			data, err := os.ReadFile(info)
			if err == nil && json.Unmarshal(data, &rec) == nil && rec.Origin != nil && rec.Origin.Hash != "" {
				if c, err := s.commitOf(src, v); err == nil && c == rec.Origin.Hash {
					continue
				}
			}
			if err := purge(modCache, dir, esc, ev); err != nil {
				return fmt.Errorf("removing %s@%s from the module cache: %w", src.Module, v, err)
			}
		}
	}
	return nil
}

// purge removes one version from the module cache: its download files and
// its extracted tree (which the go command makes read-only).
func purge(modCache, dir, escPath, escVersion string) error {
	files, _ := filepath.Glob(filepath.Join(dir, escVersion+".*"))
	for _, f := range files {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	tree := filepath.Join(modCache, filepath.FromSlash(escPath)+"@"+escVersion)
	if _, err := os.Stat(tree); err != nil {
		return nil
	}
	_ = filepath.Walk(tree, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			_ = os.Chmod(p, fi.Mode()|0o200)
		}
		return nil
	})
	return os.RemoveAll(tree)
}

// zip builds (or reads from the cache) the module zip of src at commit.
func (s *Server) zip(src Source, v, commit string) ([]byte, error) {
	sum := sha256.Sum256([]byte(src.Module + "@" + v + "@" + commit))
	file := filepath.Join(s.cacheDir, hex.EncodeToString(sum[:])+".zip")
	if data, err := os.ReadFile(file); err == nil {
		return data, nil
	}
	b, err := s.batch(src.Repo)
	if err != nil {
		return nil, err
	}
	treeName := commit + "^{tree}"
	if src.Dir != "." && src.Dir != "" {
		treeName = commit + ":" + src.Dir
	}
	tree, err := b.Read(treeName)
	if err != nil {
		return nil, err
	}
	var files []modzip.File
	err = b.Walk(tree.ID, func(string, string) bool { return true }, func(p string, e gitrepo.TreeEntry) error {
		files = append(files, &blobFile{b: b, path: p, id: e.ID, exec: e.Mode == "100755"})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path() < files[j].Path() })
	var buf bytes.Buffer
	if err := modzip.Create(&buf, module.Version{Path: src.Module, Version: v}, files); err != nil {
		return nil, fmt.Errorf("module zip of %s@%s: %w", src.Module, v, err)
	}
	if os.MkdirAll(s.cacheDir, 0o755) == nil {
		tmp, err := os.CreateTemp(s.cacheDir, ".zip-*")
		if err == nil {
			_, werr := tmp.Write(buf.Bytes())
			tmp.Close()
			if werr == nil {
				_ = os.Rename(tmp.Name(), file)
			}
			os.Remove(tmp.Name())
		}
	}
	return buf.Bytes(), nil
}

// blobFile is a file of a module zip, read from a git blob.
type blobFile struct {
	b    *gitrepo.Batch
	path string
	id   string
	exec bool
	data []byte
}

func (f *blobFile) Path() string { return f.path }

func (f *blobFile) load() error {
	if f.data != nil {
		return nil
	}
	// The module's go.mod is parsed whole by the go command: it gets the
	// manifest limit, checked from the object's size before it is read.
	limit := int64(gitrepo.MaxObject)
	if gitrepo.IsManifest(f.path) {
		limit = gitrepo.MaxManifest
	}
	obj, err := f.b.ReadLimit(f.id, limit)
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	f.data = obj.Data
	return nil
}

func (f *blobFile) Lstat() (os.FileInfo, error) {
	if err := f.load(); err != nil {
		return nil, err
	}
	return blobInfo{f}, nil
}

func (f *blobFile) Open() (io.ReadCloser, error) {
	if err := f.load(); err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(f.data)), nil
}

type blobInfo struct{ f *blobFile }

func (i blobInfo) Name() string { return path.Base(i.f.path) }
func (i blobInfo) Size() int64  { return int64(len(i.f.data)) }
func (i blobInfo) Mode() os.FileMode {
	if i.f.exec {
		return 0o755
	}
	return 0o644
}
func (i blobInfo) ModTime() time.Time { return time.Time{} }
func (i blobInfo) IsDir() bool        { return false }
func (i blobInfo) Sys() any           { return nil }
