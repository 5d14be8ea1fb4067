// Package npm reads package.json files: the package's name and version and
// what it depends on, including git URLs and file: paths that may point at
// other repositories of the workspace.
package npm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/jsonfile"
)

// FileName is the manifest's name.
const FileName = "package.json"

// Package is one parsed package.json.
type Package struct {
	Name    string
	Version string
	Deps    []Dep
	// Private packages are never published.
	Private bool
}

// Dep kinds, after the package.json field they come from.
const (
	Prod     = "dependencies"
	Dev      = "devDependencies"
	Peer     = "peerDependencies"
	Optional = "optionalDependencies"
)

// Dep is one dependency.
type Dep struct {
	// Name is the name it is installed under (the key in package.json).
	Name string
	// Target is the package it resolves to: Name, or the real name of an
	// `npm:real@range` alias.
	Target string
	// Spec is the value: a range, a git URL, a file: path, a tag.
	Spec string
	Kind string
}

// ParseError is a malformed package.json, at a line and column.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

type manifest struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	Private json.RawMessage `json:"private"`
	Deps    map[string]any  `json:"dependencies"`
	DevDeps map[string]any  `json:"devDependencies"`
	Peer    map[string]any  `json:"peerDependencies"`
	Opt     map[string]any  `json:"optionalDependencies"`
}

// Parse reads package.json content; file names it in errors.
func Parse(file string, data []byte) (*Package, error) {
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		pe := &ParseError{File: file, Msg: err.Error()}
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			pe.Line, pe.Col = position(data, max(se.Offset-1, 0))
			pe.Msg = "invalid JSON: " + se.Error()
		case errors.As(err, &te):
			pe.Line, pe.Col = position(data, max(te.Offset-1, 0))
			pe.Msg = fmt.Sprintf("field %q must be %s, not %s", te.Field, expected(te.Field), te.Value)
		}
		return nil, pe
	}
	// npm takes the last of two equal keys, other readers the first: a
	// manifest with one is refused, so that cascade and npm read the same.
	var de *jsonfile.DuplicateKeyError
	if errors.As(jsonfile.CheckKeys(file, data), &de) {
		return nil, &ParseError{File: file, Line: de.Line, Col: de.Col,
			Msg: fmt.Sprintf("duplicate key %q (first at %s:%d:%d); keep one of them", de.Key, file, de.FirstLine, de.FirstCol)}
	}
	p := &Package{Name: m.Name, Version: m.Version, Private: string(m.Private) == "true"}
	for _, group := range []struct {
		kind string
		deps map[string]any
	}{{Prod, m.Deps}, {Dev, m.DevDeps}, {Peer, m.Peer}, {Optional, m.Opt}} {
		names := make([]string, 0, len(group.deps))
		for n := range group.deps {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			spec, ok := group.deps[n].(string)
			if !ok {
				return nil, &ParseError{File: file, Msg: fmt.Sprintf("%s.%s must be a string (a version range, URL or path)", group.kind, n)}
			}
			target := n
			if rest, ok := strings.CutPrefix(spec, "npm:"); ok {
				if i := strings.LastIndex(rest, "@"); i > 0 {
					target = rest[:i]
				} else {
					target = rest
				}
			}
			p.Deps = append(p.Deps, Dep{Name: n, Target: target, Spec: spec, Kind: group.kind})
		}
	}
	return p, nil
}

func expected(field string) string {
	if strings.Contains(field, "ependencies") {
		return "an object of name: range"
	}
	return "a string"
}

func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// FilePath returns the path of a `file:` or `link:` dependency spec.
func FilePath(spec string) (string, bool) {
	for _, p := range []string{"file:", "link:"} {
		if rest, ok := strings.CutPrefix(spec, p); ok {
			return rest, true
		}
	}
	return "", false
}

// GitRepoName returns the repository name a git dependency spec points at
// ("git+https://host/org/clever-schemas.git#v1" gives "clever-schemas";
// "github:org/clever-schemas" too), or false for any other spec.
func GitRepoName(spec string) (string, bool) {
	s := spec
	isGit := false
	for _, p := range []string{"git+", "git://", "github:", "gitlab:", "bitbucket:"} {
		if strings.HasPrefix(s, p) {
			isGit = true
		}
	}
	if !isGit && strings.HasSuffix(strings.SplitN(s, "#", 2)[0], ".git") {
		isGit = true
	}
	// "org/repo" and "org/repo#ref" are GitHub shorthands in npm.
	if !isGit && !strings.Contains(s, ":") && strings.Count(strings.SplitN(s, "#", 2)[0], "/") == 1 && !strings.HasPrefix(s, "@") && !strings.HasPrefix(s, ".") && !strings.HasPrefix(s, "/") {
		isGit = true
	}
	if !isGit {
		return "", false
	}
	s = strings.SplitN(s, "#", 2)[0]
	s = strings.TrimSuffix(strings.TrimRight(s, "/"), ".git")
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		s = s[i+1:]
	}
	return s, s != ""
}
