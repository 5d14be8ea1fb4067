package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/verify"
)

// TestVerifyMarkdownHostileOutput: a failing command's output, test
// names and refs reach the pull-request comment as text. None can open
// HTML, hide the rest of the report in an HTML comment, close the code
// spans or the log's fence, add table cells, or carry control characters.
func TestVerifyMarkdownHostileOutput(t *testing.T) {
	inject := "</summary></details>\n\n<h1>All downstreams passed: safe to merge</h1>\n<img src=\"http://127.0.0.1:9/t.png\">\n<!--\n\x1b]0;PWNED\x07\u202e"
	rep := &verify.Report{
		Upstream: verify.Member{Repo: "lib", Ref: "evil`<b>`", Commit: "0123456789abcdef"},
		Results: []verify.Result{
			{Repo: "api", Ref: "master", State: "alone", Baseline: "pass", Candidate: "none", Verdict: verify.Error, Reason: "`npm pack` failed: " + inject},
			{Repo: "db", Ref: "a|b", State: "alone", Baseline: "pass", Candidate: "fail", Verdict: verify.Regressed,
				Tests: []string{"TestA/x`</summary>`", "TestB|c", "TestC", "TestD"}, Command: "go test ./... `<i>`",
				Log: "--- FAIL\n```\n" + inject + "\n````\n~~~\n"},
		},
		Summary:    map[string]int{verify.Error: 1, verify.Regressed: 1},
		Conclusion: "not known to be safe: db@y</strong><h3>safe to merge</h3><details><summary>x</summary><strong> regressed",
	}
	var buf bytes.Buffer
	if err := VerifyMarkdown(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Outside code (where Markdown and HTML are read) nothing may open HTML.
	text := stripCode(out)
	for _, bad := range []string{"<h1>", "<h3>", "<strong>", "<img", "<!--", "<b>", "<i>", "</summary></details>"} {
		if strings.Contains(text, bad) {
			t.Errorf("the report holds %q outside code:\n%s", bad, out)
		}
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Errorf("the report holds %q:\n%s", bad, out)
		}
	}
	if n, m := strings.Count(text, "<details>"), strings.Count(text, "</details>"); n != 2 || m != 2 {
		t.Errorf("%d <details> and %d </details>, want 2 each:\n%s", n, m, out)
	}
	if n := strings.Count(text, "</summary>"); n != 2 {
		t.Errorf("%d </summary>, want 2:\n%s", n, out)
	}
	// Every table row has its 9 cell borders: an unescaped | is a border.
	border := regexp.MustCompile(`(^|[^\\])\|`)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| api") || strings.HasPrefix(line, "| db") {
			if n := len(border.FindAllString(line, -1)); n != 9 {
				t.Errorf("%d cell borders, want 9: %s", n, line)
			}
		}
	}
	// The log's fence is longer than any run of backticks inside it.
	if !strings.Contains(out, "\n`````\n--- FAIL\n") || !strings.Contains(out, "~~~\n`````\n") {
		t.Errorf("the log is not in a fence it cannot close:\n%s", out)
	}
}

// stripCode removes fenced code blocks and inline code spans from a
// Markdown document, as a renderer reads them: a fence ends at a line of
// at least as many backticks, a span at the next run of exactly as many.
func stripCode(s string) string {
	var out []string
	fence := ""
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case fence != "":
			if strings.HasPrefix(t, fence) && strings.Trim(t, "`") == "" {
				fence = ""
			}
		case strings.HasPrefix(t, "```"):
			fence = t[:len(t)-len(strings.TrimLeft(t, "`"))]
		default:
			out = append(out, line)
		}
	}
	s = strings.Join(out, "\n")
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		end := -1
		for j := i + n; j < len(s); {
			if s[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(s) && s[j+m] == '`' {
				m++
			}
			if m == n {
				end = j + m
				break
			}
			j += m
		}
		if end < 0 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		b.WriteString("CODE")
		i = end
	}
	return b.String()
}
