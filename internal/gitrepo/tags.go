package gitrepo

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// TagsState returns a digest of every tag ref and its target, read from the
// ref files without running git. It changes whenever a tag is added, moved
// or deleted, so callers can cache what they derive from tags.
func (r *Repo) TagsState() string {
	var lines []string
	root := filepath.Join(r.CommonDir, "refs", "tags")
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err == nil {
			rel, _ := filepath.Rel(root, p)
			lines = append(lines, "L "+filepath.ToSlash(rel)+" "+strings.TrimSpace(string(data)))
		}
		return nil
	})
	if f, err := os.Open(filepath.Join(r.CommonDir, "packed-refs")); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, " refs/tags/") || strings.HasPrefix(line, "^") {
				lines = append(lines, "P "+line)
			}
		}
		f.Close()
	}
	if len(lines) == 0 {
		return ""
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:16])
}

// MergedTags lists the tags whose commits are reachable from commit.
func (r *Repo) MergedTags(ctx context.Context, commit string) ([]string, error) {
	out, err := r.Git(ctx, "tag", "--list", "--merged", commit)
	if err != nil {
		return nil, err
	}
	if out == "" {
		return nil, nil
	}
	return strings.Split(out, "\n"), nil
}
