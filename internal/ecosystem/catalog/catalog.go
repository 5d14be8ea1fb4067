// Package catalog reads Backstage-style catalog-info.yaml files: the
// entities a repository declares and the entities they depend on
// (`spec.dependsOn`), which cascade matches to workspace repos by name.
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/yamlfile"
)

// FileName is the catalog file's name.
const FileName = "catalog-info.yaml"

// Entity is one document of a catalog file.
type Entity struct {
	Kind      string
	Name      string
	DependsOn []Ref
}

// Ref is an entity reference such as "component:default/clever-db".
type Ref struct {
	Raw                   string
	Kind, Namespace, Name string
	Line                  int
}

// ParseRef splits an entity reference [kind:][namespace/]name.
func ParseRef(s string) Ref {
	r := Ref{Raw: s}
	if k, rest, ok := strings.Cut(s, ":"); ok {
		r.Kind, s = strings.ToLower(k), rest
	}
	if ns, name, ok := strings.Cut(s, "/"); ok {
		r.Namespace, s = ns, name
	}
	r.Name = s
	return r
}

// ParseError is a malformed catalog file.
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

type doc struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		DependsOn yaml.Node `yaml:"dependsOn"`
	} `yaml:"spec"`
}

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

// Parse reads every document of a catalog file.
func Parse(file string, data []byte) ([]Entity, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Entity
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err == nil {
			err = yamlfile.CheckKeys(file, &n)
			var dup *yamlfile.DuplicateKeyError
			if errors.As(err, &dup) {
				return nil, dup
			}
		}
		var d doc
		if err == nil {
			err = n.Decode(&d)
		}
		if err != nil {
			pe := &ParseError{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
			if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
				pe.Line, _ = strconv.Atoi(m[1])
				pe.Msg = m[2]
			}
			return nil, pe
		}
		e := Entity{Kind: d.Kind, Name: d.Metadata.Name}
		switch n := d.Spec.DependsOn; n.Kind {
		case 0:
		case yaml.SequenceNode:
			for _, item := range n.Content {
				if item.Kind != yaml.ScalarNode {
					return nil, &ParseError{File: file, Line: item.Line, Msg: "spec.dependsOn entries must be entity references such as component:clever-db"}
				}
				r := ParseRef(item.Value)
				r.Line = item.Line
				e.DependsOn = append(e.DependsOn, r)
			}
		default:
			return nil, &ParseError{File: file, Line: n.Line, Msg: "spec.dependsOn must be a list of entity references"}
		}
		out = append(out, e)
	}
}
