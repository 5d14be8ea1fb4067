package gitrepo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// IsManifest reports whether a file of a tree is one cascade (or the
// build tools it runs) parses whole, wherever it sits: go.mod,
// package.json, catalog-info.yaml, .cascade.yaml. Such a file is read only
// when it is at most MaxManifest bytes.
func IsManifest(p string) bool {
	switch path.Base(p) {
	case "go.mod", "package.json", "catalog-info.yaml", ".cascade.yaml":
		return true
	}
	return false
}

// ManifestTooLargeError is a manifest (see IsManifest) larger than
// MaxManifest in the tree of a commit. It wraps ErrTooLarge.
type ManifestTooLargeError struct {
	Path   string
	Commit string
	Size   int64
}

func (e *ManifestTooLargeError) Error() string {
	return fmt.Sprintf("%s at %.12s is %d bytes; cascade reads a manifest of at most %d bytes (%d MiB) and refuses the commit without reading it (make the file smaller)",
		e.Path, e.Commit, e.Size, MaxManifest, MaxManifest>>20)
}

func (e *ManifestTooLargeError) Unwrap() error { return ErrTooLarge }

// CheckManifests makes sure every manifest in the tree of commit (a commit
// id or a revision, see CheckRev) is at most MaxManifest bytes, from the sizes git records for
// its blobs (`git ls-tree -r -l`): none of any file is read. A manifest
// over the limit is an Invalid error wrapping a *ManifestTooLargeError.
func (r *Repo) CheckManifests(ctx context.Context, commit string) error {
	if !IsCommitID(commit) {
		if err := CheckRev(commit); err != nil {
			return err
		}
	}
	c, err := newCommand("ls-tree", []string{"-r", "-l", "-z", "--full-tree"}, []string{commit}, nil)
	if err != nil {
		return err
	}
	var found *ManifestTooLargeError
	perr, err := r.streamOut(ctx, c, func(out io.Reader) error {
		var err error
		found, err = scanSizes(bufio.NewReaderSize(out, 64<<10), commit)
		if found != nil && err == nil {
			return errStop
		}
		return err
	})
	if err != nil {
		return err
	}
	if perr != nil && perr != errStop {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("git ls-tree in %s: %w", r.Dir(), perr))
	}
	if found != nil {
		return errkind.Wrap(errkind.Invalid, found)
	}
	return nil
}

// scanSizes reads `ls-tree -r -l -z` entries ("MODE TYPE ID SIZE\tPATH\0")
// and returns the first manifest over MaxManifest.
func scanSizes(r *bufio.Reader, commit string) (*ManifestTooLargeError, error) {
	for {
		entry, err := r.ReadString(0)
		if err == io.EOF && entry == "" {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		meta, p, ok := strings.Cut(strings.TrimSuffix(entry, "\x00"), "\t")
		if !ok {
			return nil, fmt.Errorf("unexpected entry %q", entry)
		}
		f := strings.Fields(meta)
		if len(f) != 4 || f[1] != "blob" || !IsManifest(p) {
			continue
		}
		size, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("unexpected entry %q", entry)
		}
		if size > MaxManifest {
			return &ManifestTooLargeError{Path: p, Commit: commit, Size: size}, nil
		}
	}
}

// errStop is a consumer of streamOut that stopped early on purpose.
var errStop = errors.New("stopped")

// streamOut runs git command c in the repository with its standard output
// read by consume as it comes. When consume stops early (any error), the
// rest of the output is drained so that git ends. err is git's own failure
// (an Infra error naming the command and its stderr); cerr is consume's.
func (r *Repo) streamOut(ctx context.Context, c command, consume func(io.Reader) error) (cerr, err error) {
	cmd := execCmd(ctx, r.Dir(), nil, c)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, errkind.Wrap(errkind.Infra, fmt.Errorf("cannot run git %s in %s: %w", c.args[0], r.Dir(), err))
	}
	cerr = consume(out)
	if cerr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	if werr := cmd.Wait(); werr != nil {
		return cerr, errkind.Wrap(errkind.Infra, &CommandError{Args: cmd.Args, Dir: r.Dir(), Stderr: strings.TrimSpace(stderr.String()), Err: werr})
	}
	return cerr, nil
}
