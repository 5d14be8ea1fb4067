// Package ecosystem is what cascade's verification needs from a language
// ecosystem, behind one small interface: which units of an upstream module
// a change touches, which units of a downstream module import them, how a
// downstream's tree is pointed at other versions of its upstreams, the
// commands that build and test it, and how their output becomes named test
// results. The gomod and npm packages implement it; verify holds the
// pairing, the verdicts, the change sets and the cache, and knows no
// ecosystem by name.
package ecosystem

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/sandbox"
)

// Module is one module of a repo: a Go module or an npm package.
type Module struct {
	// Name is the module path or package name.
	Name string
	// Dir is its directory in the repo, slash-separated; "." for the root.
	Dir string
	// Requires are the modules it requires directly (for Select).
	Requires []string `json:"-"`
}

// Upstream is one upstream module put in place of the version a downstream
// requires.
type Upstream struct {
	Module
	// Ecosystem is the module's ecosystem ("go", "npm").
	Ecosystem string
	// Repo is the workspace repo the module is in.
	Repo string
	// For names the downstream module it is put in place for; "" for
	// every module of the downstream.
	For string
	// Tree is the module's directory in an extracted tree (or the user's
	// local directory) at the version to use; Root is that tree's root.
	Tree, Root string
	// Local is true for uncommitted work in a user's directory, used in
	// place.
	Local bool
	// Commit is the upstream commit of Tree ("" for a local directory);
	// Digest identifies its content (the commit, or a directory's hash).
	Commit, Digest string
	// Tags are the upstream repo's tags reachable from Commit and the
	// commits they name; Time is the commit's time. A module proxy serves
	// the commit under a version derived from them.
	Tags map[string]string
	Time time.Time
}

// Config is how a repo says it is built and tested (its .cascade.yaml);
// empty fields mean the ecosystem's defaults.
type Config struct {
	Build, Test string
	// TestReport is a report file (TAP, JUnit XML, JSON) the test command
	// writes, relative to the repo root.
	TestReport string
	// Label is how messages name the tree ("clever-api@fix").
	Label string `json:"-"`
}

// Unit is what to build and test of one downstream module.
type Unit struct {
	Module
	// Ecosystem is the module's ecosystem ("go", "npm").
	Ecosystem string `json:"ecosystem"`
	// Packages are the units to test (Go packages); nil for all.
	Packages []string `json:"packages,omitempty"`
	// Build are the units with code to build; nil with Packages nil means all.
	Build []string `json:"build,omitempty"`
}

// Selection is the part of a downstream module a change reaches.
type Selection struct {
	// All means every unit: impact could not be narrowed.
	All         bool
	Test, Build []string
}

// Stage names.
const (
	// Fetch downloads what the later stages need (with the network); its
	// failure says nothing by itself: the stages after it, offline, say
	// what could not be built.
	Fetch   = "fetch"
	Install = "install"
	Build   = "build"
	Test    = "test"
)

// Step is one command of a build-and-test run.
type Step struct {
	Stage string
	Cmd   sandbox.Cmd
	// Results, if set, makes the parser that reads the step's whole output
	// as a stream (it is given as the command's Stream).
	Results func() Parser
	// Skip, if set, is consulted just before the step runs (after the
	// earlier steps): a test step of a package without tests is skipped.
	Skip func() bool
	// Refused, if set, reads the step's output for inputs cascade refused
	// to serve it (a workspace module whose go.mod is over the manifest
	// limit): such an error makes the attempt bad input, not a failure of
	// the code.
	Refused func(output string) error
}

// Parser reads a command's output as it is written and says, at the end,
// what it reported test by test. Its memory is bounded whatever the
// output's volume.
type Parser interface {
	io.Writer
	// Finish is called once the command has ended.
	Finish() Results
}

// Results is what one test command reported.
type Results struct {
	// Failed names the failing tests (stable names: the same test has the
	// same name in every tree), sorted.
	Failed []string
	// BuildFailed names the units that did not compile.
	BuildFailed []string
	// Named is true when the runner reported its tests one by one, so that
	// Failed says everything that failed.
	Named bool
	// Passed names the top-level tests that passed, when PassedKnown (the
	// runner says, and there were not too many to keep).
	Passed      []string
	PassedKnown bool
	// Reports counts the test reports the runners produced (TAP streams,
	// report files); -1 when the ecosystem does not count them.
	Reports int
	// Tested counts the tests and units that ran to a result; zero with
	// BuildFailed set means nothing built.
	Tested int
	// Stopped says why a test runner cascade expected to name tests said
	// nothing (the script stopped before it ran); "" otherwise.
	Stopped string
	// Log is the human-readable part of the output worth showing, bounded.
	Log string
	// Signature identifies the output with tree paths and timings taken
	// out, so that two failures that cannot be compared test by test can
	// still be told equal or not.
	Signature string
}

