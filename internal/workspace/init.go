package workspace

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
)

// FindRepos returns the git repositories at or under each of dirs, sorted.
// It does not look inside a repository it found, nor into hidden
// directories or node_modules.
func FindRepos(dirs []string) ([]string, error) {
	seen := map[string]bool{}
	var repos []string
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(abs)
		if err != nil || !fi.IsDir() {
			return nil, errkind.New(errkind.Invalid, "%s is not a directory", d)
		}
		err = filepath.WalkDir(abs, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				if p == abs {
					return err
				}
				return nil // unreadable subdirectory: skip it
			}
			if !de.IsDir() {
				return nil
			}
			name := de.Name()
			if p != abs && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			if gitrepo.IsRepo(p) {
				if !seen[p] {
					seen[p] = true
					repos = append(repos, p)
				}
				return filepath.SkipDir
			}
			return nil
		})
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
	}
	sort.Strings(repos)
	return repos, nil
}

// Render returns the text of a cascade.yaml, placed in dir, that lists repos.
func Render(dir string, repos []string) []byte {
	var b bytes.Buffer
	b.WriteString("# cascade workspace: the repositories cascade knows. See `cascade --help`.\n")
	b.WriteString("repos:\n")
	for _, r := range repos {
		rel, err := filepath.Rel(dir, r)
		switch {
		case err != nil:
			rel = r
		case strings.HasPrefix(rel, ".."):
			rel = filepath.ToSlash(rel)
		default:
			rel = "./" + filepath.ToSlash(rel)
		}
		fmt.Fprintf(&b, "  - path: %s\n", quoteIfNeeded(rel))
	}
	b.WriteString(`# policy:
#   timezone: America/Los_Angeles
#   windows:
#     - {days: [mon, tue, wed, thu], from: "09:00", to: "16:00"}
#   freezes:
#     - {from: 2026-12-21, to: 2027-01-04, reason: holiday freeze}
`)
	return b.Bytes()
}

func quoteIfNeeded(s string) string {
	if strings.ContainsAny(s, ": #'\"{}[],&*!|>%@`") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// WriteFile writes data to path atomically: a temp file in the same
// directory, then a rename.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
