package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/verify"
)

// logLines is how many lines of a failing command's output the text and
// Markdown reports show.
const logLines = 25

func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %s above ...]", plural.Count(len(lines)-n, "line"))}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

func dur(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func upstreamLabel(m verify.Member) string {
	s := m.Repo + "@" + m.Ref
	if m.Commit != "" {
		s += " (" + short(m.Commit) + ")"
	}
	return s
}

// VerifyText writes a verification for a person: the table of verdicts,
// the details of every regression, and the conclusion.
func VerifyText(w io.Writer, r *verify.Report) error {
	fmt.Fprintf(w, "Verified downstreams of %s", upstreamLabel(r.Upstream))
	for _, m := range r.With {
		fmt.Fprintf(w, " with %s", upstreamLabel(m))
	}
	fmt.Fprintln(w)
	if len(r.Results) == 0 {
		fmt.Fprintln(w, "no downstream to verify")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPO\tREF\tSTATE\tBASELINE\tCANDIDATE\tVERDICT\tTIME\tNOTE")
	for _, res := range r.Results {
		note := res.Reason
		switch {
		case res.Cause != "":
			note = "through " + res.Cause
		case res.BuildFailure:
		case len(res.Tests) > 0 && (res.Verdict == verify.Regressed || res.Verdict == verify.Flaky || res.Verdict == verify.Broken):
			note = strings.Join(shortList(res.Tests, 3), ", ")
		}
		t := dur(res.DurationMS)
		if res.Cached {
			t += " (cached)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", res.Repo, res.Ref, res.State, res.Baseline, res.Candidate, strings.ToUpper(res.Verdict), t, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		if res.Verdict != verify.Regressed && res.Verdict != verify.Error {
			continue
		}
		fmt.Fprintf(w, "\n%s %s@%s (%s): %s\n", strings.ToUpper(res.Verdict), res.Repo, res.Ref, res.State, res.Reason)
		if res.Cause != "" {
			fmt.Fprintf(w, "  cause: %s regressed first; this repo fails through it\n", res.Cause)
		}
		if res.Command != "" {
			fmt.Fprintf(w, "  command: %s\n", res.Command)
		}
		switch {
		case len(res.Tests) > 0 && res.BuildFailure:
			fmt.Fprintf(w, "  does not build: %s\n", strings.Join(res.Tests, ", "))
		case len(res.Tests) > 0:
			fmt.Fprintf(w, "  failing tests: %s\n", strings.Join(res.Tests, ", "))
		}
		if len(res.BaselineFailed) > 0 {
			fmt.Fprintf(w, "  failing at the baseline too: %s\n", strings.Join(shortList(res.BaselineFailed, 10), ", "))
		}
		if res.Log != "" {
			fmt.Fprintf(w, "  output:\n%s\n", indent(lastLines(res.Log, logLines), "    "))
		}
	}
	fmt.Fprintf(w, "\n%s\n", summaryLine(r))
	fmt.Fprintf(w, "Conclusion: %s.\n", r.Conclusion)
	if r.Unisolated {
		fmt.Fprintln(w, "Warning: the builds and tests ran unisolated (--unsafe-sandbox): their code could read and write this machine.")
	}
	return nil
}

func shortList(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(append([]string(nil), items[:n]...), fmt.Sprintf("and %d more", len(items)-n))
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

func summaryLine(r *verify.Report) string {
	var parts []string
	for _, v := range verify.Verdicts {
		if n := r.Summary[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	if len(parts) == 0 {
		return "Summary: nothing verified"
	}
	return "Summary: " + strings.Join(parts, ", ")
}

var verdictIcon = map[string]string{
	verify.Passed: "✅", verify.Regressed: "❌", verify.Fixed: "🔧", verify.Broken: "⚠️",
	verify.Flaky: "🎲", verify.Skipped: "⏭️", verify.Error: "💥",
}

// VerifyMarkdown writes a verification as Markdown for a pull-request comment.
func VerifyMarkdown(w io.Writer, r *verify.Report) error {
	fmt.Fprintf(w, "### cascade verify: downstreams of %s", mdCode(upstreamLabel(r.Upstream)))
	for _, m := range r.With {
		fmt.Fprintf(w, " with %s", mdCode(upstreamLabel(m)))
	}
	fmt.Fprintf(w, "\n\n**%s.**\n\n", mdText(capitalize(r.Conclusion)))
	fmt.Fprintln(w, "| repo | ref | state | baseline | candidate | verdict | time | note |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, res := range r.Results {
		note := mdText(res.Reason)
		if res.Cause != "" {
			note = "through " + mdText(res.Cause)
		}
		if len(res.Tests) > 0 {
			note = mdCodes(res.Tests[:min(3, len(res.Tests))])
			if len(res.Tests) > 3 {
				note += fmt.Sprintf(" and %d more", len(res.Tests)-3)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s %s | %s | %s |\n", mdText(res.Repo), mdCode(res.Ref), mdText(res.State), mdText(res.Baseline), mdText(res.Candidate),
			verdictIcon[res.Verdict], res.Verdict, dur(res.DurationMS), note)
	}
	fmt.Fprintf(w, "\n%s\n", summaryLine(r))
	for _, res := range r.Results {
		if res.Verdict != verify.Regressed && res.Verdict != verify.Error {
			continue
		}
		fmt.Fprintf(w, "\n<details><summary>%s</summary>\n\n", htmlText(fmt.Sprintf("%s %s@%s (%s): %s", res.Verdict, res.Repo, res.Ref, res.State, res.Reason)))
		if res.Command != "" {
			fmt.Fprintf(w, "Command: %s\n\n", mdCode(res.Command))
		}
		if len(res.Tests) > 0 {
			fmt.Fprintf(w, "Failing tests: %s\n\n", mdCodes(res.Tests))
		}
		if res.Log != "" {
			fmt.Fprint(w, mdBlock(lastLines(res.Log, logLines)))
		}
		fmt.Fprintln(w, "</details>")
	}
	return nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// VerifyJUnit writes a verification as JUnit XML: one test case per
// downstream and state, for CI systems.
func VerifyJUnit(w io.Writer, r *verify.Report) error {
	s := junitSuite{Name: "cascade verify " + r.Upstream.Repo + "@" + r.Upstream.Ref}
	var total int64
	for _, res := range r.Results {
		c := junitCase{Name: res.Repo + "@" + res.Ref + " (" + res.State + ")", Classname: "cascade.verify." + r.Upstream.Repo,
			Time: fmt.Sprintf("%.3f", float64(res.DurationMS)/1000)}
		total += res.DurationMS
		msg := res.Verdict
		if res.Reason != "" {
			msg += ": " + res.Reason
		}
		body := ""
		if res.Command != "" {
			body = "command: " + res.Command + "\n"
		}
		if len(res.Tests) > 0 {
			body += "tests: " + strings.Join(res.Tests, ", ") + "\n"
		}
		body += res.Log
		switch res.Verdict {
		case verify.Regressed:
			s.Failures++
			c.Failure = &junitProblem{Message: msg, Type: res.Verdict, Body: body}
		case verify.Error:
			s.Errors++
			c.Error = &junitProblem{Message: msg, Type: res.Verdict, Body: body}
		case verify.Skipped:
			s.Skipped++
			c.Skipped = &junitProblem{Message: msg}
		default:
			c.SystemOut = msg + "\n" + body
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	s.Time = fmt.Sprintf("%.3f", float64(total)/1000)
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
