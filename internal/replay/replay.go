// Package replay runs request logs through an old and a new JSON Schema and
// counts which requests, and which clients, would flip from accepted to
// rejected (or the reverse). It streams its input, validates on every core
// and keeps its output deterministic: the same counts and the same
// examples, in line order, whatever the number of workers.
package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/schemadiff"
)

// Formats of input.
const (
	JSONL  = "jsonl"
	Access = "access"
)

// Options control a replay.
type Options struct {
	Old, New *schemadiff.Schema
	// Format is JSONL (default) or Access.
	Format string
	// Field selects the document inside each line: a dotted path or JSON
	// pointer (jsonl), or a query parameter (access).
	Field string
	// GroupBy names the client of each line: a path (jsonl), a query
	// parameter, a log field (host, user, method, path, status, agent,
	// referer) or re:REGEXP with one capture (access).
	GroupBy string
	// Examples is how many example lines to keep per group and kind.
	Examples int
	// MaxLine is the longest line read; longer ones are counted and skipped.
	MaxLine int
	// Jobs is how many workers validate (default: cores).
	Jobs int
	// Progress, if set, is called about once a second with bytes and lines read.
	Progress func(bytes int64, lines int64)
}

// Example is one line shown in the report.
type Example struct {
	File  string `json:"file,omitempty"`
	Line  int64  `json:"line"`
	Error string `json:"error"`
}

// Group is the counts of one client.
type Group struct {
	Key           string    `json:"key"`
	Total         int64     `json:"total"`
	NewlyRejected int64     `json:"newly_rejected"`
	NewlyAccepted int64     `json:"newly_accepted"`
	StillRejected int64     `json:"still_rejected"`
	ParseErrors   int64     `json:"parse_errors"`
	Examples      []Example `json:"examples"`
	// AcceptedExamples are lines the new schema accepts and the old rejected.
	AcceptedExamples []Example `json:"accepted_examples,omitempty"`
	ErrorExamples    []Example `json:"parse_error_examples,omitempty"`
}

// Report is the outcome of a replay.
type Report struct {
	// Field and GroupBy are the --field and --group-by replayed.
	Field   string `json:"field,omitempty"`
	GroupBy string `json:"group_by,omitempty"`
	// Total is every non-blank line; Documents are the lines whose
	// document both schemas judged (accepted by both, newly rejected,
	// newly accepted, rejected by both); the others are ParseErrors.
	Total       int64 `json:"total"`
	Documents   int64 `json:"documents"`
	ParseErrors int64 `json:"parse_errors"`
	// TooLong, TooDeep and MissingField are parse errors: lines longer than
	// MaxLine, nested more than 10,000 levels, and readable lines without
	// the --field.
	TooLong      int64 `json:"too_long"`
	TooDeep      int64 `json:"too_deep"`
	MissingField int64 `json:"missing_field"`
	// Undecided lines are parse errors too: documents on which a pattern
	// took too long to match, or whose validation would cost more than
	// schemadiff.MaxEvaluations.
	Undecided     int64 `json:"undecided"`
	AcceptedBoth  int64 `json:"accepted_by_both"`
	NewlyRejected int64 `json:"newly_rejected"`
	NewlyAccepted int64 `json:"newly_accepted"`
	StillRejected int64 `json:"still_rejected"`
	// GroupMissing is the lines in which --group-by named nothing: they
	// are counted under "(none)".
	GroupMissing int64 `json:"group_missing"`
	// Groups are sorted by newly rejected requests, largest first.
	Groups []*Group `json:"groups"`
	// ParseErrorExamples are the first lines that could not be read.
	ParseErrorExamples []Example `json:"parse_error_examples,omitempty"`
	// Warnings say what the counts cannot vouch for: a --group-by that
	// named no line, a log in which no line could be read.
	Warnings   []string `json:"warnings"`
	DurationMS int64    `json:"duration_ms"`

	// nothingChecked is set when no line could be read as a document.
	nothingChecked error
	// What the messages need: the inputs' names, where --group-by was
	// looked for, the first readable line.
	files       []string
	readable    int64
	groupLooked int64
	sample      Example
	sampleLine  []byte
	// groupsCapped is set when more than MaxGroups clients were met.
	groupsCapped bool
}

