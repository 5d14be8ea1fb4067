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
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/suggest"
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
	// Servers are the cascade servers people may act through, with the
	// keys each signs their actions with (`servers:`).
	Servers []Person
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

var typeErrorLine = regexp.MustCompile(`^line (\d+): (.*)$`)

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

// Parse validates the workspace file content data, read from file. It
// reports every problem of the file at once (a yamlfile.Problems list);
// with problems it still returns what it could read (the repos declared
// without a problem), for `cascade check` to carry on with.
func Parse(file string, data []byte) (*Workspace, error) {
	ws := &Workspace{File: file, Dir: filepath.Dir(file), Policy: DefaultPolicy()}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	var probs yamlfile.Problems
	probs.Add(yamlfile.CheckKeys(file, &doc))
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, inputErr(file, nil, "the file is empty; list your repositories under `repos:` (see `cascade init`)")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, inputErr(file, root, "expected a mapping with `repos:`, `discover:` and `policy:`")
	}
	probs.Add(checkKeys(file, root, "the top level", "repos", "discover", "policy", "people", "servers"))
	if n := value(root, "people"); n != nil {
		people, err := parsePeople(file, n)
		probs.Add(err)
		ws.People = people
	}
	if n := value(root, "servers"); n != nil {
		servers, err := parseServers(file, n, ws.People)
		probs.Add(err)
		ws.Servers = servers
	}
	reposBad := false
	if n := value(root, "repos"); n != nil {
		if err := ws.parseRepos(n); err != nil {
			probs.Add(err)
			reposBad = true
		}
	}
	if n := value(root, "discover"); n != nil {
		if err := ws.parseDiscover(n); err != nil {
			probs.Add(err)
			reposBad = true
		}
	}
	if n := value(root, "policy"); n != nil {
		p, err := parsePolicy(file, n)
		probs.Add(err)
		if err == nil {
			ws.Policy = p
		}
	}
	if len(ws.Repos) == 0 && !reposBad && len(probs) == 0 {
		probs.Add(inputErr(file, root, "no repositories: add entries under `repos:` (path or url) or globs under `discover:`"))
	}
	seen := map[string]RepoSpec{}
	for _, r := range ws.Repos {
		if prev, ok := seen[r.Name]; ok {
			probs.Add(errkind.Wrap(errkind.Invalid, &InputError{File: file, Line: r.Line,
				Msg: fmt.Sprintf("two repos are named %q (%s, line %d, and %s); give one of them another `name:`", r.Name, prev.Location(), prev.Line, r.Location())}))
			continue
		}
		seen[r.Name] = r
	}
	return ws, probs.Err()
}

// SyntaxError is the problem of a YAML file that does not parse, err
// being yaml.v3's error: the file and line, what is wrong. A type error
// of a decoding (several lines) is a Problems list, one per line.
func SyntaxError(file string, err error) error { return yamlError(file, err) }

func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(strings.SplitN(msg, "\n", 2)[0]); m != nil {
		line, _ := strconv.Atoi(m[1])
		return errkind.Wrap(errkind.Invalid, &InputError{File: file, Line: line, Msg: m[2] + " (fix the YAML syntax)"})
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		var probs yamlfile.Problems
		for _, e := range te.Errors {
			if m := typeErrorLine.FindStringSubmatch(e); m != nil {
				line, _ := strconv.Atoi(m[1])
				probs.Add(errkind.Wrap(errkind.Invalid, &InputError{File: file, Line: line, Msg: m[2]}))
			} else {
				probs.Add(errkind.Wrap(errkind.Invalid, &InputError{File: file, Msg: e}))
			}
		}
		return probs.Err()
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
	var probs yamlfile.Problems
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known, k.Value) {
			probs.Add(inputErr(file, k, "%s", UnknownKey(k.Value, where, known)))
		}
	}
	return probs.Err()
}

// UnknownKey is the message for an unknown key of a YAML file: the keys
// it may hold, and the nearest one when the key looks like a typo of it.
func UnknownKey(key, where string, known []string) string {
	msg := fmt.Sprintf("unknown key %q in %s; known keys: %s", key, where, strings.Join(known, ", "))
	if s := suggest.Closest(key, known); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return msg
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
	var probs yamlfile.Problems
entries:
	for i, e := range n.Content {
		where := fmt.Sprintf("repos[%d]", i)
		if e.Kind != yaml.MappingNode {
			probs.Add(inputErr(ws.File, e, "%s must be a mapping with `path:` or `url:`", where))
			continue
		}
		if err := checkKeys(ws.File, e, where, "path", "url", "name", "branch", "tier"); err != nil {
			probs.Add(err)
			continue
		}
		spec := RepoSpec{Line: e.Line}
		fields := map[string]*string{"path": &spec.Path, "url": &spec.URL, "name": &spec.Name, "branch": &spec.Branch, "tier": &spec.Tier}
		for _, k := range []string{"path", "url", "name", "branch", "tier"} {
			dst := fields[k]
			if v := value(e, k); v != nil {
				s, err := scalar(ws.File, v, where+"."+k)
				if err != nil {
					probs.Add(err)
					continue entries
				}
				*dst = strings.TrimSpace(s)
			}
		}
		switch {
		case spec.Path == "" && spec.URL == "":
			probs.Add(inputErr(ws.File, e, "%s has neither `path:` nor `url:`; give a local git repository (`path: ./clever-db`) or a remote to mirror (`url: https://...`)", where))
			continue
		case spec.Path != "" && spec.URL != "":
			probs.Add(inputErr(ws.File, e, "%s has both `path:` and `url:`; keep one", where))
			continue
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
				probs.Add(inputErr(ws.File, value(e, "path"), "%s: path %s %s", where, spec.Path, msg))
				continue
			}
			if spec.Name == "" {
				spec.Name = filepath.Base(spec.Path)
			}
		} else if spec.Name == "" {
			spec.Name = nameFromURL(spec.URL)
		}
		if !ValidRepoName(spec.Name) {
			probs.Add(inputErr(ws.File, e, "%s: invalid repo name %q; use letters, digits, '.', '_', '-' and '/' (set `name:`)", where, spec.Name))
			continue
		}
		ws.Repos = append(ws.Repos, spec)
	}
	return probs.Err()
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
	var probs yamlfile.Problems
	for _, g := range n.Content {
		pattern, err := scalar(ws.File, g, "a discover entry")
		if err != nil {
			probs.Add(err)
			continue
		}
		full := pattern
		if !filepath.IsAbs(full) {
			full = filepath.Join(ws.Dir, full)
		}
		matches, err := filepath.Glob(full)
		if err != nil {
			probs.Add(inputErr(ws.File, g, "invalid glob %q: %v", pattern, err))
			continue
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
	return probs.Err()
}
