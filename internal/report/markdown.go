package report

import (
	"html"
	"strings"
)

// Markdown reports carry text from repositories and from the commands
// cascade ran (test names, failure reasons, command output, refs): on a
// code host that renders the comment, raw text could open HTML, hide the
// rest of the report in a comment, close a code span or a fence, or break
// a table. Every such value goes through one of the helpers below.

// mdText is s as plain Markdown text on one line: unsafe characters
// escaped (Sanitize), HTML's <, > and & as entities, and the characters
// Markdown gives a meaning (emphasis, links, code, tables, headings,
// lists) escaped with a backslash.
func mdText(s string) string {
	s = oneLine(Sanitize(s))
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '`', '*', '_', '[', ']', '|', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode is s as an inline code span that s cannot close: its fence is
// one backtick longer than the longest run of backticks in s. A | is
// escaped, as a table cell needs even inside code.
func mdCode(s string) string {
	s = strings.ReplaceAll(oneLine(Sanitize(s)), "|", `\|`)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || s == "" {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdBlock is s as a fenced code block that s cannot close, ending with a
// newline.
func mdBlock(s string) string {
	s = Sanitize(s)
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	return fence + "\n" + strings.TrimSuffix(s, "\n") + "\n" + fence + "\n"
}

// htmlText is s as text inside an HTML element (a <summary>): unsafe
// characters escaped, on one line, HTML's special characters as entities.
func htmlText(s string) string {
	return html.EscapeString(oneLine(Sanitize(s)))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// mdCodes is a list of code spans, separated by commas.
func mdCodes(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = mdCode(x)
	}
	return strings.Join(out, ", ")
}
