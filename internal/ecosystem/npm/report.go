package npm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/cascade-dev/cascade/internal/sandbox"
)

// ReadReport parses one report file a repo names. Its format is told by
// its content: TAP, JUnit XML, jest or vitest JSON (--json), or mocha JSON
// (--reporter json). root is the package directory, removed from names.
func ReadReport(file, root string) (Results, error) {
	return ReadReportIn(filepath.Dir(file), filepath.Base(file), root)
}

// ReadReportIn is ReadReport for the file rel inside the directory tree,
// which it never leaves (a link in the tree that points elsewhere is an
// error): the report is written by the repo's own test command.
func ReadReportIn(tree, rel, root string) (Results, error) {
	file := filepath.Join(tree, rel)
	t := newTally(root)
	budget := int64(maxReport)
	if err := readReport(tree, rel, t, &budget); err != nil {
		return t.results(), err
	}
	if !t.named {
		return t.results(), fmt.Errorf("%s: no test results in it: cascade reads TAP, JUnit XML, jest or vitest JSON and mocha JSON reports", file)
	}
	return t.results(), nil
}

// maxReport caps the size of the report files of one run cascade reads,
// together (their apparent sizes: a sparse file counts whole), and
// maxReports their number.
const (
	maxReport  = 256 << 20
	maxReports = 1000
)

var errReportsTooLarge = errors.New("the reports of one run are larger than cascade reads")

// readReport adds the results of the report file rel inside tree to t. The
// file is opened as sandbox.OpenTreeFile opens it: inside tree, a regular
// file, without blocking. Its size is taken from *budget, the bytes left
// for this run's reports; a file larger than what is left is an error,
// not read.
func readReport(tree, rel string, t *tally, budget *int64) error {
	file := filepath.Join(tree, rel)
	f, err := sandbox.OpenTreeFile(tree, rel)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return err
	} else if fi.Size() > *budget {
		return fmt.Errorf("%s: %d bytes: %w (%d bytes in all), and %d are left", file, fi.Size(), errReportsTooLarge, maxReport, *budget)
	} else {
		*budget -= fi.Size()
	}
	r := bufio.NewReaderSize(io.LimitReader(f, maxReport), 64<<10)
	head, _ := r.Peek(512)
	head = bytes.TrimPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(head) == 0:
		return nil // a runner that never got to write its report
	case head[0] == '<':
		if err = readJUnit(r, t); err == nil {
			t.reports++
		}
	case head[0] == '{':
		if err = readJSON(r, t); err == nil {
			t.reports++
		}
	default:
		c := &Collector{t: t, tap: newTAPParser(t), load: loadError{t: t}}
		_, err = io.Copy(c, r)
		c.Finish()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// readJSON reads a jest or vitest report (testResults) or a mocha one
// (stats, failures, passes, pending), one array element at a time.
func readJSON(r io.Reader, t *tally) error {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	known := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		key, _ := tok.(string)
		switch key {
		case "testResults":
			known = true
			err = eachElement(dec, func() error { return readJestFile(dec, t) })
		case "failures", "passes", "pending":
			known = true
			err = eachElement(dec, func() error { return readMochaTest(dec, t, key) })
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return jsonErr(err)
		}
	}
	if !known {
		return errors.New("a JSON report without testResults (jest, vitest) or failures/passes (mocha)")
	}
	t.named = true
	return nil
}

func jsonErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("the JSON report ends early: did the test runner stop while writing it?")
	}
	return fmt.Errorf("invalid JSON report: %w", err)
}

// jestFile is one test file's entry in a jest or vitest report.
type jestFile struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Assertions []struct {
		Ancestors []string `json:"ancestorTitles"`
		Title     string   `json:"title"`
		Status    string   `json:"status"`
	} `json:"assertionResults"`
}

func readJestFile(dec *json.Decoder, t *tally) error {
	var f jestFile
	if err := dec.Decode(&f); err != nil {
		return err
	}
	file := t.name(f.Name)
	failed := false
	for _, a := range f.Assertions {
		switch a.Status {
		case "passed":
			t.passed++
		case "failed":
			failed = true
			t.fail(t.name(joinName(append(append([]string{file}, a.Ancestors...), a.Title)...)))
		case "pending", "skipped", "todo", "disabled":
			t.skipped++
		}
	}
	if f.Status == "failed" && !failed {
		// The file failed with no failing test: it did not load, or a
		// hook outside any test failed.
		t.fail(file)
	}
	return nil
}

func readMochaTest(dec *json.Decoder, t *tally, list string) error {
	var m struct {
		FullTitle string `json:"fullTitle"`
		File      string `json:"file"`
	}
	if err := dec.Decode(&m); err != nil {
		return err
	}
	switch list {
	case "failures":
		t.fail(t.name(joinName(t.name(m.File), m.FullTitle)))
	case "passes":
		t.passed++
	case "pending":
		t.skipped++
	}
	return nil
}

// eachElement calls fn for each element of the JSON array that comes next
// (anything else is skipped).
func eachElement(dec *json.Decoder, fn func() error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		if d, ok := tok.(json.Delim); ok {
			return skipRest(dec, d)
		}
		return nil
	}
	for dec.More() {
		if err := fn(); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// skipValue skips the JSON value that comes next without keeping it.
func skipValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); ok {
		return skipRest(dec, d)
	}
	return nil
}

// skipRest skips to the end of the object or array opened by d.
func skipRest(dec *json.Decoder, d json.Delim) error {
	if d != '{' && d != '[' {
		return nil
	}
	depth := 1
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// readJUnit reads JUnit XML: testsuite, testcase and its failure, error or
// skipped. A test is named "classname > suite > name" (or "file > ...")
// with the names of the testsuites around it that differ from the class.
// A failure or error outside every test case (a suite's setup that
// failed) is a failure of its own, named after its suites.
func readJUnit(r io.Reader, t *tally) error {
	dec := xml.NewDecoder(r)
	dec.Strict = false
	var suites []string
	type testcase struct {
		name, class     string
		failed, skipped bool
		open            bool
	}
	var tc testcase
	seen := false
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("invalid JUnit XML: %w", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "testsuites":
				seen = true
			case "testsuite":
				seen = true
				suites = append(suites, attr(e, "name"))
			case "testcase":
				seen = true
				tc = testcase{name: attr(e, "name"), class: attr(e, "classname"), open: true}
				if tc.class == "" {
					tc.class = attr(e, "file")
				}
			case "failure", "error":
				if !tc.open {
					// A failure outside every test case: the suite's own
					// setup or teardown failed.
					parts := []string{}
					for _, s := range suites {
						parts = append(parts, t.name(s))
					}
					t.fail(t.name(joinName(append(parts, "["+e.Name.Local+" outside a test]")...)))
				}
				tc.failed = tc.failed || tc.open
			case "skipped":
				tc.skipped = tc.skipped || tc.open
			}
		case xml.EndElement:
			switch e.Name.Local {
			case "testsuite":
				if len(suites) > 0 {
					suites = suites[:len(suites)-1]
				}
			case "testcase":
				if !tc.open {
					break
				}
				tc.open = false
				switch {
				case tc.skipped:
					t.skipped++
				case tc.failed:
					parts := []string{t.name(tc.class)}
					for _, s := range suites {
						if s = t.name(s); s != parts[0] {
							parts = append(parts, s)
						}
					}
					t.fail(t.name(joinName(append(parts, tc.name)...)))
				default:
					t.passed++
				}
			}
		}
	}
	if !seen {
		return errors.New("an XML file without testsuite or testcase elements")
	}
	t.named = true
	return nil
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}