// Ecosystem is one language's way of verifying modules.
type Ecosystem interface {
	// Name is the ecosystem's name in the graph: "go" or "npm".
	Name() string
	// Toolchain names the versions of the tools results depend on; an
	// error when they cannot run.
	Toolchain(ctx context.Context) (string, error)
	// Pins reports whether a manifest pins the exact versions it requires
	// (go.mod does, package.json's ranges do not). A baseline is then built
	// as it is; otherwise the releases its requirements select today are
	// put in place first.
	Pins() bool
	// Release returns the tag or commit of upstream module m that a
	// requirement (a version, a range) selects among tags (the upstream
	// repo's tags, "dir/v1.2.0" for a module in dir), or "" when it
	// selects none of them.
	Release(m Module, required string, tags []string) string
	// Changes maps the files that differ between two trees of an upstream
	// repo (base and cand, rooted at the repo root) to the units of module
	// m they change. nested are the directories of the repo's other modules
	// of this ecosystem. all is true when the change cannot be narrowed (a
	// changed manifest, a path that maps to no unit, an ecosystem that
	// does not narrow); why says so.
	Changes(m Module, nested, files []string, base, cand fs.FS) (units map[string]bool, all bool, why string)
	// Select picks the units of downstream module m (in tree, its
	// baseline) that import one of the changed units, running commands
	// through run.
	Select(ctx context.Context, run Runner, tree string, m Module, changed map[string]bool) (Selection, error)
	// Prepare puts upstreams in place in the tree of a downstream module
	// (dir; the repo's tree is root) and returns the steps that build and
	// test unit u. With no upstreams the tree is built as it is (the
	// baseline, for ecosystems whose manifest pins versions).
	Prepare(ctx context.Context, run Runner, root, dir string, u Unit, cfg Config, ups []Upstream) ([]Step, error)
	// Close releases what the ecosystem started (a module proxy).
	Close() error
}

// Runner runs a sandboxed command with the verification's limits. It
// returns an error only when the context ends.
type Runner func(ctx context.Context, c sandbox.Cmd) (sandbox.Result, error)

// Normalizer takes the parts of output lines that differ between two runs
// of the same failure out of a signature: the trees' absolute paths and
// timings.
type Normalizer struct {
	roots []string
	h     hash.Hash
}

var timing = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms|s|m)\b`)

// NewNormalizer returns a Normalizer that replaces each of roots (absolute
// paths) with a placeholder.
func NewNormalizer(roots ...string) *Normalizer {
	n := &Normalizer{h: sha256.New()}
	for _, r := range roots {
		if r != "" && r != "/" {
			n.roots = append(n.roots, r)
		}
	}
	return n
}

// Line normalizes one line and adds it to the signature.
func (n *Normalizer) Line(line string) {
	for _, r := range n.roots {
		line = strings.ReplaceAll(line, r, "<tree>")
	}
	line = timing.ReplaceAllString(line, "<t>")
	io.WriteString(n.h, line)
	n.h.Write([]byte{'\n'})
}

// Sum is the signature of the lines so far.
func (n *Normalizer) Sum() string { return hex.EncodeToString(n.h.Sum(nil))[:32] }

// Rel takes the absolute paths of roots out of s (a test's name that holds
// its file's path): "/tmp/x/test/a.js > works" becomes "test/a.js > works".
func Rel(s string, roots ...string) string {
	for _, r := range roots {
		if r == "" || r == "/" {
			continue
		}
		s = strings.ReplaceAll(s, r+"/", "")
		if s == r {
			return "."
		}
	}
	return s
}

// Lines splits a stream into lines for a parser, holding at most max bytes
// of a line: a longer line is cut (its start is kept) and flagged.
type Lines struct {
	max  int
	buf  []byte
	over bool
	// Each is called for every complete line, without its newline; long
	// is true when the line was cut.
	Each func(line []byte, long bool)
}

// NewLines returns a line splitter; max <= 0 means 1 MiB.
func NewLines(max int, each func(line []byte, long bool)) *Lines {
	if max <= 0 {
		max = 1 << 20
	}
	return &Lines{max: max, Each: each}
}

// Write splits p into lines.
func (l *Lines) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := l.max - len(l.buf); room > 0 {
			if len(chunk) > room {
				l.buf = append(l.buf, chunk[:room]...)
				l.over = true
			} else {
				l.buf = append(l.buf, chunk...)
			}
		} else if len(chunk) > 0 {
			l.over = true
		}
		if i < 0 {
			break
		}
		l.Each(l.buf, l.over)
		l.buf, l.over = l.buf[:0], false
		p = p[i+1:]
	}
	return n, nil
}

// Flush ends the stream: a last line without a newline is passed on.
func (l *Lines) Flush() {
	if len(l.buf) > 0 || l.over {
		l.Each(l.buf, l.over)
		l.buf, l.over = l.buf[:0], false
	}
}

// Log keeps a bounded human-readable log: the first max bytes written,
// then a note of how much was left out.
type Log struct {
	max     int
	b       strings.Builder
	dropped int64
}

// NewLog returns a Log of at most max bytes.
func NewLog(max int) *Log { return &Log{max: max} }

// WriteString adds s, or what fits of it.
func (l *Log) WriteString(s string) {
	if room := l.max - l.b.Len(); room > 0 {
		if len(s) > room {
			l.dropped += int64(len(s) - room)
			s = s[:room]
		}
		l.b.WriteString(s)
		return
	}
	l.dropped += int64(len(s))
}

// Len is how many bytes the log holds.
func (l *Log) Len() int { return l.b.Len() }

// String is the log, with a note of what was left out.
func (l *Log) String() string {
	if l.dropped > 0 {
		return l.b.String() + "\n[... " + strconv.FormatInt(l.dropped, 10) + " more bytes of output not kept ...]\n"
	}
	return l.b.String()
}
