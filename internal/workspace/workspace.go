// Package workspace reads cascade.yaml, the file that names the repositories
// cascade knows and the release policy that applies to them, and finds the
// git repositories that `cascade init` lists.
package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/yamlfile"
)

// FileName is the name of the workspace file.
const FileName = "cascade.yaml"

// Workspace is a parsed cascade.yaml.
type Workspace struct {
	// File is the absolute path of cascade.yaml; Dir its directory.
	File string
	Dir  string
	// Repos lists the declared repos first, then the discovered ones.
	Repos  []RepoSpec
	Policy Policy
	// People are who may act in releases, with their SSH keys; none means
	// actors are unverified.
	People []Person
	// Warnings are problems that do not stop cascade (a glob matching nothing).
	Warnings []string
}

// RepoSpec is one repository of the workspace.
type RepoSpec struct {
	Name string
	// Path is the absolute path of a local repository; URL the remote of a
	// mirrored one. Exactly one is set.
	Path   string
	URL    string
	Branch string // "" means the repository's HEAD
	Tier   string
	// Line is where the repo is declared (the discover glob's line for a
	// discovered one).
	Line int
}

// Location describes where a repo came from, for messages.
func (r RepoSpec) Location() string {
	if r.URL != "" {
		return r.URL
	}
	return r.Path
}

// InputError is a problem in a file the user wrote: file, line, column and
// what to do.
type InputError struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *InputError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func inputErr(file string, n *yaml.Node, format string, args ...any) error {
	e := &InputError{File: file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return errkind.Wrap(errkind.Invalid, e)
}

// Find looks for cascade.yaml in dir and its parents.
func Find(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; {
		f := filepath.Join(d, FileName)
		if _, err := os.Stat(f); err == nil {
			return f, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errkind.New(errkind.Invalid, "no %s in %s or any parent directory; run `cascade init` in the directory that holds your repositories (or `cascade init REPO_DIR...`) to create one, or pass --workspace FILE", FileName, abs)
		}
		d = parent
	}
}

var yamlLine = regexp.MustCompile(`^yaml: (?:unmarshal errors:\s*)?line (\d+): (.*)$`)

// Load reads and validates the workspace file at path.
func Load(path string) (*Workspace, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, errkind.New(errkind.Invalid, "%s does not exist; `cascade init` writes one (`cascade init --help`)", abs)
		}
		return nil, errkind.Wrap(errkind.Invalid, err)
	}
	return Parse(abs, data)
}

// Parse validates the workspace file content data, read from file.
func Parse(file string, data []byte) (*Workspace, error) {
	ws := &Workspace{File: file, Dir: filepath.Dir(file), Policy: DefaultPolicy()}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if err := yamlfile.CheckKeys(file, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, inputErr(file, nil, "the file is empty; list your repositories under `repos:` (see `cascade init`)")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, inputErr(file, root, "expected a mapping with `repos:`, `discover:` and `policy:`")
	}
	if err := checkKeys(file, root, "the top level", "repos", "discover", "policy", "people"); err != nil {
		return nil, err
	}
	if n := value(root, "people"); n != nil {
		people, err := parsePeople(file, n)
		if err != nil {
			return nil, err
		}
		ws.People = people
	}
	if n := value(root, "repos"); n != nil {
		if err := ws.parseRepos(n); err != nil {
			return nil, err
		}
	}
	if n := value(root, "discover"); n != nil {
		if err := ws.parseDiscover(n); err != nil {
			return nil, err
		}
	}
	if n := value(root, "policy"); n != nil {
		p, err := parsePolicy(file, n)
		if err != nil {
			return nil, err
		}
		ws.Policy = p
	}
	if len(ws.Repos) == 0 {
		return nil, inputErr(file, root, "no repositories: add entries under `repos:` (path or url) or globs under `discover:`")
	}
	seen := map[string]RepoSpec{}
	for _, r := range ws.Repos {
		if prev, ok := seen[r.Name]; ok {
			return nil, errkind.Wrap(errkind.Invalid, &InputError{File: file, Line: r.Line,
				Msg: fmt.Sprintf("two repos are named %q (%s, line %d, and %s); give one of them another `name:`", r.Name, prev.Location(), prev.Line, r.Location())})
		}
		seen[r.Name] = r
	}
	return ws, nil
}

func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(strings.SplitN(msg, "\n", 2)[0]); m != nil {
		line, _ := strconv.Atoi(m[1])
		return errkind.Wrap(errkind.Invalid, &InputError{File: file, Line: line, Msg: m[2] + " (fix the YAML syntax)"})
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		first := te.Errors[0]
		if m := regexp.MustCompile(`^line (\d+): (.*)$`).FindStringSubmatch(first); m != nil {
			line, _ := strconv.Atoi(m[1])
			return errkind.Wrap(errkind.Invalid, &InputError{File: file, Line: line, Msg: m[2]})
		}
	}
	return errkind.Wrap(errkind.Invalid, &InputError{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")})
}

// value returns the value of key in mapping n, or nil.
func value(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func checkKeys(file string, n *yaml.Node, where string, known ...string) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		found := false
		for _, want := range known {
			if k.Value == want {
				found = true
			}
		}
		if !found {
			return inputErr(file, k, "unknown key %q in %s; known keys: %s", k.Value, where, strings.Join(known, ", "))
		}
	}
	return nil
}

