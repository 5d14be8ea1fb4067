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

// Object is one git object as read from the object store.
type Object struct {
	ID   string
	Type string // "commit", "tree", "blob" or "tag"
	Data []byte
}

// Batch reads objects through one long-lived `git cat-file --batch`.
// It is safe for use by several goroutines; requests are serialised.
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
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, "git", "cat-file", "--batch")
	cmd.Dir = r.Dir()
	cmd.Env = baseEnv(nil)
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

// Read returns the object that name denotes: an object id or any expression
// `git cat-file` accepts (for example "HEAD", "v1.2.0^{commit}" or
// "abc123:go.mod"). A name that denotes nothing yields ErrMissing.
func (b *Batch) Read(name string) (Object, error) {
	if strings.ContainsAny(name, "\n") {
		return Object{}, errkind.New(errkind.Invalid, "invalid object name %q", name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken != nil {
		return Object{}, b.broken
	}
	obj, err := b.read(name)
	if err != nil && !errors.Is(err, ErrMissing) {
		b.broken = errkind.Wrap(errkind.Infra, fmt.Errorf("git cat-file --batch in %s: %w", b.dir, err))
		return Object{}, b.broken
	}
	return obj, err
}

func (b *Batch) read(name string) (Object, error) {
	if _, err := io.WriteString(b.stdin, name+"\n"); err != nil {
		return Object{}, err
	}
	header, err := b.stdout.ReadString('\n')
	if err != nil {
		return Object{}, err
	}
	header = strings.TrimSuffix(header, "\n")
	fields := strings.Fields(header)
	if len(fields) == 2 && (fields[1] == "missing" || fields[1] == "ambiguous") {
		return Object{}, fmt.Errorf("%s: %w", name, ErrMissing)
	}
	if len(fields) != 3 {
		return Object{}, fmt.Errorf("unexpected header %q", header)
	}
	size, err := strconv.Atoi(fields[2])
	if err != nil {
		return Object{}, fmt.Errorf("unexpected header %q", header)
	}
	data := make([]byte, size+1)
	if _, err := io.ReadFull(b.stdout, data); err != nil {
		return Object{}, err
	}
	return Object{ID: fields[0], Type: fields[1], Data: data[:size]}, nil
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
// reader. A missing file is a NotFound error.
func (r *Repo) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	b, err := r.OpenBatch(ctx)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	obj, err := b.Read(ref + ":" + path)
	if errors.Is(err, ErrMissing) {
		return nil, errkind.New(errkind.NotFound, "%s has no file %s at %s", r.Dir(), path, ref)
	}
	if err != nil {
		return nil, err
	}
	if obj.Type != "blob" {
		return nil, errkind.New(errkind.Invalid, "%s at %s is a %s, not a file", path, ref, obj.Type)
	}
	return obj.Data, nil
}
