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
// Every repo gets a name cascade accepts: its directory's name when that
// is a valid, unused repo name, otherwise a `name:` line with the name made
// valid (Slug) and, if two repos would share it, numbered (api, api-2).
func Render(dir string, repos []string) []byte {
	var b bytes.Buffer
	b.WriteString("# cascade workspace: the repositories cascade knows. See `cascade --help`.\n")
	b.WriteString("repos:\n")
	names := RepoNames(repos)
	for i, r := range repos {
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
		if names[i] != filepath.Base(r) {
			fmt.Fprintf(&b, "    name: %s\n", names[i])
		}
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

// RepoNames returns the name each repo directory gets in a new
// cascade.yaml: the directory's name made valid (Slug), numbered when two
// would be the same (api, api-2, api-3). The result is one name per dir,
// each accepted by Parse and none twice.
func RepoNames(dirs []string) []string { return repoNames(dirs, nil) }

// repoNames is RepoNames for dirs beside repos already named (taken): a
// discover glob's repos beside the declared ones.
func repoNames(dirs []string, taken map[string]bool) []string {
	used := map[string]bool{}
	for name := range taken {
		used[name] = true
	}
	for _, d := range dirs {
		if base := filepath.Base(d); validName.MatchString(base) && !strings.Contains(base, "/") {
			if _, ok := used[base]; !ok {
				used[base] = false // reserved for the first repo of that name
			}
		}
	}
	names := make([]string, len(dirs))
	for i, d := range dirs {
		name := Slug(filepath.Base(d))
		if taken, reserved := used[name]; reserved && !taken && name == filepath.Base(d) {
			used[name] = true
			names[i] = name
			continue
		}
		candidate := name
		for n := 2; ; n++ {
			if _, clash := used[candidate]; !clash {
				break
			}
			candidate = fmt.Sprintf("%s-%d", name, n)
		}
		used[candidate] = true
		names[i] = candidate
	}
	return names
}

// Slug turns s into a valid repo name: letters, digits, '.', '_' and '-',
// starting with a letter or digit. Other characters become '-', runs of
// them one '-'; nothing usable left gives "repo".
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
		if !ok {
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		if b.Len() == 0 && (r == '.' || r == '_' || r == '-') {
			continue
		}
		b.WriteRune(r)
		dash = r == '-'
	}
	out := strings.TrimRight(b.String(), "-.")
	if len(out) > 64 {
		out = strings.TrimRight(out[:64], "-.")
	}
	if out == "" {
		return "repo"
	}
	return out
}