func scalar(file string, n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", inputErr(file, n, "%s must be a single value", what)
	}
	return n.Value, nil
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

// ValidRepoName reports whether name may name a repo: letters, digits,
// '.', '_', '-' and '/', every '/'-separated part neither empty nor "." or
// "..", so that a repo's name used as a path component stays where it is put.
func ValidRepoName(name string) bool {
	if !validName.MatchString(name) || len(name) > 200 {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

func (ws *Workspace) parseRepos(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return inputErr(ws.File, n, "`repos:` must be a list of entries such as `- path: ./clever-db`")
	}
	for i, e := range n.Content {
		where := fmt.Sprintf("repos[%d]", i)
		if e.Kind != yaml.MappingNode {
			return inputErr(ws.File, e, "%s must be a mapping with `path:` or `url:`", where)
		}
		if err := checkKeys(ws.File, e, where, "path", "url", "name", "branch", "tier"); err != nil {
			return err
		}
		spec := RepoSpec{Line: e.Line}
		fields := map[string]*string{"path": &spec.Path, "url": &spec.URL, "name": &spec.Name, "branch": &spec.Branch, "tier": &spec.Tier}
		for k, dst := range fields {
			if v := value(e, k); v != nil {
				s, err := scalar(ws.File, v, where+"."+k)
				if err != nil {
					return err
				}
				*dst = strings.TrimSpace(s)
			}
		}
		switch {
		case spec.Path == "" && spec.URL == "":
			return inputErr(ws.File, e, "%s has neither `path:` nor `url:`; give a local git repository (`path: ./clever-db`) or a remote to mirror (`url: https://...`)", where)
		case spec.Path != "" && spec.URL != "":
			return inputErr(ws.File, e, "%s has both `path:` and `url:`; keep one", where)
		}
		if spec.Path != "" {
			p := spec.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(ws.Dir, p)
			}
			spec.Path = filepath.Clean(p)
			if !gitrepo.IsRepo(spec.Path) {
				msg := "is not a git repository; run `git init` there or fix the path"
				if _, err := os.Stat(spec.Path); os.IsNotExist(err) {
					msg = "does not exist; fix the path or clone the repository there"
				}
				return inputErr(ws.File, value(e, "path"), "%s: path %s %s", where, spec.Path, msg)
			}
			if spec.Name == "" {
				spec.Name = filepath.Base(spec.Path)
			}
		} else if spec.Name == "" {
			spec.Name = nameFromURL(spec.URL)
		}
		if !ValidRepoName(spec.Name) {
			return inputErr(ws.File, e, "%s: invalid repo name %q; use letters, digits, '.', '_', '-' and '/' (set `name:`)", where, spec.Name)
		}
		ws.Repos = append(ws.Repos, spec)
	}
	return nil
}

func nameFromURL(url string) string {
	u := strings.TrimRight(url, "/")
	u = strings.TrimSuffix(u, ".git")
	if i := strings.LastIndexAny(u, "/:"); i >= 0 {
		u = u[i+1:]
	}
	return u
}

func (ws *Workspace) parseDiscover(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return inputErr(ws.File, n, "`discover:` must be a list of globs such as `- ./repos/*`")
	}
	declared := map[string]bool{}
	names := map[string]bool{}
	for _, r := range ws.Repos {
		declared[r.Path] = true
		names[r.Name] = true
	}
	first := len(ws.Repos)
	for _, g := range n.Content {
		pattern, err := scalar(ws.File, g, "a discover entry")
		if err != nil {
			return err
		}
		full := pattern
		if !filepath.IsAbs(full) {
			full = filepath.Join(ws.Dir, full)
		}
		matches, err := filepath.Glob(full)
		if err != nil {
			return inputErr(ws.File, g, "invalid glob %q: %v", pattern, err)
		}
		sort.Strings(matches)
		found := 0
		for _, m := range matches {
			m = filepath.Clean(m)
			if declared[m] || !gitrepo.IsRepo(m) {
				continue
			}
			declared[m] = true
			found++
			ws.Repos = append(ws.Repos, RepoSpec{Name: filepath.Base(m), Path: m, Line: g.Line})
		}
		if found == 0 {
			ws.Warnings = append(ws.Warnings, fmt.Sprintf("%s:%d: discover glob %q matches no git repository", ws.File, g.Line, pattern))
		}
	}
	// A discovered repo is named as init would name it: its directory's
	// name made valid, numbered when taken (a directory "my repo" or
	// "-x" is no name cascade accepts on a command line).
	dirs := make([]string, 0, len(ws.Repos)-first)
	for _, r := range ws.Repos[first:] {
		dirs = append(dirs, r.Path)
	}
	for i, name := range repoNames(dirs, names) {
		ws.Repos[first+i].Name = name
	}
	return nil
}
