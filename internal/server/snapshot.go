package server

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// scanTimeout bounds one scan of the workspace.
const scanTimeout = 5 * time.Minute

// snapshot is the workspace and its graph as of one scan, shared by every
// request until a repo's head changes.
// snapshotGen counts the snapshots made (see snapshot.gen).
var snapshotGen atomic.Uint64

type snapshot struct {
	ws *workspace.Workspace
	g  *graph.Workspace
	// graphJSON is the graph's document, encoded once.
	graphJSON []byte
	repos     map[string]report.RepoJSON
	// refs are the files whose change means a rescan: the workspace file
	// and each repo's HEAD, packed-refs and loose branch and tag refs.
	refDirs []string
	refs    []string
	print   uint64
	at      time.Time
	// gen numbers the snapshots of a process, each new scan one more: a
	// cache key made under one snapshot never matches another's.
	gen uint64
	// err is the last rescan's failure (the snapshot is then the last one
	// that worked); "" when the last check succeeded.
	err string
}

// load reads the workspace (unless given) and scans it.
func (s *Server) load(ctx context.Context, ws *workspace.Workspace) (*snapshot, error) {
	if ws == nil {
		var err error
		if ws, err = workspace.Load(s.cfg.WorkspaceFile); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	repos, err := scan.Workspace(ctx, ws, scan.Options{CacheDir: s.cfg.CacheDir})
	if err != nil {
		return nil, err
	}
	g := graph.Build(repos)
	for _, w := range append(ws.Warnings, g.Warnings...) {
		s.log.Warn(w)
	}
	doc := report.Graph(g)
	var b bytes.Buffer
	if err := report.JSON(&b, doc); err != nil {
		return nil, err
	}
	snap := &snapshot{ws: ws, g: g, graphJSON: b.Bytes(), repos: map[string]report.RepoJSON{}, at: s.cfg.Now(), gen: snapshotGen.Add(1)}
	for _, r := range doc.Repos {
		snap.repos[r.Name] = r
	}
	snap.refs = []string{ws.File}
	for _, r := range repos {
		if r.Git == nil {
			continue
		}
		snap.refs = append(snap.refs, filepath.Join(r.Git.GitDir, "HEAD"), filepath.Join(r.Git.CommonDir, "packed-refs"))
		snap.refDirs = append(snap.refDirs, filepath.Join(r.Git.CommonDir, "refs", "heads"), filepath.Join(r.Git.CommonDir, "refs", "tags"))
	}
	snap.print = fingerprint(snap.refs, snap.refDirs)
	s.log.Info("workspace scanned", "workspace", ws.File, "repos", len(g.Repos))
	return snap, nil
}

// fingerprint hashes the name, size and modification time of every file
// and of every file under dirs: git rewrites a ref's file (or packed-refs)
// whenever a branch or tag moves, so a changed head changes the print.
func fingerprint(files, dirs []string) uint64 {
	h := fnv.New64a()
	add := func(path string, fi fs.FileInfo) {
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", path, fi.Size(), fi.ModTime().UnixNano())
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			add(f, fi)
		} else {
			fmt.Fprintf(h, "%s\x00-\x00", f)
		}
	}
	for _, d := range dirs {
		filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if fi, err := e.Info(); err == nil {
				add(path, fi)
			}
			return nil
		})
	}
	return h.Sum64()
}

// current is the snapshot to answer a request with. At most once per
// RescanEvery it checks the refs (stat calls only) and, when they
// changed, scans the workspace again; a request that arrives while
// another rescans is answered from the snapshot before it.
func (s *Server) current() *snapshot {
	snap := s.snap.Load()
	now := s.cfg.Now()
	if now.UnixNano()-s.checked.Load() < int64(s.cfg.RescanEvery) {
		return snap
	}
	if !s.refreshMu.TryLock() {
		return snap
	}
	defer s.refreshMu.Unlock()
	if now.UnixNano()-s.checked.Load() < int64(s.cfg.RescanEvery) {
		return s.snap.Load()
	}
	defer s.checked.Store(now.UnixNano())
	snap = s.snap.Load()
	if fingerprint(snap.refs, snap.refDirs) == snap.print {
		return snap
	}
	next, err := s.load(context.Background(), nil)
	if err != nil {
		s.log.Error("rescanning the workspace failed; serving the last scan", "err", err.Error())
		failed := *snap
		failed.err = err.Error()
		// The refs as they are now count as seen: the next check
		// scans again only when something changes again.
		failed.print = fingerprint(snap.refs, snap.refDirs)
		s.snap.Store(&failed)
		return &failed
	}
	s.snap.Store(next)
	return next
}
