package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// ErrMissing is returned by Batch.Read for an object that does not exist.
var ErrMissing = errors.New("object not found")

// ErrTooLarge is returned (wrapped, as an Invalid error) for an object
// larger than the reader's limit. The object was not read.
var ErrTooLarge = errors.New("object too large")

// Size limits for objects read from a repository. The size is checked in
// cat-file's answer before any of the object is read.
const (
	// MaxManifest bounds files cascade parses: go.mod, package.json,
	// .cascade.yaml, catalog-info.yaml, JSON Schemas.
	MaxManifest = 4 << 20
	// MaxObject bounds every other object (trees, files of a module zip):
	// the Go command's own limit on a module zip.
	MaxObject = 500 << 20
)

// ObjectTooLargeError is an object over a reader's limit, found from its
// size in cat-file's header; none of it was read. It wraps ErrTooLarge.
type ObjectTooLargeError struct {
	Name, Type string
	Size, Max  int64
}

func (e *ObjectTooLargeError) Error() string {
	return fmt.Sprintf("%s is a %s of %d bytes; cascade reads at most %d bytes here: %v", e.Name, e.Type, e.Size, e.Max, ErrTooLarge)
}

func (e *ObjectTooLargeError) Unwrap() error { return ErrTooLarge }

// Object is one git object as read from the object store.
type Object struct {
	ID   string
	Type string // "commit", "tree", "blob" or "tag"
	Data []byte
}

// Batch reads objects through one long-lived `git cat-file --batch-command`:
// it asks for an object's size first and reads its content only when the
// size is within the limit. It is safe for use by several goroutines;
// requests are serialised.
type Batch struct {
	mu     sync.Mutex
	dir    string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	cancel context.CancelFunc
	broken error
}

// OpenBatch starts the object reader for the repository. Close it when done.
func (r *Repo) OpenBatch(ctx context.Context) (*Batch, error) {
	c, err := newCommand("cat-file", []string{"--batch-command"}, nil, nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := execCmd(ctx, r.Dir(), nil, c)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, errkind.Wrap(errkind.Infra, fmt.Errorf("cannot run git cat-file in %s: %w", r.Dir(), err))
	}
	return &Batch{dir: r.Dir(), cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(stdout, 64*1024), cancel: cancel}, nil
}

// Read returns the object that name denotes, if it is at most MaxObject
// bytes: an object id, a revision (see CheckRev; "HEAD", "v1.2.0^{commit}")
// or a revision and a path in its tree ("abc123:go.mod"; see CheckPath).
// A name that denotes nothing yields ErrMissing.
func (b *Batch) Read(name string) (Object, error) {
	return b.ReadLimit(name, MaxObject)
}

