package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// A scanner checks that a line is one valid JSON value and finds the raw
// text of the values at some paths, without building the document: most of
// a log line is never validated, so it need not be decoded. It keeps its
// own stack of open objects and arrays, so a deeply nested line costs heap
// up to the depth limit, never goroutine stack.

var errSyntax = errors.New("invalid JSON")

// maxDepth is how deeply a line may nest objects and arrays: the limit of
// encoding/json, which decodes the documents the scanner finds.
const maxDepth = 10000

// errTooDeep is a line nested more than maxDepth levels.
var errTooDeep = fmt.Errorf("nested more than %d levels: not read", maxDepth)

type spanScanner struct {
	b     []byte
	paths [][]string
	spans [][]byte
}

// container is an object or array the scanner is inside.
type container struct {
	array bool
	start int      // offset of its '{' or '['
	path  []string // its path when a wanted path goes through it, else nil
	index int      // the index of the current element (arrays)
}

// scanSpans validates line and returns, for each path, the raw text of the
// value there (nil if absent). Keys are compared after unescaping them by
// JSON's rules, as encoding/json decodes them.
func scanSpans(line []byte, paths [][]string) ([][]byte, error) {
	s := spanScanner{b: line, paths: paths, spans: make([][]byte, len(paths))}
	var root []string
	if len(paths) > 0 {
		root = []string{}
	}
	end, err := s.scan(skipWS(line, 0), root)
	if err != nil {
		return nil, err
	}
	if skipWS(line, end) != len(line) {
		return nil, fmt.Errorf("%w: data after the value at byte %d", errSyntax, end)
	}
	return s.spans, nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func equalPrefix(p, cur []string) bool {
	for i := range cur {
		if p[i] != cur[i] {
			return false
		}
	}
	return true
}

func (s *spanScanner) record(cur []string, start, end int) {
	for k, p := range s.paths {
		if len(p) == len(cur) && equalPrefix(p, cur) {
			s.spans[k] = s.b[start:end]
		}
	}
}

// child is the path of the member name of the container at parent, or
// nil when no wanted path goes through it. It is a prefix of a wanted path,
// so finding it allocates nothing.
func (s *spanScanner) child(parent []string, name string) []string {
	if parent == nil {
		return nil
	}
	for _, p := range s.paths {
		if len(p) > len(parent) && p[len(parent)] == name && equalPrefix(p, parent) {
			return p[:len(parent)+1]
		}
	}
	return nil
}

// childKey is child for an object's key, given as scanned (with quotes).
func (s *spanScanner) childKey(parent []string, q []byte) ([]string, error) {
	if parent == nil {
		return nil, nil
	}
	raw := q[1 : len(q)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		// The common case: the key is its text (compared without a copy).
		for _, p := range s.paths {
			if len(p) > len(parent) && p[len(parent)] == string(raw) && equalPrefix(p, parent) {
				return p[:len(parent)+1], nil
			}
		}
		return nil, nil
	}
	k, err := unquoteKey(q)
	if err != nil {
		return nil, err
	}
	return s.child(parent, k), nil
}

// scan scans the value at i, whose path is cur (nil when no wanted path
// goes through it, to skip the bookkeeping), and returns where it ends.
func (s *spanScanner) scan(i int, cur []string) (int, error) {
	b := s.b
	var stack []container
	for {
		// A value starts at i.
		if i >= len(b) {
			return i, fmt.Errorf("%w: unexpected end of line", errSyntax)
		}
		start := i
		var err error
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack) == maxDepth {
				return i, errTooDeep
			}
			stack = append(stack, container{array: c == '[', start: i, path: cur})
			i = skipWS(b, i+1)
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				i++
				stack = stack[:len(stack)-1]
				break // an empty container is a value like any other
			}
			if c == '[' {
				cur = s.child(cur, "0")
			} else if i, cur, err = s.key(i, cur); err != nil {
				return i, err
			}
			continue // to the first member's value
		case c == '"':
			i, err = scanString(b, i)
		case c == '-' || c >= '0' && c <= '9':
			i, err = scanNumber(b, i)
		case bytes.HasPrefix(b[i:], []byte("true")):
			i += 4
		case bytes.HasPrefix(b[i:], []byte("false")):
			i += 5
		case bytes.HasPrefix(b[i:], []byte("null")):
			i += 4
		default:
			return i, fmt.Errorf("%w: unexpected %q at byte %d", errSyntax, c, i)
		}
		if err != nil {
			return i, err
		}
		if cur != nil {
			s.record(cur, start, i)
		}
		// The value ended at i: go on to the next member, closing the
		// containers that end here.
		for {
			if len(stack) == 0 {
				return i, nil
			}
			top := &stack[len(stack)-1]
			i = skipWS(b, i)
			closer := byte('}')
			if top.array {
				closer = ']'
			}
			if i < len(b) && b[i] == ',' {
				i = skipWS(b, i+1)
				if top.array {
					top.index++
					cur = nil
					if top.path != nil {
						cur = s.child(top.path, strconv.Itoa(top.index))
					}
				} else if i, cur, err = s.key(i, top.path); err != nil {
					return i, err
				}
				break
			}
			if i < len(b) && b[i] == closer {
				i++
				if top.path != nil {
					s.record(top.path, top.start, i)
				}
				stack = stack[:len(stack)-1]
				continue
			}
			return i, fmt.Errorf("%w: expected ',' or '%c' at byte %d", errSyntax, closer, i)
		}
	}
}

