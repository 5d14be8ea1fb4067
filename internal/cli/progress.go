package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/cascade-dev/cascade/internal/report"
)

// progress reports the units of a long command (downstreams verified,
// gates checked, modules compared, lines replayed) on stderr, never on
// stdout, so that --json stays one document: on a terminal a progress
// bar; elsewhere (a CI log) one line per finished unit, with its time and
// the time elapsed, so that a long run is never silent; nothing with
// --quiet. A nil *progress does nothing.
type progress struct {
	a     *app
	what  string
	start time.Time
	bar   *progressbar.ProgressBar // on a terminal

	mu      sync.Mutex
	done    int
	total   int
	running []string
}

// newProgress starts reporting a command's units (total may be 0 while
// unknown). stop it when the command is done.
func (a *app) newProgress(what string, total int) *progress {
	if a.quiet {
		return nil
	}
	p := &progress{a: a, what: what, start: time.Now(), total: total}
	if isTerminal(a.stderr) {
		max := total
		if max <= 0 {
			max = -1
		}
		p.bar = progressbar.NewOptions(max,
			progressbar.OptionSetWriter(raw(a.stderr).(io.Writer)),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionUseANSICodes(true),
		)
	}
	a.progMu.Lock()
	a.active = p
	a.progMu.Unlock()
	return p
}

// setTotal sets the number of units once it is known.
func (p *progress) setTotal(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n == p.total {
		return
	}
	p.total = n
	if p.bar != nil {
		p.bar.ChangeMax(n)
	}
}

// begin marks a unit as running (named in the bar's description).
func (p *progress) begin(unit string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = append(p.running, unit)
	p.describe()
}

// finish counts a unit as done, with its outcome and how long it took.
func (p *progress) finish(unit, outcome string, took time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.running {
		if r == unit {
			p.running = append(p.running[:i], p.running[i+1:]...)
			break
		}
	}
	p.done++
	if p.bar != nil {
		p.describe()
		_ = p.bar.Add(1)
		return
	}
	count := strconv.Itoa(p.done)
	if p.total > 0 {
		count += "/" + strconv.Itoa(p.total)
	}
	line := fmt.Sprintf("%s [%s] %s: %s", p.what, count, unit, outcome)
	if took > 0 {
		line += fmt.Sprintf(" in %s", round(took))
	}
	p.a.errLine(fmt.Sprintf("%s (%s elapsed)", line, round(time.Since(p.start))))
}

// note writes a line about the run: a bar shows it as its description, a
// log gets it as a line.
func (p *progress) note(line string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe(report.Sanitize(p.what + ": " + line))
		return
	}
	p.a.errLine(fmt.Sprintf("%s: %s (%s elapsed)", p.what, line, round(time.Since(p.start))))
}

func (p *progress) describe() {
	if p.bar == nil {
		return
	}
	d := p.what
	if len(p.running) > 0 {
		d += ": " + strings.Join(p.running, ", ")
	}
	if len(d) > 60 {
		d = d[:57] + "..."
	}
	p.bar.Describe(report.Sanitize(d))
}

// stop ends the report (a bar is cleared from the terminal).
func (p *progress) stop() {
	if p == nil {
		return
	}
	p.a.progMu.Lock()
	if p.a.active == p {
		p.a.active = nil
	}
	p.a.progMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
		_ = p.bar.Exit()
	}
}

// logCommand writes a command cascade runs to stderr (--verbose), above
// the progress bar if one is shown.
func (a *app) logCommand(dir string, argv []string) {
	var b strings.Builder
	b.WriteString("+")
	for _, s := range argv {
		b.WriteByte(' ')
		b.WriteString(shellWord(s))
	}
	if dir != "" {
		b.WriteString("  (in " + dir + ")")
	}
	a.progMu.Lock()
	p := a.active
	a.progMu.Unlock()
	if p != nil && p.bar != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		_ = p.bar.Clear()
	}
	a.errLine(b.String())
}

// errLine writes one line to stderr; lines from several goroutines (jobs
// running at once) never interleave.
func (a *app) errLine(line string) {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	fmt.Fprintln(a.stderr, line)
}

// round is a duration as a person reads it in a log.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