// ReadLimit is Read with a size limit: an object of more than max bytes is
// an Invalid error wrapping ErrTooLarge, and none of it is read.
func (b *Batch) ReadLimit(name string, max int64) (Object, error) {
	if err := checkObjectName(name); err != nil {
		return Object{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken != nil {
		return Object{}, b.broken
	}
	obj, err := b.read(name, max)
	if err != nil && !errors.Is(err, ErrMissing) && !errors.Is(err, ErrTooLarge) {
		b.broken = errkind.Wrap(errkind.Infra, fmt.Errorf("git cat-file --batch-command in %s: %w", b.dir, err))
		return Object{}, b.broken
	}
	return obj, err
}

// checkObjectName checks a name given to Read: an object id, a revision, or
// a revision, ':' and a path inside its tree.
func checkObjectName(name string) error {
	if IsCommitID(name) {
		return nil
	}
	rev, p, hasPath := strings.Cut(name, ":")
	if err := CheckRev(rev); err != nil {
		return err
	}
	if hasPath {
		return CheckPath(p)
	}
	return nil
}

// header sends one command and reads the object header that answers it.
func (b *Batch) header(cmd, name string) (id, typ string, size int64, err error) {
	if _, err := io.WriteString(b.stdin, cmd+" "+name+"\n"); err != nil {
		return "", "", 0, err
	}
	line, err := b.stdout.ReadString('\n')
	if err != nil {
		return "", "", 0, err
	}
	line = strings.TrimSuffix(line, "\n")
	if line == name+" missing" || line == name+" ambiguous" {
		return "", "", 0, fmt.Errorf("%s: %w", name, ErrMissing)
	}
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return "", "", 0, fmt.Errorf("unexpected header %q", line)
	}
	size, err = strconv.ParseInt(fields[2], 10, 64)
	if err != nil || size < 0 {
		return "", "", 0, fmt.Errorf("unexpected header %q", line)
	}
	return fields[0], fields[1], size, nil
}

func (b *Batch) read(name string, max int64) (Object, error) {
	id, typ, size, err := b.header("info", name)
	if err != nil {
		return Object{}, err
	}
	if size > max {
		return Object{}, errkind.Wrap(errkind.Invalid, &ObjectTooLargeError{Name: name, Type: typ, Size: size, Max: max})
	}
	// Ask for the object by the id just found, so the content is the object
	// whose size was checked.
	id2, typ, size2, err := b.header("contents", id)
	if err != nil {
		return Object{}, err
	}
	if id2 != id || size2 != size {
		return Object{}, fmt.Errorf("cat-file answered %s (%d bytes) for %s (%d bytes)", id2, size2, id, size)
	}
	data := make([]byte, size+1)
	if _, err := io.ReadFull(b.stdout, data); err != nil {
		return Object{}, err
	}
	return Object{ID: id, Type: typ, Data: data[:size]}, nil
}

// Close stops the reader.
func (b *Batch) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stdin.Close()
	err := b.cmd.Wait()
	b.cancel()
	return err
}

// Commit returns the commit id and root tree id of the commit that name denotes.
func (b *Batch) Commit(name string) (id, tree string, err error) {
	if !IsCommitID(name) {
		if err := CheckRev(name); err != nil {
			return "", "", err
		}
	}
	obj, err := b.Read(name + "^{commit}")
	if err != nil {
		return "", "", err
	}
	if obj.Type != "commit" {
		return "", "", fmt.Errorf("%s is a %s, not a commit", name, obj.Type)
	}
	line, _, _ := bytes.Cut(obj.Data, []byte("\n"))
	t, ok := bytes.CutPrefix(line, []byte("tree "))
	if !ok {
		return "", "", fmt.Errorf("commit %s has no tree line", obj.ID)
	}
	return obj.ID, string(t), nil
}

// TreeEntry is one entry of a tree object.
type TreeEntry struct {
	Mode string
	Name string
	ID   string
}

// IsDir reports whether the entry is a subtree.
func (e TreeEntry) IsDir() bool { return e.Mode == "40000" }

// IsFile reports whether the entry is a regular (or executable) file.
func (e TreeEntry) IsFile() bool { return e.Mode == "100644" || e.Mode == "100755" }

// ParseTree decodes a tree object. idLen is the length of the repository's
// object ids in bytes (20 for SHA-1, 32 for SHA-256).
func ParseTree(data []byte, idLen int) ([]TreeEntry, error) {
	var entries []TreeEntry
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp < 0 {
			return nil, errors.New("malformed tree: no mode")
		}
		nul := bytes.IndexByte(data[sp+1:], 0)
		if nul < 0 {
			return nil, errors.New("malformed tree: no name")
		}
		nameEnd := sp + 1 + nul
		if len(data) < nameEnd+1+idLen {
			return nil, errors.New("malformed tree: short id")
		}
		entries = append(entries, TreeEntry{
			Mode: string(data[:sp]),
			Name: string(data[sp+1 : nameEnd]),
			ID:   fmt.Sprintf("%x", data[nameEnd+1:nameEnd+1+idLen]),
		})
		data = data[nameEnd+1+idLen:]
	}
	return entries, nil
}

// WalkFunc is called for each file of a tree walk with its slash-separated
// path and blob id.
type WalkFunc func(path string, e TreeEntry) error

