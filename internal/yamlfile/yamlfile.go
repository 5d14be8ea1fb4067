// Package yamlfile holds what every YAML file cascade reads from its users
// (cascade.yaml, a repo's .cascade.yaml, plan files) must satisfy beyond
// YAML's own syntax. Each reader parses the file into a yaml.Node and
// calls CheckKeys before it looks at any value.
package yamlfile

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// DuplicateKeyError is a mapping that names one key twice. YAML forbids
// it, and a reader that takes the first (or the last) value would act on
// a setting the author may believe they changed.
type DuplicateKeyError struct {
	File  string
	Key   string
	Line  int // the second occurrence
	Col   int
	First int // the line of the first occurrence
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("%s:%d:%d: duplicate key %q (first at %s:%d); keep one of them", e.File, e.Line, e.Col, e.Key, e.File, e.First)
}

// CheckKeys walks the parsed document doc of file and returns an Invalid
// error (exit 2) for every mapping that holds a key twice (all of them, as
// a Problems list), naming the file and the lines of both. Aliases are not
// followed (the anchored node is checked where it is defined), and merge
// keys (<<) are left to YAML.
func CheckKeys(file string, doc *yaml.Node) error {
	var probs Problems
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || n.Kind == yaml.AliasNode {
			return
		}
		if n.Kind == yaml.MappingNode {
			seen := map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.Value == "<<" {
					continue
				}
				if first, ok := seen[k.Value]; ok {
					probs.Add(errkind.Wrap(errkind.Invalid, &DuplicateKeyError{File: file, Key: k.Value, Line: k.Line, Col: k.Column, First: first}))
					continue
				}
				seen[k.Value] = k.Line
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
	return probs.Err()
}
