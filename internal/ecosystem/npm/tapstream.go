package npm

import (
	"regexp"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/ecosystem"
)

// maxLog is how much of a test command's output a run keeps: its tail.
const maxLog = 16 << 10

var tapLine = regexp.MustCompile(`^\s*(not ok|ok)\b(?:\s+\d+)?(?:\s+-)?\s*(.*?)\s*$`)

// tapStream reads TAP lines from a test command's output as it is written.
type tapStream struct {
	lines  *ecosystem.Lines
	norm   *ecosystem.Normalizer
	roots  []string
	tail   []byte
	failed map[string]bool
	named  bool
}

func newTAPStream(root string) *tapStream {
	t := &tapStream{norm: ecosystem.NewNormalizer(root), roots: []string{root}, failed: map[string]bool{}}
	t.lines = ecosystem.NewLines(1<<20, t.line)
	return t
}

func (t *tapStream) Write(p []byte) (int, error) {
	t.tail = append(t.tail, p...)
	if len(t.tail) > 2*maxLog {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-maxLog:]...)
	}
	return t.lines.Write(p)
}

func (t *tapStream) line(b []byte, long bool) {
	s := string(b)
	t.norm.Line(s)
	if long {
		return
	}
	m := tapLine.FindStringSubmatch(s)
	if m == nil {
		return
	}
	t.named = true
	if m[1] != "not ok" {
		return
	}
	name, directive, _ := strings.Cut(m[2], " # ")
	d := strings.ToUpper(strings.TrimSpace(directive))
	if strings.HasPrefix(d, "SKIP") || strings.HasPrefix(d, "TODO") {
		return
	}
	t.failed[ecosystem.Rel(strings.TrimSpace(name), t.roots...)] = true
}

func (t *tapStream) finish() ecosystem.Results {
	t.lines.Flush()
	var failed []string
	for f := range t.failed {
		failed = append(failed, f)
	}
	sort.Strings(failed)
	log := t.tail
	if len(log) > maxLog {
		log = log[len(log)-maxLog:]
		if i := strings.IndexByte(string(log), '\n'); i >= 0 {
			log = log[i+1:]
		}
		log = append([]byte("...\n"), log...)
	}
	return ecosystem.Results{Failed: failed, Named: t.named, Log: ecosystem.Rel(strings.ToValidUTF8(string(log), "?"), t.roots...), Signature: t.norm.Sum()}
}