// Walk visits every file under the tree treeID, descending into a
// subdirectory only when descend(dirPath, name) is true.
func (b *Batch) Walk(treeID string, descend func(dir, name string) bool, fn WalkFunc) error {
	return b.walk(treeID, "", descend, fn)
}

func (b *Batch) walk(treeID, dir string, descend func(dir, name string) bool, fn WalkFunc) error {
	obj, err := b.Read(treeID)
	if err != nil {
		return err
	}
	if obj.Type != "tree" {
		return fmt.Errorf("%s is a %s, not a tree", treeID, obj.Type)
	}
	entries, err := ParseTree(obj.Data, len(treeID)/2)
	if err != nil {
		return fmt.Errorf("tree %s: %w", treeID, err)
	}
	for _, e := range entries {
		p := e.Name
		if dir != "" {
			p = dir + "/" + e.Name
		}
		switch {
		case e.IsDir():
			if descend(dir, e.Name) {
				if err := b.walk(e.ID, p, descend, fn); err != nil {
					return err
				}
			}
		case e.IsFile():
			if err := fn(p, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadFile reads the file at path in the tree of ref with a one-off
// reader (see Batch.ReadFile), at most MaxManifest bytes. A missing file is
// a NotFound error.
func (r *Repo) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	b, err := r.OpenBatch(ctx)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	data, err := b.ReadFile(ref, path, MaxManifest)
	if errors.Is(err, ErrMissing) {
		return nil, errkind.New(errkind.NotFound, "%s has no file %s at %s", r.Dir(), path, ref)
	}
	return data, err
}

// ReadFile reads the regular file at path (slash-separated, see CheckPath)
// in the tree of the commit rev names, at most max bytes. It walks the
// trees itself, entry by entry, so that a symbolic link, a submodule or a
// directory at path, or a symbolic link on the way to it, is an Invalid
// error naming it and never followed. A path that is not there yields
// ErrMissing.
func (b *Batch) ReadFile(rev, path string, max int64) ([]byte, error) {
	if err := CheckPath(path); err != nil {
		return nil, err
	}
	_, tree, err := b.Commit(rev)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(path, "/")
	for i, name := range parts {
		obj, err := b.Read(tree)
		if err != nil {
			return nil, err
		}
		entries, err := ParseTree(obj.Data, len(tree)/2)
		if err != nil {
			return nil, fmt.Errorf("tree %s: %w", tree, err)
		}
		var found *TreeEntry
		for j := range entries {
			if entries[j].Name == name {
				found = &entries[j]
				break
			}
		}
		here := strings.Join(parts[:i+1], "/")
		switch {
		case found == nil:
			return nil, fmt.Errorf("%s at %s: %w", path, rev, ErrMissing)
		case found.Mode == "120000":
			return nil, errkind.New(errkind.Invalid, "%s at %s is a symbolic link; cascade reads only regular files from a repository and never follows links (commit the file itself)", here, rev)
		case i < len(parts)-1 && !found.IsDir():
			return nil, fmt.Errorf("%s at %s: %s is not a directory: %w", path, rev, here, ErrMissing)
		case i < len(parts)-1:
			tree = found.ID
		case found.IsFile():
			obj, err := b.ReadLimit(found.ID, max)
			if err != nil {
				var tl *ObjectTooLargeError
				if errors.As(err, &tl) && max == MaxManifest {
					return nil, errkind.Wrap(errkind.Invalid, &ManifestTooLargeError{Path: path, Commit: rev, Size: tl.Size})
				}
				if errors.Is(err, ErrTooLarge) {
					return nil, errkind.New(errkind.Invalid, "%s at %s is larger than cascade reads (%d bytes at most): %w", path, rev, max, ErrTooLarge)
				}
				return nil, err
			}
			return obj.Data, nil
		default:
			return nil, errkind.New(errkind.Invalid, "%s at %s is not a regular file (mode %s)", path, rev, found.Mode)
		}
	}
	return nil, fmt.Errorf("%s at %s: %w", path, rev, ErrMissing)
}
