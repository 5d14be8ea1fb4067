package sandbox

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

type entry struct {
	name, link, body string
	typ              byte
	mode             int64
}

func tarOf(t *testing.T, entries []entry) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if e.typ == tar.TypeXGlobalHeader {
			if err := tw.WriteHeader(&tar.Header{Typeflag: e.typ, PAXRecords: map[string]string{"comment": "abc"}}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// list returns every path under dir, with links as "name -> target".
func list(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			rel += " -> " + target
		}
		out = append(out, rel)
		return nil
	})
	return out
}

func TestExtractRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
	}{
		{"link then directory of the same name", []entry{
			{name: "zz", link: "OUTSIDE", typ: tar.TypeSymlink},
			{name: "zz/", typ: tar.TypeDir},
			{name: "zz/pwned", body: "x", typ: tar.TypeReg},
		}},
		{"link then file below it", []entry{
			{name: "zz", link: "OUTSIDE", typ: tar.TypeSymlink},
			{name: "zz/pwned", body: "x", typ: tar.TypeReg},
		}},
		{"link inside then file through it", []entry{
			{name: "d/", typ: tar.TypeDir},
			{name: "l", link: "d", typ: tar.TypeSymlink},
			{name: "l/pwned", body: "x", typ: tar.TypeReg},
		}},
		{"link then file of the same name", []entry{
			{name: "f", link: "d/x", typ: tar.TypeSymlink},
			{name: "f", body: "x", typ: tar.TypeReg},
		}},
		{"dot-dot name", []entry{{name: "../pwned", body: "x", typ: tar.TypeReg}}},
		{"dot-dot inside a name", []entry{{name: "a/../../pwned", body: "x", typ: tar.TypeReg}}},
		{"absolute name", []entry{{name: "/tmp/pwned", body: "x", typ: tar.TypeReg}}},
		{"relative link out", []entry{{name: "a/l", link: "../../x", typ: tar.TypeSymlink}}},
		{"chained link out", []entry{
			{name: "a/b/up", link: "../..", typ: tar.TypeSymlink},
			{name: "a/b/x", link: "up/../..", typ: tar.TypeSymlink},
		}},
		// os.Root follows 8 links, the kernel 40: a chain of 9 resolves
		// out of the tree for the kernel.
		{"chain longer than the check follows", chainOut()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := range tc.entries {
				tc.entries[i].link = strings.ReplaceAll(tc.entries[i].link, "OUTSIDE", outside)
			}
			dst := filepath.Join(base, "a", "tree")
			err := ExtractTar(tarOf(t, tc.entries), dst, Limits{})
			if !errors.Is(err, ErrUnsafeTree) {
				t.Errorf("ExtractTar = %v, want an unsafe-tree error", err)
			}
			if got := list(t, outside); len(got) != 0 {
				t.Errorf("written outside the tree: %v", got)
			}
			for _, p := range []string{filepath.Join(base, "pwned"), filepath.Join(base, "a", "pwned"), "/tmp/pwned"} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
			// Every link left resolves, for the kernel, inside the tree or
			// to nothing.
			real, err := filepath.EvalSymlinks(dst)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range list(t, dst) {
				name, _, isLink := strings.Cut(p, " -> ")
				if !isLink {
					continue
				}
				to, err := filepath.EvalSymlinks(filepath.Join(dst, name))
				if err == nil && to != real && !strings.HasPrefix(to, real+string(filepath.Separator)) {
					t.Errorf("link left in the tree resolves to %s: %s", to, p)
				}
			}
		})
	}
}

// chainOut is a tree whose link up resolves through nine links (a1 to a8
// lead back to the root) to the tree's parent.
func chainOut() []entry {
	es := []entry{{name: "a1", link: ".", typ: tar.TypeSymlink}}
	for i := 2; i <= 8; i++ {
		es = append(es, entry{name: fmt.Sprintf("a%d", i), link: fmt.Sprintf("a%d", i-1), typ: tar.TypeSymlink})
	}
	return append(es, entry{name: "up", link: "a8/..", typ: tar.TypeSymlink}, entry{name: "leak", link: "up/outside", typ: tar.TypeSymlink})
}

func TestExtractKeepsAnOrdinaryTree(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "tree")
	err := ExtractTar(tarOf(t, []entry{
		{name: "pax_global_header", typ: tar.TypeXGlobalHeader},
		{name: "cmd/", typ: tar.TypeDir, mode: 0o777},
		{name: "cmd/run.sh", body: "#!/bin/sh\n", typ: tar.TypeReg, mode: 0o4777},
		{name: "README", body: "hi", typ: tar.TypeReg, mode: 0o666},
		{name: "docs/readme", link: "../README", typ: tar.TypeSymlink},
		{name: "dangling", link: "nowhere/at/all", typ: tar.TypeSymlink},
		{name: "hard", link: "README", typ: tar.TypeLink},
	}), dst, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(list(t, dst), "\n")
	want := "README\ncmd\ncmd/run.sh\ndangling -> nowhere/at/all\ndocs\ndocs/readme -> ../README"
	if got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	for name, mode := range map[string]os.FileMode{"README": 0o644, "cmd/run.sh": 0o755, "cmd": 0o755 | os.ModeDir} {
		fi, err := os.Stat(filepath.Join(dst, name))
		if err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode(), err, mode)
		}
	}
}

func TestExtractCaps(t *testing.T) {
	entries := []entry{{name: "a", body: "12345", typ: tar.TypeReg}, {name: "b", body: "67890", typ: tar.TypeReg}}
	if err := ExtractTar(tarOf(t, entries), t.TempDir(), Limits{MaxBytes: 8}); !errors.Is(err, ErrUnsafeTree) {
		t.Errorf("size cap: %v", err)
	}
	if err := ExtractTar(tarOf(t, entries), t.TempDir(), Limits{MaxFiles: 1}); !errors.Is(err, ErrUnsafeTree) {
		t.Errorf("count cap: %v", err)
	}
	if err := ExtractTar(tarOf(t, entries), t.TempDir(), Limits{MaxBytes: 10, MaxFiles: 2}); err != nil {
		t.Errorf("within the caps: %v", err)
	}
}

// TestCopyTreeKeepsInside: a copy holds the tree's files and links to its
// own files, never a file a link reaches outside the tree, a pipe or a
// device.
func TestCopyTreeKeepsInside(t *testing.T) {
	base := t.TempDir()
	src, dst := filepath.Join(base, "src"), filepath.Join(base, "dst")
	secret := filepath.Join(base, "secret")
	for p, body := range map[string]string{secret: "host secret", filepath.Join(src, "a.txt"): "a", filepath.Join(src, "d", "b.txt"): "b"} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, to := range map[string]string{"in": "d/b.txt", "out": "../secret", "abs": secret, "zero": "/dev/zero", "dir": "d"} {
		if err := os.Symlink(to, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	got := list(t, dst)
	want := []string{"a.txt", "d", "d/b.txt", "in"}
	if !slices.Equal(got, want) {
		t.Errorf("copied %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "in")); string(b) != "b" {
		t.Errorf("in = %q, want the file it links to", b)
	}
}