// NothingChecked is an error of kind Invalid when no line could be read as
// a document (an empty log, a --field that matches no line): the counts
// then vouch for nothing, and a check must not pass on them.
func (r *Report) NothingChecked() error { return r.nothingChecked }

// Input is one file to replay: a path, or "-" for r.
type Input struct {
	Name string
	R    io.Reader
}

// TruncatedError is a compressed input that ends early.
type TruncatedError struct {
	File   string
	Offset int64
	Err    error
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("%s: compressed data ends early at byte %d (%v); the counts cover the lines before it", e.File, e.Offset, e.Err)
}

// Open opens an input file, decompressing .gz transparently.
func Open(name string, stdin io.Reader) (Input, func() error, error) {
	if name == "-" {
		return Input{Name: "stdin", R: stdin}, func() error { return nil }, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return Input{}, nil, errkind.New(errkind.Invalid, "cannot read %s: %v", name, err)
	}
	return Input{Name: name, R: f}, f.Close, nil
}

// batch is a run of lines with their numbers.
type batch struct {
	seq   int
	file  string
	first int64
	lines [][]byte
	long  []int64 // numbers of lines that were too long
	buf   []byte
}

// outcome is what a worker found for one line.
type outcome struct {
	kind   int8 // kindAccepted...
	reason int8 // why a parse error: unreadableSyntax...
	group  string
	err    string // example text for rejections and parse errors
	// readable, groupLooked and groupFound are located's.
	readable, groupLooked, groupFound bool
}

// Why a line could not be read.
const (
	unreadableSyntax int8 = iota
	unreadableMissing
	unreadableTooDeep
	unreadableUndecided
)

const (
	kindAccepted int8 = iota
	kindNewlyRejected
	kindNewlyAccepted
	kindStillRejected
	kindParseError
)

// A batch ends at batchLines lines or batchBytes bytes, whichever comes
// first: long lines (up to --max-line each, after decompression) make
// smaller batches, so the batches in flight hold a few MB whatever the
// input.
const (
	batchLines = 512
	batchBytes = 1 << 20
)

