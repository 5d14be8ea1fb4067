package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/errkind"
)

var when = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newRepo(t *testing.T, files map[string]string) *Writer {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	w, err := Init(ctx, dir, "main", Author{"T", "t@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, files)
	if _, err := w.CommitAll(ctx, when, "init"); err != nil {
		t.Fatal(err)
	}
	return w
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func revParse(t *testing.T, r *Repo, ref string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", r.Dir(), "rev-parse", "--verify", ref+"^{commit}").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestResolveAgreesWithGit(t *testing.T) {
	ctx := context.Background()
	w := newRepo(t, map[string]string{"go.mod": "module example.com/a\n"})
	r := w.Repo
	if err := w.Checkout(ctx, "feature", true); err != nil {
		t.Fatal(err)
	}
	write(t, r.WorkDir, map[string]string{"b.txt": "b"})
	if _, err := w.CommitAll(ctx, when.Add(time.Hour), "feature"); err != nil {
		t.Fatal(err)
	}
	if err := w.Tag(ctx, when, "v1.0.0", "release"); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		for _, ref := range []string{"HEAD", "refs/heads/main", "refs/heads/feature", "main", "v1.0.0", "feature~1"} {
			got, err := r.Resolve(ctx, ref)
			if err != nil {
				t.Fatalf("%s: Resolve(%q): %v", stage, ref, err)
			}
			if want := revParse(t, r, ref); got != want {
				t.Errorf("%s: Resolve(%q) = %s, git says %s", stage, ref, got, want)
			}
		}
	}
	check("loose refs")
	if _, err := testGit(r.Dir(), "pack-refs", "--all"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.GitDir, "refs", "heads", "main")); err == nil {
		t.Fatal("pack-refs left a loose ref; the packed path is not exercised")
	}
	check("packed refs")
	if _, ok := r.resolveFast("refs/heads/main"); !ok {
		t.Error("resolveFast declined a packed branch")
	}

	// A linked worktree has its own HEAD and shares refs.
	wt := filepath.Join(t.TempDir(), "wt")
	if _, err := testGit(r.Dir(), "worktree", "add", "--quiet", "--detach", wt, "main"); err != nil {
		t.Fatal(err)
	}
	lr, err := Open(wt)
	if err != nil {
		t.Fatal(err)
	}
	if lr.CommonDir != r.GitDir {
		t.Errorf("worktree CommonDir = %s, want %s", lr.CommonDir, r.GitDir)
	}
	for _, ref := range []string{"HEAD", "refs/heads/feature"} {
		got, err := lr.Resolve(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if want := revParse(t, lr, ref); got != want {
			t.Errorf("worktree Resolve(%q) = %s, want %s", ref, got, want)
		}
	}

	_, err = r.Resolve(ctx, "no-such-branch")
	if errkind.Of(err) != errkind.NotFound {
		t.Errorf("Resolve(unknown) = %v, want a NotFound error", err)
	}
	if b := r.DefaultBranch(); b != "feature" {
		t.Errorf("DefaultBranch = %q, want feature (checked out)", b)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); !errors.Is(err, ErrNotRepo) || errkind.Of(err) != errkind.Invalid {
		t.Errorf("Open(plain dir) = %v, want ErrNotRepo", err)
	}
	if _, err := Open(filepath.Join(dir, "missing")); errkind.Of(err) != errkind.NotFound {
		t.Errorf("Open(missing) = %v, want NotFound", err)
	}
	w := newRepo(t, map[string]string{"a": "a"})
	bare := filepath.Join(t.TempDir(), "bare.git")
	if _, err := testGit(w.Repo.Dir(), "clone", "--quiet", "--bare", w.Repo.WorkDir, bare); err != nil {
		t.Fatal(err)
	}
	r, err := Open(bare)
	if err != nil || r.WorkDir != "" || r.GitDir != bare {
		t.Fatalf("Open(bare) = %+v, %v", r, err)
	}
	if !IsRepo(bare) || !IsRepo(w.Repo.WorkDir) || IsRepo(dir) {
		t.Error("IsRepo is wrong")
	}
}

func TestBatch(t *testing.T) {
	ctx := context.Background()
	w := newRepo(t, map[string]string{
		"go.mod":                 "module example.com/a\n",
		"sub/go.mod":             "module example.com/a/sub\n",
		"vendor/x/go.mod":        "module x\n",
		"sub/deep/package.json":  "{}",
		"sub/deep/more/file.txt": "x",
	})
	b, err := w.Repo.OpenBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	obj, err := b.Read("HEAD:sub/go.mod")
	if err != nil || obj.Type != "blob" || string(obj.Data) != "module example.com/a/sub\n" {
		t.Fatalf("Read(HEAD:sub/go.mod) = %+v, %v", obj, err)
	}
	if _, err := b.Read("HEAD:nope"); !errors.Is(err, ErrMissing) {
		t.Fatalf("Read(missing) = %v, want ErrMissing", err)
	}
	// The reader keeps working after a missing object.
	id, tree, err := b.Commit("HEAD")
	if err != nil || id != revParse(t, w.Repo, "HEAD") || len(tree) != len(id) {
		t.Fatalf("Commit(HEAD) = %s %s %v", id, tree, err)
	}
	var files []string
	err = b.Walk(tree, func(_, name string) bool { return name != "vendor" }, func(p string, e TreeEntry) error {
		files = append(files, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"go.mod", "sub/deep/more/file.txt", "sub/deep/package.json", "sub/go.mod"}
	if !slices.Equal(files, want) {
		t.Errorf("Walk = %v, want %v", files, want)
	}
	if _, err := b.Read("bad\nname"); errkind.Of(err) != errkind.Invalid {
		t.Errorf("Read(name with newline) = %v", err)
	}
}

func TestParseTreeMalformed(t *testing.T) {
	for _, data := range []string{"100644", "100644 name", "100644 name\x00short"} {
		if _, err := ParseTree([]byte(data), 20); err == nil {
			t.Errorf("ParseTree(%q) succeeded", data)
		}
	}
}

func TestTags(t *testing.T) {
	ctx := context.Background()
	w := newRepo(t, map[string]string{"a": "a"})
	r := w.Repo
	state := func() string {
		s, err := r.TagsState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := state(); s != "" {
		t.Errorf("TagsState of an untagged repo = %q", s)
	}
	if err := w.Tag(ctx, when, "v1.0.0", "one"); err != nil {
		t.Fatal(err)
	}
	s1 := state()
	head, _ := r.Resolve(ctx, "HEAD")
	write(t, r.WorkDir, map[string]string{"b": "b"})
	second, err := w.CommitAll(ctx, when, "two")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Tag(ctx, when, "v1.1.0", "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := testGit(r.Dir(), "tag", "light", head); err != nil {
		t.Fatal(err)
	}
	s2 := state()
	if s1 == "" || s1 == s2 {
		t.Errorf("TagsState did not change with a new tag: %q, %q", s1, s2)
	}
	if _, err := testGit(r.Dir(), "pack-refs", "--all"); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != s2 {
		t.Errorf("TagsState changed when the tags were packed: %q, %q", s2, s)
	}
	// Annotated and lightweight tags both name their commits.
	tags, err := r.Tags(ctx)
	if diff := cmp.Diff(map[string]string{"v1.0.0": head, "v1.1.0": second, "light": head}, tags); diff != "" || err != nil {
		t.Errorf("Tags: %v, mismatch (-want +got):\n%s", err, diff)
	}
	merged, err := r.MergedTags(ctx, head)
	if err != nil || !slices.Equal(merged, []string{"light", "v1.0.0"}) {
		t.Errorf("MergedTags(first commit) = %v, %v", merged, err)
	}
}

func TestMirror(t *testing.T) {
	ctx := context.Background()
	w := newRepo(t, map[string]string{"a": "a"})
	cache := t.TempDir()
	url := "file://" + w.Repo.WorkDir
	m, err := Mirror(ctx, cache, url, false)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := w.Repo.Resolve(ctx, "HEAD")
	if got, err := m.Resolve(ctx, "refs/heads/main"); err != nil || got != head {
		t.Fatalf("mirror main = %s, %v; want %s", got, err, head)
	}
	if m.DefaultBranch() != "main" {
		t.Errorf("mirror default branch = %q", m.DefaultBranch())
	}
	write(t, w.Repo.WorkDir, map[string]string{"b": "b"})
	next, _ := w.CommitAll(ctx, when, "next")
	m, err = Mirror(ctx, cache, url, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Resolve(ctx, "refs/heads/main"); got != next {
		t.Errorf("after fetch, mirror main = %s, want %s", got, next)
	}
	entries, _ := os.ReadDir(filepath.Dir(m.GitDir))
	if len(entries) != 1 {
		t.Errorf("mirror dir holds %d entries, want only the mirror (no temp clones)", len(entries))
	}
}

// testGit runs git in dir to set up a test's repository.
func testGit(dir string, args ...string) (string, error) {
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
