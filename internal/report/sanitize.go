package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// unsafeRune reports whether r must not reach a terminal as it is: a
// control character other than tab and newline (C0, DEL, C1: they move
// the cursor, rewrite lines, change colours or the window title), or a
// bidirectional formatting character (it can make text display in an
// order other than the one it has, hiding what a line really says).
func unsafeRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r == 0x061c || r == 0x200e || r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Sanitize returns s with every unsafe character escaped as \uXXXX (and
// bytes that are not UTF-8 as \xNN), so that text from a repository
// (commit subjects, branch names, test output) shows on a terminal as what
// it is. The \uXXXX escapes are also valid in JSON strings, so a JSON
// document stays valid and means the same.
func Sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Terminal wraps w so that everything written through it is sanitised
// (see Sanitize). A character split across two writes is held back until
// its end arrives; Flush writes what is held at the end of the output.
func Terminal(w io.Writer) *TerminalWriter {
	return &TerminalWriter{w: w}
}

// TerminalWriter is a sanitising writer; see Terminal.
type TerminalWriter struct {
	w       io.Writer
	pending []byte
}

func (t *TerminalWriter) Write(p []byte) (int, error) {
	data := append(t.pending, p...)
	t.pending = nil
	// Hold back an incomplete character at the end (at most 3 bytes).
	cut := len(data)
	for k := 1; k <= 3 && k <= len(data); k++ {
		c := data[len(data)-k]
		if utf8.RuneStart(c) {
			if !utf8.FullRune(data[len(data)-k:]) {
				cut = len(data) - k
			}
			break
		}
	}
	t.pending = append(t.pending, data[cut:]...)
	if _, err := io.WriteString(t.w, Sanitize(string(data[:cut]))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Underlying is the writer t writes to, for what must reach a terminal
// as it is (a progress line's own cursor movements).
func (t *TerminalWriter) Underlying() io.Writer { return t.w }

// Flush writes a held-back incomplete character, escaped.
func (t *TerminalWriter) Flush() error {
	if len(t.pending) == 0 {
		return nil
	}
	s := Sanitize(string(t.pending))
	t.pending = nil
	_, err := io.WriteString(t.w, s)
	return err
}