// Run replays the inputs.
func Run(ctx context.Context, inputs []Input, opt Options) (*Report, error) {
	if opt.Format == "" {
		opt.Format = JSONL
	}
	if opt.Format != JSONL && opt.Format != Access {
		return nil, errkind.New(errkind.Invalid, "unknown --format %q; use jsonl or access", opt.Format)
	}
	if opt.Examples < 0 {
		opt.Examples = 0
	}
	if opt.MaxLine <= 0 {
		opt.MaxLine = 1 << 20
	}
	if opt.Jobs <= 0 {
		opt.Jobs = runtime.NumCPU()
	}
	ex, err := newExtractor(opt)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	batches := make(chan *batch, opt.Jobs*2)
	type result struct {
		b   *batch
		out []outcome
	}
	results := make(chan result, opt.Jobs*2)
	var readErr error
	go func() {
		defer close(batches)
		readErr = read(ctx, inputs, opt, batches)
	}()
	var wg sync.WaitGroup
	for range opt.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			verdicts := &memo{m: map[string]outcome{}}
			for b := range batches {
				out := make([]outcome, len(b.lines))
				for i, line := range b.lines {
					if ctx.Err() != nil {
						return
					}
					out[i] = classify(ex, opt, line, verdicts)
				}
				select {
				case results <- result{b, out}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	// Merge in batch order, so that examples are the first lines of each
	// kind whatever the scheduling.
	rep := &Report{Field: opt.Field, GroupBy: opt.GroupBy}
	for _, in := range inputs {
		rep.files = append(rep.files, in.Name)
	}
	groups := map[string]*Group{}
	pending := map[int]result{}
	next := 0
	for r := range results {
		pending[r.b.seq] = r
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			merge(rep, groups, p.b, p.out, opt)
		}
	}
	if ctx.Err() != nil && readErr == nil {
		readErr = ctx.Err()
	}
	for _, g := range groups {
		rep.Groups = append(rep.Groups, g)
	}
	sort.Slice(rep.Groups, func(a, b int) bool {
		ga, gb := rep.Groups[a], rep.Groups[b]
		if ga.NewlyRejected != gb.NewlyRejected {
			return ga.NewlyRejected > gb.NewlyRejected
		}
		if ga.Total != gb.Total {
			return ga.Total > gb.Total
		}
		return ga.Key < gb.Key
	})
	if rep.Groups == nil {
		rep.Groups = []*Group{}
	}
	rep.check(opt)
	rep.DurationMS = time.Since(start).Milliseconds()
	return rep, readErr
}

func merge(rep *Report, groups map[string]*Group, b *batch, out []outcome, opt Options) {
	for _, n := range b.long {
		rep.Total++
		rep.ParseErrors++
		rep.TooLong++
		if len(rep.ParseErrorExamples) < opt.Examples {
			rep.ParseErrorExamples = append(rep.ParseErrorExamples, Example{File: b.file, Line: n, Error: fmt.Sprintf("line longer than %d bytes: skipped", opt.MaxLine)})
		}
	}
	for i, o := range out {
		line := b.first + int64(i)
		rep.Total++
		if o.readable {
			rep.readable++
		}
		if o.readable && rep.sampleLine == nil {
			rep.sample = Example{File: b.file, Line: line}
			rep.sampleLine = append([]byte{}, b.lines[i]...)
		}
		if o.groupLooked {
			rep.groupLooked++
			if !o.groupFound {
				rep.GroupMissing++
			}
		}
		key := boundKey(o.group)
		g := groups[key]
		if g == nil && len(groups) >= MaxGroups {
			key = otherGroups
			g = groups[key]
			rep.groupsCapped = true
		}
		if g == nil {
			g = &Group{Key: key, Examples: []Example{}}
			groups[key] = g
		}
		g.Total++
		ex := Example{File: b.file, Line: line, Error: o.err}
		switch o.kind {
		case kindAccepted:
			rep.Documents++
			rep.AcceptedBoth++
		case kindNewlyRejected:
			rep.Documents++
			rep.NewlyRejected++
			g.NewlyRejected++
			if len(g.Examples) < opt.Examples {
				g.Examples = append(g.Examples, ex)
			}
		case kindNewlyAccepted:
			rep.Documents++
			rep.NewlyAccepted++
			g.NewlyAccepted++
			if len(g.AcceptedExamples) < opt.Examples {
				g.AcceptedExamples = append(g.AcceptedExamples, ex)
			}
		case kindStillRejected:
			rep.Documents++
			rep.StillRejected++
			g.StillRejected++
		case kindParseError:
			rep.ParseErrors++
			g.ParseErrors++
			switch o.reason {
			case unreadableMissing:
				rep.MissingField++
			case unreadableTooDeep:
				rep.TooDeep++
			case unreadableUndecided:
				rep.Undecided++
			}
			if len(g.ErrorExamples) < opt.Examples {
				g.ErrorExamples = append(g.ErrorExamples, ex)
			}
			if len(rep.ParseErrorExamples) < opt.Examples {
				rep.ParseErrorExamples = append(rep.ParseErrorExamples, ex)
			}
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// read splits the inputs into batches of lines.
func read(ctx context.Context, inputs []Input, opt Options, out chan<- *batch) error {
	seq := 0
	var totalBytes, totalLines int64
	lastProgress := time.Now()
	for _, in := range inputs {
		raw := &countingReader{r: in.R}
		br := bufio.NewReaderSize(raw, 256<<10)
		var r io.Reader = br
		if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return errkind.Wrap(errkind.Infra, &TruncatedError{File: in.Name, Offset: raw.n, Err: err})
			}
			r = zr
		}
		lr := bufio.NewReaderSize(r, 256<<10)
		var lineNo int64
		b := &batch{seq: seq, file: in.Name, first: 1}
		flush := func() bool {
			if len(b.lines) == 0 && len(b.long) == 0 {
				return true
			}
			select {
			case out <- b:
			case <-ctx.Done():
				return false
			}
			seq++
			b = &batch{seq: seq, file: in.Name, first: lineNo + 1}
			return true
		}
		for {
			line, tooLong, err := readLine(lr, opt.MaxLine)
			if len(line) > 0 || tooLong || err == nil {
				lineNo++
				totalLines++
				totalBytes += int64(len(line)) + 1
				switch {
				case tooLong:
					// Keep numbering: a long line ends the batch so that the
					// batch's lines stay consecutive.
					b.long = append(b.long, lineNo)
					if !flush() {
						return ctx.Err()
					}
				case len(bytes.TrimSpace(line)) == 0:
					// A blank line is no request; it keeps its number.
					if !flush() {
						return ctx.Err()
					}
				default:
					if len(b.lines) == 0 {
						b.first = lineNo
					}
					// Lines are copied into the batch's own buffer.
					start := len(b.buf)
					b.buf = append(b.buf, line...)
					b.lines = append(b.lines, b.buf[start:len(b.buf):len(b.buf)])
					if len(b.lines) >= batchLines || len(b.buf) >= batchBytes {
						if !flush() {
							return ctx.Err()
						}
					}
				}
				if opt.Progress != nil && totalLines%4096 == 0 && time.Since(lastProgress) > time.Second {
					lastProgress = time.Now()
					opt.Progress(totalBytes, totalLines)
				}
			}
			if err != nil {
				if !flush() {
					return ctx.Err()
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) {
					return errkind.Wrap(errkind.Infra, &TruncatedError{File: in.Name, Offset: raw.n, Err: err})
				}
				return errkind.Wrap(errkind.Infra, fmt.Errorf("reading %s: %w", in.Name, err))
			}
		}
	}
	if opt.Progress != nil {
		opt.Progress(totalBytes, totalLines)
	}
	return nil
}

// readLine reads one line without its newline. A line longer than max is
// consumed and reported as tooLong. At the end of input it returns the
// last line (if any) with io.EOF.
func readLine(r *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > max+1 {
			tooLong = true
			buf = nil
		} else if !tooLong {
			if buf == nil && err == nil {
				// The common case: the whole line is in the reader's buffer.
				return trimEOL(chunk), false, nil
			}
			buf = append(buf, chunk...)
		}
		switch {
		case err == nil:
			return trimEOL(buf), tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return trimEOL(buf), tooLong, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// memoSize bounds a worker's memo of verdicts by document text, in
// entries and in bytes; documents longer than memoDoc are not remembered.
const (
	memoSize  = 1 << 16
	memoBytes = 16 << 20
	memoDoc   = 4 << 10
)

// classify validates one line against both schemas. Verdicts are
// remembered by the document's text: logs repeat the same queries.
func classify(ex *extractor, opt Options, line []byte, memo *memo) outcome {
	loc, err := ex.locate(line)
	o := outcome{}
	switch {
	case err != nil:
		o = unreadable(err)
	case loc.raw != nil && len(loc.raw) <= memoDoc:
		if m, ok := memo.m[string(loc.raw)]; ok {
			o = m
			break
		}
		o = judgeDoc(ex, opt, loc)
		memo.put(string(loc.raw), o)
	default:
		o = judgeDoc(ex, opt, loc)
	}
	o.group, o.readable, o.groupLooked, o.groupFound = loc.group, loc.readable, loc.groupLooked, loc.groupFound
	return o
}

// MaxGroups is the most clients counted apart; the lines of clients met
// after that are counted together under otherGroups, with a warning.
const MaxGroups = 10000

const otherGroups = "(other clients)"

// MaxMessage is the longest validation message kept for an example: a
// longer one (an enum of 200,000 values quoted whole) is cut, with its
// length.
const MaxMessage = 1000

// boundMessage cuts msg to MaxMessage bytes.
func boundMessage(msg string) string {
	if len(msg) <= MaxMessage {
		return msg
	}
	return fmt.Sprintf("%s…(%d bytes)", truncUTF8(msg, MaxMessage-50), len(msg))
}

// memo is a worker's verdicts by document text, bounded in entries and
// bytes.
type memo struct {
	m     map[string]outcome
	bytes int
}

func (m *memo) put(k string, o outcome) {
	if len(m.m) >= memoSize || m.bytes+len(k) > memoBytes {
		clear(m.m)
		m.bytes = 0
	}
	m.m[k] = o
	m.bytes += len(k)
}

// unreadable is the outcome of a line that could not be read.
func unreadable(err error) outcome {
	o := outcome{kind: kindParseError, err: boundMessage(err.Error())}
	var missing *missingError
	switch {
	case errors.Is(err, errTooDeep):
		o.reason = unreadableTooDeep
	case errors.As(err, &missing):
		o.reason = unreadableMissing
	case schemadiff.Undecided(err):
		o.reason = unreadableUndecided
	}
	return o
}

func judgeDoc(ex *extractor, opt Options, loc located) outcome {
	doc, err := ex.decode(loc)
	if err != nil {
		return unreadable(err)
	}
	if where, huge := schemadiff.HugeNumber(doc); huge {
		return unreadable(&schemadiff.HugeNumberError{Where: where})
	}
	// A pattern that takes too long to match, or a validation that would
	// cost more than schemadiff.MaxEvaluations, leaves the line undecided:
	// it is counted as unreadable, never as accepted or rejected.
	oldOK, err := opt.Old.Check(doc)
	if err != nil {
		return unreadable(err)
	}
	newErr := opt.New.Validate(doc)
	if schemadiff.Undecided(newErr) {
		return unreadable(newErr)
	}
	switch {
	case oldOK && newErr == nil:
		return outcome{kind: kindAccepted}
	case oldOK:
		return outcome{kind: kindNewlyRejected, err: briefError(newErr)}
	case newErr == nil:
		return outcome{kind: kindNewlyAccepted, err: briefError(opt.Old.Validate(doc))}
	}
	return outcome{kind: kindStillRejected}
}

// canonical puts a validation error in one order, whatever the order the
// validator met its parts in (it walks maps): causes by instance location
// and keyword, property names sorted, so that the same line always gets
// the same message.
func canonical(e *jsonschema.ValidationError) {
	if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
		slices.Sort(ap.Properties)
	}
	for _, c := range e.Causes {
		canonical(c)
	}
	key := func(c *jsonschema.ValidationError) string {
		return strings.Join(c.InstanceLocation, "\x00") + "\x01" + strings.Join(c.ErrorKind.KeywordPath(), "\x00") + "\x01" + c.SchemaURL
	}
	slices.SortStableFunc(e.Causes, func(a, b *jsonschema.ValidationError) int { return strings.Compare(key(a), key(b)) })
}

// briefError is a validation error on one line: the deepest causes, each
// at its instance location.
func briefError(err error) string {
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		canonical(ve)
	}
	s := err.Error()
	lines := strings.Split(s, "\n")
	var parts []string
	for _, l := range lines[1:] {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- "))
		if l != "" {
			parts = append(parts, l)
		}
	}
	if len(parts) == 0 {
		return boundMessage(s)
	}
	// The last lines are the most specific.
	if len(parts) > 3 {
		parts = parts[len(parts)-3:]
	}
	return boundMessage(strings.Join(parts, "; "))
}
