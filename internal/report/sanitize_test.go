package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\twith tab\n":         "plain text\twith tab\n",
		"red \x1b[31malert\x1b[0m":       `red \u001b[31malert\u001b[0m`,
		"title \x1b]0;pwned\x07":         `title \u001b]0;pwned\u0007`,
		"over\rwrite":                    `over\u000dwrite`,
		"nul\x00 del\x7f":                `nul\u0000 del\u007f`,
		"c1 \u009b31m":                   `c1 \u009b31m`,
		"admin\u202e\u2066txt.exe\u2069": `admin\u202e\u2066txt.exe\u2069`,
		"lrm\u200e rlm\u200f alm\u061c":  `lrm\u200e rlm\u200f alm\u061c`,
		"bad \xff utf8":                  `bad \xff utf8`,
		"über → ok ✓":                    "über → ok ✓",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTerminalWriter: characters split across writes are neither broken
// nor let through, and JSON written through the writer stays valid and
// decodes to the same strings.
func TestTerminalWriter(t *testing.T) {
	var b bytes.Buffer
	w := Terminal(&b)
	in := "ü\u202e\x1b[2J✓"
	for i := 0; i < len(in); i++ { // one byte a write
		if _, err := w.Write([]byte{in[i]}); err != nil {
			t.Fatal(err)
		}
	}
	w.Write([]byte{0xe2}) // an incomplete character at the very end
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := `ü\u202e\u001b[2J✓\xe2`; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}

	b.Reset()
	subject := "fix \u202eevil\u2069 \u0085 \x1b[31m"
	if err := JSON(w, map[string]string{"subject": subject}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if strings.ContainsRune(b.String(), 0x202e) || strings.ContainsRune(b.String(), 0x85) {
		t.Errorf("raw bidi or C1 character in %q", b.String())
	}
	var got struct {
		Subject string `json:"subject"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil || got.Subject != subject {
		t.Errorf("JSON through the writer = %q (%v); want it to decode to %q", b.String(), err, subject)
	}
}
