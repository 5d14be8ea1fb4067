package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// lineWatch is an io.Writer that calls fn once, the first time what was
// written holds want.
type lineWatch struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	once sync.Once
	fn   func()
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	hit := strings.Contains(w.buf.String(), w.want)
	w.mu.Unlock()
	if hit {
		w.once.Do(w.fn)
	}
	return len(p), nil
}

func demoDirs(t *testing.T, tmp string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(tmp, "cascade-demo-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The demo without a DIR removes the temporary organisation it built,
// also when it is interrupted mid-walk; --keep and --build-only keep it.
func TestDemoCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo organisation")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("CASCADE_CACHE_DIR", filepath.Join(t.TempDir(), "cache"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lineWatch{want: "removed at the end", fn: cancel}
	code := Main(ctx, []string{"demo"}, strings.NewReader(""), out, io.Discard)
	if code != ExitInterrupted {
		t.Errorf("interrupted demo: exit %d, want %d\n%s", code, ExitInterrupted, out.buf.String())
	}
	if !strings.Contains(out.buf.String(), "Removed the demo organisation in "+tmp) {
		t.Errorf("the interrupted demo does not say it removed its organisation:\n%s", out.buf.String())
	}
	if left := demoDirs(t, tmp); len(left) != 0 {
		t.Fatalf("the interrupted demo left %v", left)
	}

	for _, args := range [][]string{{"demo", "--build-only"}, {"demo", "--keep", "--build-only"}} {
		var b strings.Builder
		if code := Main(context.Background(), args, strings.NewReader(""), &b, io.Discard); code != ExitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, b.String())
		}
		left := demoDirs(t, tmp)
		if len(left) != 1 {
			t.Fatalf("%v: want the organisation kept, found %v", args, left)
		}
		if _, err := os.Stat(filepath.Join(left[0], "cascade.yaml")); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(b.String(), "To run the commands yourself: cd "+left[0]) {
			t.Errorf("%v does not say where the organisation is:\n%s", args, b.String())
		}
		if err := removeTree(left[0]); err != nil {
			t.Fatal(err)
		}
	}
}
