package replay

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// A scanner checks that a line is one valid JSON value and finds the raw
// text of the values at some paths, without building the document: most of
// a log line is never validated, so it need not be decoded.

var errSyntax = errors.New("invalid JSON")

type spanScanner struct {
	b     []byte
	paths [][]string
	spans [][]byte
}

// scanSpans validates line and returns, for each path, the raw text of the
// value there (nil if absent).
func scanSpans(line []byte, paths [][]string) ([][]byte, error) {
	s := spanScanner{b: line, paths: paths, spans: make([][]byte, len(paths))}
	i := skipWS(line, 0)
	var root []string
	if len(paths) > 0 {
		root = []string{}
	}
	end, err := s.value(i, root)
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

// interesting reports whether some path starts with (or equals) cur.
func (s *spanScanner) interesting(cur []string) bool {
	for _, p := range s.paths {
		if len(p) >= len(cur) && equalPrefix(p, cur) {
			return true
		}
	}
	return false
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

// value scans the value at i; cur is its path when some wanted path goes
// through it (nil otherwise, to skip the bookkeeping).
func (s *spanScanner) value(i int, cur []string) (int, error) {
	b := s.b
	if i >= len(b) {
		return i, fmt.Errorf("%w: unexpected end of line", errSyntax)
	}
	start := i
	var end int
	var err error
	switch c := b[i]; {
	case c == '{':
		end, err = s.object(i, cur)
	case c == '[':
		end, err = s.array(i, cur)
	case c == '"':
		end, err = scanString(b, i)
	case c == '-' || c >= '0' && c <= '9':
		end, err = scanNumber(b, i)
	case bytes.HasPrefix(b[i:], []byte("true")):
		end = i + 4
	case bytes.HasPrefix(b[i:], []byte("false")):
		end = i + 5
	case bytes.HasPrefix(b[i:], []byte("null")):
		end = i + 4
	default:
		return i, fmt.Errorf("%w: unexpected %q at byte %d", errSyntax, c, i)
	}
	if err == nil && cur != nil {
		s.record(cur, start, end)
	}
	return end, err
}

func (s *spanScanner) object(i int, cur []string) (int, error) {
	b := s.b
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, fmt.Errorf("%w: expected a key at byte %d", errSyntax, i)
		}
		kend, err := scanString(b, i)
		if err != nil {
			return i, err
		}
		var child []string
		if cur != nil {
			key := b[i+1 : kend-1]
			k := string(key)
			if bytes.IndexByte(key, '\\') >= 0 {
				if u, err := strconv.Unquote(string(b[i:kend])); err == nil {
					k = u
				}
			}
			next := append(append([]string(nil), cur...), k)
			if s.interesting(next) {
				child = next
			}
		}
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return i, fmt.Errorf("%w: expected ':' at byte %d", errSyntax, i)
		}
		if i, err = s.value(skipWS(b, i+1), child); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		return i, fmt.Errorf("%w: expected ',' or '}' at byte %d", errSyntax, i)
	}
}

func (s *spanScanner) array(i int, cur []string) (int, error) {
	b := s.b
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for n := 0; ; n++ {
		var child []string
		if cur != nil {
			next := append(append([]string(nil), cur...), strconv.Itoa(n))
			if s.interesting(next) {
				child = next
			}
		}
		var err error
		if i, err = s.value(i, child); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		return i, fmt.Errorf("%w: expected ',' or ']' at byte %d", errSyntax, i)
	}
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
	bad := fmt.Errorf("%w: bad number at byte %d", errSyntax, i)
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case digits() == 0:
		return j, bad
	}
	if j < len(b) && b[j] == '.' {
		j++
		if digits() == 0 {
			return j, bad
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return j, bad
		}
	}
	return j, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
