package npm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Collector reads a test command's output as a stream (TAP, whatever else
// is printed between) and, once the command has ended, the report files
// in reportDir. root is the package directory: its absolute path (and any
// symlink-resolved form of it) is removed from names. Memory stays bounded
// whatever the output's volume: a line longer than 1 MiB is skipped, and
// at most 100,000 failing tests are named.
//
// Feed it stdout and stderr together (it may be both writers of an
// exec.Cmd): mocha says on stderr which test file failed to load. Use a
// new Collector, and an emptied reportDir, for each run.
type Collector struct {
	mu        sync.Mutex
	reportDir string
	t         *tally
	tap       *tapParser
	load      loadError
	line      []byte
	skipping  bool // the current line is too long: drop it up to its newline
	done      bool
	res       Results
	err       error
}

// NewCollector returns a Collector for a test run in package directory
// root whose runners write report files into reportDir ("" for none).
func NewCollector(root, reportDir string) *Collector {
	t := newTally(root)
	return &Collector{reportDir: reportDir, t: t, tap: newTAPParser(t), load: loadError{t: t}}
}

// Write reads output. It never fails.
func (c *Collector) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if c.done {
		return n, nil
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !c.skipping {
			if len(c.line)+len(chunk) > maxLine {
				c.skipping = true
				c.line = c.line[:0]
			} else {
				c.line = appendBounded(c.line, chunk)
			}
		}
		if i < 0 {
			break
		}
		if !c.skipping {
			c.readLine(string(c.line))
		}
		c.line = c.line[:0]
		c.skipping = false
		p = p[i+1:]
	}
	if cap(c.line) > 64<<10 && len(c.line) == 0 {
		c.line = nil // give back a buffer a long line grew
	}
	return n, nil
}

// appendBounded appends to a line buffer that never grows past maxLine.
func appendBounded(line, chunk []byte) []byte {
	need := len(line) + len(chunk)
	if need > cap(line) {
		grown := make([]byte, len(line), min(max(2*cap(line), need, 256), maxLine))
		copy(grown, line)
		line = grown
	}
	return append(line, chunk...)
}

func (c *Collector) readLine(s string) {
	c.tap.line(s)
	c.load.line(s)
}

// Finish ends the output and reads the report files in reportDir, in name
// order. The error names a report file that could not be read; the
// results still hold everything else. Later calls return the same.
func (c *Collector) Finish() (Results, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return c.res, c.err
	}
	c.done = true
	if len(c.line) > 0 && !c.skipping {
		c.readLine(string(c.line))
	}
	c.line = nil
	c.tap.end()
	c.load.end()
	var errs []error
	if c.reportDir != "" {
		entries, err := os.ReadDir(c.reportDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		budget, files := int64(maxReport), 0
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			if files++; files > maxReports {
				errs = append(errs, fmt.Errorf("%s: more than %d report files", c.reportDir, maxReports))
				break
			}
			if err := readReport(c.reportDir, e.Name(), c.t, &budget); err != nil {
				errs = append(errs, err)
				if errors.Is(err, errReportsTooLarge) {
					break
				}
			}
		}
	}
	c.res, c.err = c.t.results(), errors.Join(errs...)
	return c.res, c.err
}

// Reports counts the reports read, once Finish has run: TAP streams and
// report files. Fewer than the runner invocations a script holds means
// some never ran.
func (c *Collector) Reports() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t.reports
}

// loadError names a test file that mocha could not load: mocha stops the
// whole run and prints "Exception during run:" and the error's stack on
// stderr, so the file is the first stack frame inside the package.
type loadError struct {
	t       *tally
	pending string // the error message, while its stack is read
	lines   int
}

var (
	mochaLoadRe = regexp.MustCompile(`^\s*Exception during run:\s*(.*)$`)
	stackRe     = regexp.MustCompile(`^\s*at (?:.*\()?(?:file://)?(/[^():]+):\d+:\d+\)?\s*$`)
)

func (l *loadError) line(s string) {
	if !strings.Contains(s, "Exception during run:") && l.pending == "" {
		return
	}
	if m := mochaLoadRe.FindStringSubmatch(s); m != nil {
		l.end()
		l.pending, l.lines = strings.TrimSpace(m[1]), 0
		if l.pending == "" {
			l.pending = "Exception during run"
		}
		return
	}
	if l.pending == "" {
		return
	}
	if m := stackRe.FindStringSubmatch(s); m != nil {
		name := l.t.name(m[1])
		if !filepath.IsAbs(name) && !strings.Contains("/"+name, "/node_modules/") {
			l.t.fail(name)
			l.pending = ""
			return
		}
	}
	if l.lines++; l.lines > 50 {
		l.end()
	}
}

// end names the failure by its message when no stack frame was in the
// package.
func (l *loadError) end() {
	if l.pending != "" {
		l.t.fail(l.t.name(fmt.Sprintf("[exception during run] %s", l.pending)))
		l.pending = ""
	}
}