// key scans an object's key and its colon at i and returns where the value
// starts and its path (nil when no wanted path goes through it).
func (s *spanScanner) key(i int, parent []string) (int, []string, error) {
	b := s.b
	if i >= len(b) || b[i] != '"' {
		return i, nil, fmt.Errorf("%w: expected a key at byte %d", errSyntax, i)
	}
	kend, err := scanString(b, i)
	if err != nil {
		return i, nil, err
	}
	cur, err := s.childKey(parent, b[i:kend])
	if err != nil {
		return i, nil, err
	}
	i = skipWS(b, kend)
	if i >= len(b) || b[i] != ':' {
		return i, nil, fmt.Errorf("%w: expected ':' at byte %d", errSyntax, i)
	}
	return skipWS(b, i+1), cur, nil
}

// unquoteKey is a key's text, its escapes (\/, \uXXXX, surrogate pairs)
// and any invalid UTF-8 decoded by JSON's rules, as encoding/json decodes
// the document's keys. q is a string scanString accepted.
func unquoteKey(q []byte) (string, error) {
	var k string
	if err := json.Unmarshal(q, &k); err != nil {
		return "", fmt.Errorf("%w: key %s: %v", errSyntax, q, err)
	}
	return k, nil
}

func scanString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			if j+1 >= len(b) {
				return j, fmt.Errorf("%w: unterminated string", errSyntax)
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+5 >= len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return j, fmt.Errorf("%w: bad \\u escape at byte %d", errSyntax, j)
				}
				j += 5
			default:
				return j, fmt.Errorf("%w: bad escape at byte %d", errSyntax, j)
			}
		case c < 0x20:
			return j, fmt.Errorf("%w: control character in a string at byte %d", errSyntax, j)
		}
	}
	return len(b), fmt.Errorf("%w: unterminated string", errSyntax)
}

// scanNumber checks JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, error) {
	j := i
	digits := func() int {
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j - k
	}
	bad := func(j int) (int, error) { return j, fmt.Errorf("%w: bad number at byte %d", errSyntax, i) }
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case digits() == 0:
		return bad(j)
	}
	if j < len(b) && b[j] == '.' {
		j++
		if digits() == 0 {
			return bad(j)
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return bad(j)
		}
	}
	return j, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
