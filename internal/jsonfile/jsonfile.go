// Package jsonfile holds what every JSON file cascade decides on (a JSON
// Schema, a package.json) must satisfy beyond JSON's own syntax: no object
// names a key twice. RFC 8259 leaves a duplicate's meaning open, and
// readers differ (Go's encoding/json and JSON.parse take the last value,
// others the first or an error), so a schema or manifest with one could
// mean one thing to cascade and another to the tool that uses it. Data
// (request logs) is not checked: it is judged as the validator reads it.
package jsonfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// DuplicateKeyError is an object that names one key twice.
type DuplicateKeyError struct {
	File string
	Key  string
	// Line and Col are the second occurrence; FirstLine and FirstCol the
	// first (1-based; a column counts bytes).
	Line, Col           int
	FirstLine, FirstCol int
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("%s:%d:%d: duplicate key %q (first at %s:%d:%d); JSON readers disagree on which one counts: keep one of them",
		e.File, e.Line, e.Col, e.Key, e.File, e.FirstLine, e.FirstCol)
}

// object is an object being read: its keys so far, and whether a key comes
// next (else the value of the last key).
type object struct {
	seen     map[string]int64 // key → offset of its opening quote
	wantsKey bool
}

// CheckKeys returns an Invalid error (exit 2) wrapping a
// *DuplicateKeyError for the first object in data, the JSON file named
// file, that holds a key twice. Keys are compared as decoded ("a" and
// "\u0061" are one key). It does not judge the syntax: data that is not
// JSON yields nil from here and its error from the caller's parser.
func CheckKeys(file string, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*object
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // the caller's parser reports it
		}
		var top *object
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.wantsKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				markValue(stack)
				continue
			}
			key, _ := tok.(string)
			at := before + int64(bytes.IndexByte(data[before:], '"'))
			if first, ok := top.seen[key]; ok {
				line, col := position(data, at)
				fline, fcol := position(data, first)
				return errkind.Wrap(errkind.Invalid, &DuplicateKeyError{File: file, Key: key, Line: line, Col: col, FirstLine: fline, FirstCol: fcol})
			}
			top.seen[key] = at
			top.wantsKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{seen: map[string]int64{}, wantsKey: true})
		case json.Delim('['):
			stack = append(stack, nil)
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			markValue(stack)
		default:
			markValue(stack)
		}
	}
}

// markValue records that the innermost object got the value of its key:
// a key comes next.
func markValue(stack []*object) {
	if len(stack) > 0 && stack[len(stack)-1] != nil {
		stack[len(stack)-1].wantsKey = true
	}
}

// position is the 1-based line and byte column of offset off in data.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	return bytes.Count(before, []byte("\n")) + 1, int(off) - bytes.LastIndexByte(before, '\n')
}
