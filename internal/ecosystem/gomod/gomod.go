// Package gomod reads go.mod files: the module path, its requirements and
// its replacements, as cascade's graph needs them.
package gomod

import (
	"errors"
	"fmt"

	"golang.org/x/mod/modfile"
)

// FileName is the manifest's name.
const FileName = "go.mod"

// Module is one parsed go.mod.
type Module struct {
	Path      string
	GoVersion string
	Requires  []Require
	Replaces  []Replace
	// Tools are the packages of tool directives (`go tool NAME` runs them).
	Tools []string
}

// Require is one requirement.
type Require struct {
	Path     string
	Version  string
	Indirect bool
	Line     int
}

// Replace is one replace directive. NewVersion is empty when New is a
// directory.
type Replace struct {
	Old, OldVersion string
	New, NewVersion string
	Line            int
}

// ParseError is a malformed go.mod, at a line.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Parse reads the go.mod content data; file names it in errors.
func Parse(file string, data []byte) (*Module, error) {
	f, err := modfile.Parse(file, data, nil)
	if err != nil {
		var list modfile.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return nil, &ParseError{File: file, Line: list[0].Pos.Line, Msg: list[0].Err.Error()}
		}
		return nil, &ParseError{File: file, Msg: err.Error()}
	}
	if f.Module == nil || f.Module.Mod.Path == "" {
		return nil, &ParseError{File: file, Line: 1, Msg: "no module directive; add `module example.com/name`"}
	}
	m := &Module{Path: f.Module.Mod.Path}
	if f.Go != nil {
		m.GoVersion = f.Go.Version
	}
	for _, r := range f.Require {
		line := 0
		if r.Syntax != nil {
			line = r.Syntax.Start.Line
		}
		m.Requires = append(m.Requires, Require{Path: r.Mod.Path, Version: r.Mod.Version, Indirect: r.Indirect, Line: line})
	}
	for _, t := range f.Tool {
		m.Tools = append(m.Tools, t.Path)
	}
	for _, r := range f.Replace {
		line := 0
		if r.Syntax != nil {
			line = r.Syntax.Start.Line
		}
		m.Replaces = append(m.Replaces, Replace{Old: r.Old.Path, OldVersion: r.Old.Version, New: r.New.Path, NewVersion: r.New.Version, Line: line})
	}
	return m, nil
}
