package gitrepo

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// hostile is a corpus of values an attacker may put in a plan file, a
// cascade.yaml or a flag, where cascade expects a ref, a commit id, a tag,
// a path or a URL. out is a directory the test watches: an option such as
// --output=out/x must never create a file there.
func hostile(out string) []string {
	return []string{
		"-x",
		"-f",
		"--output=" + filepath.Join(out, "x"),
		"--output=" + filepath.Join(out, "y") + "..main",
		"--upload-pack=touch " + filepath.Join(out, "z"),
		"-o" + filepath.Join(out, "w"),
		"..",
		"master..x",
		"main...main",
		"main@{1}",
		"@{-1}",
		"@",
		"main\nHEAD",
		"main\x00x",
		"main\r",
		"main\x1b[31m",
		strings.Repeat("a", 10000),
		"refs/heads/../..",
		"refs/heads/../../config",
		"../../etc/passwd",
		"/etc/passwd",
		"main:../../etc/passwd",
		":/fix",
		"main^{/fix}",
		"main~-1",
		".hidden",
		"main.lock",
		"main.",
		"a//b",
		"a b",
		"a*b",
		"a[b",
		"a?b",
		"a\\b",
		"ext::sh -c touch% " + filepath.Join(out, "e"),
		"",
	}
}

// TestHostileValues feeds every hostile value through every entry point
// of the package that passes a value to git. Each must be refused as bad
// input (errkind.Invalid, exit code 2), never reach git as an option and
// never create a file.
func TestHostileValues(t *testing.T) {
	ctx := context.Background()
	w := newRepo(t, map[string]string{"go.mod": "module example.com/m\n"})
	r := w.Repo
	head, err := r.Resolve(ctx, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	b, err := r.OpenBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	entries := map[string]func(v string) error{
		"Resolve":          func(v string) error { _, err := r.Resolve(ctx, v); return err },
		"MergeBase a":      func(v string) error { _, err := r.MergeBase(ctx, v, head); return err },
		"MergeBase b":      func(v string) error { _, err := r.MergeBase(ctx, head, v); return err },
		"ChangedFiles":     func(v string) error { _, err := r.ChangedFiles(ctx, v, head); return err },
		"CommitTime":       func(v string) error { _, err := r.CommitTime(ctx, v); return err },
		"MergedTags":       func(v string) error { _, err := r.MergedTags(ctx, v); return err },
		"TagsAt":           func(v string) error { _, err := r.TagsAt(ctx, v); return err },
		"Log from":         func(v string) error { _, err := r.Log(ctx, v, head); return err },
		"Log to":           func(v string) error { _, err := r.Log(ctx, head, v); return err },
		"TagAt name":       func(v string) error { return r.TagAt(ctx, v, head, "m", w.Author, when) },
		"TagAt commit":     func(v string) error { return r.TagAt(ctx, "v9.9.9", v, "m", w.Author, when) },
		"Writer.Tag":       func(v string) error { return w.Tag(ctx, when, v, "m") },
		"Checkout":         func(v string) error { return w.Checkout(ctx, v, false) },
		"Checkout create":  func(v string) error { return w.Checkout(ctx, v, true) },
		"Init branch":      func(v string) error { _, err := Init(ctx, filepath.Join(out, "init"), v, w.Author); return err },
		"Mirror":           func(v string) error { _, err := Mirror(ctx, filepath.Join(out, "cache"), v, false); return err },
		"Extract":          func(v string) error { return r.Extract(ctx, v, filepath.Join(out, "tree")) },
		"ReadFile ref":     func(v string) error { _, err := r.ReadFile(ctx, v, "go.mod"); return err },
		"ReadFile path":    func(v string) error { _, err := r.ReadFile(ctx, "HEAD", v); return err },
		"Batch.Read":       func(v string) error { _, err := b.Read(v); return err },
		"Batch.Read path":  func(v string) error { _, err := b.Read(head + ":" + v); return err },
		"Batch.ReadFile":   func(v string) error { _, err := b.ReadFile(v, "go.mod", MaxManifest); return err },
		"Batch.Commit":     func(v string) error { _, _, err := b.Commit(v); return err },
		"Batch.ReadFile p": func(v string) error { _, err := b.ReadFile(head, v, MaxManifest); return err },
		"Batch.Glob rev":   func(v string) error { _, err := b.Glob(v, "*.mod"); return err },
		"Batch.Glob":       func(v string) error { _, err := b.Glob(head, v); return err },
		"ReadTreeFile":     func(v string) error { _, err := ReadTreeFile(r.WorkDir, v, MaxManifest); return err },
	}
	// Values some entry points rightly accept: a path entry point takes a
	// name with a space, a URL may hold one, ...
	accepted := map[string][]string{
		"ReadFile path":    {":/fix", "ext::sh -c touch% " + filepath.Join(out, "e"), "a b", "a*b", "a[b", "a?b", "a\\b", ".hidden", "main.lock", "main.", "main~-1", "main^{/fix}", "master..x", "main...main", "main@{1}", "@{-1}", "@", strings.Repeat("a", 1000)},
		"Batch.Read":       {"ext::sh -c touch% " + filepath.Join(out, "e")}, // the path ":sh ..." of the revision "ext": not there
		"Batch.Read path":  {"ext::sh -c touch% " + filepath.Join(out, "e"), "a b", "a*b", "a[b", "a?b", "a\\b", ".hidden", "main.lock", "main.", "main~-1", "main^{/fix}", "master..x", "main...main", "main@{1}", "@{-1}", "@", ":/fix"},
		"Batch.Glob":       {"ext::sh -c touch% " + filepath.Join(out, "e"), "a b", "a*b", "a?b", "a\\b", ".hidden", "main.lock", "main.", "main~-1", "main^{/fix}", "master..x", "main...main", "main@{1}", "@{-1}", "@", ":/fix"},
		"ReadTreeFile":     {"ext::sh -c touch% " + filepath.Join(out, "e"), "a b", "a*b", "a[b", "a?b", "a\\b", ".hidden", "main.lock", "main.", "main~-1", "main^{/fix}", "master..x", "main...main", "main@{1}", "@{-1}", "@", ":/fix"},
		"Batch.ReadFile p": {"ext::sh -c touch% " + filepath.Join(out, "e"), "a b", "a*b", "a[b", "a?b", "a\\b", ".hidden", "main.lock", "main.", "main~-1", "main^{/fix}", "master..x", "main...main", "main@{1}", "@{-1}", "@", ":/fix"},
		"Mirror":           {"..", "master..x", "main...main", "main@{1}", "@{-1}", "@", "refs/heads/../..", "refs/heads/../../config", "../../etc/passwd", "/etc/passwd", "main:../../etc/passwd", ":/fix", "main^{/fix}", "main~-1", ".hidden", "main.lock", "main.", "a//b", "a b", "a*b", "a[b", "a?b", "a\\b"},
	}
	for name, fn := range entries {
		for _, v := range hostile(out) {
			err := fn(v)
			if err == nil {
				if !slices.Contains(accepted[name], v) {
					t.Errorf("%s(%.60q) = nil error; want it refused as bad input", name, v)
				}
				continue
			}
			if k := errkind.Of(err); k != errkind.Invalid && !slices.Contains(accepted[name], v) {
				t.Errorf("%s(%.60q): %v (kind %v); want an Invalid error (exit 2) with the reason", name, v, err, k)
			}
			if strings.Contains(err.Error(), "unknown option") || strings.Contains(err.Error(), "usage: git") {
				t.Errorf("%s(%.60q) reached git as an option: %v", name, v, err)
			}
		}
	}
	// Nothing was created by an injected option (the init directory and the
	// mirror cache are the entry points' own).
	files, _ := os.ReadDir(out)
	for _, f := range files {
		if f.Name() != "init" && f.Name() != "cache" {
			t.Errorf("a hostile value created %s", f.Name())
		}
	}
	// And no tag or branch was made under a hostile name.
	tags, err := r.TagNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 0 {
		t.Errorf("tags made from hostile values: %q", tags)
	}
}

// TestCommandArgv checks the one place that builds git's argv: operands
// always follow --end-of-options, paths follow "--", and a value that
// could be read as an option never gets into an argv at all.
func TestCommandArgv(t *testing.T) {
	c, err := newCommand("log", []string{"--format=%H"}, []string{"a..b"}, []string{"x/y"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"log", "--format=%H", "--end-of-options", "a..b", "--", "x/y"}
	if !slices.Equal(c.args, want) {
		t.Errorf("argv = %q, want %q", c.args, want)
	}
	for _, v := range []string{"-x", "--output=/tmp/x", "", "a\nb", "a\x00b", strings.Repeat("a", 2000)} {
		if _, err := newCommand("log", nil, []string{v}, nil); err == nil {
			t.Errorf("newCommand accepted operand %.40q", v)
		}
		if _, err := newCommand("diff", nil, nil, []string{v}); err == nil {
			t.Errorf("newCommand accepted path %.40q", v)
		}
	}
}

// TestCheckRev covers what CheckRev accepts: every ordinary way to name a
// commit.
func TestCheckRev(t *testing.T) {
	for _, v := range []string{"main", "HEAD", "HEAD~2", "main^", "main^2", "v1.2.0^{commit}", "v1.2.0^{}", "refs/heads/release/1.x", "feature/fix-format", "abc1234", "0123456789abcdef0123456789abcdef01234567", "sub/dir/v1.0.0", "a-b_c.d+e", "über"} {
		if err := CheckRev(v); err != nil {
			t.Errorf("CheckRev(%q) = %v, want nil", v, err)
		}
	}
	err := CheckRev("master..x")
	if err == nil || !strings.Contains(err.Error(), `cannot contain ".."`) {
		t.Errorf("CheckRev(master..x) = %v; want the reason", err)
	}
}

// TestReadFileSizeCap: a blob above the limit is refused from cat-file's
// header, before any of it is read, and the reader stays usable.
func TestReadFileSizeCap(t *testing.T) {
	ctx := context.Background()
	w := newRepo(t, map[string]string{"big.json": strings.Repeat("x", 5<<20), "small.json": "{}"})
	b, err := w.Repo.OpenBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.ReadFile("HEAD", "big.json", MaxManifest)
	if !errors.Is(err, ErrTooLarge) || errkind.Of(err) != errkind.Invalid {
		t.Fatalf("ReadFile(big.json) = %v; want ErrTooLarge as bad input", err)
	}
	data, err := b.ReadFile("HEAD", "small.json", MaxManifest)
	if err != nil || string(data) != "{}" {
		t.Fatalf("after a refused blob: %q, %v", data, err)
	}
}

// TestReadFileRefusesSymlinks: a symbolic link in the tree, to a file
// outside the repository or inside it, is never followed, whether it is
// the file asked for or a directory on the way.
func TestReadFileRefusesSymlinks(t *testing.T) {
	ctx := context.Background()
	w := newRepo(t, map[string]string{"real/schema.json": "{}"})
	dir := w.Repo.WorkDir
	for link, target := range map[string]string{"passwd.json": "/etc/passwd", "inside.json": "real/schema.json", "linkdir": "real"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.CommitAll(ctx, when, "links"); err != nil {
		t.Fatal(err)
	}
	b, err := w.Repo.OpenBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, p := range []string{"passwd.json", "inside.json", "linkdir/schema.json"} {
		data, err := b.ReadFile("HEAD", p, MaxManifest)
		if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("ReadFile(%s) = %q, %v; want a refusal naming the symbolic link", p, data, err)
		}
	}
	if _, err := b.ReadFile("HEAD", "real", MaxManifest); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadFile(directory) = %v; want a refusal", err)
	}
	if _, err := b.ReadFile("HEAD", "nope/x.json", MaxManifest); !errors.Is(err, ErrMissing) {
		t.Errorf("ReadFile(missing) = %v; want ErrMissing", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://alice:s3cret@example.com/org/api.git": "https://alice:xxxxx@example.com/org/api.git",
		"https://ghp_token@example.com/org/api.git":    "https://xxxxx@example.com/org/api.git",
		"ssh://git@example.com/org/api.git":            "ssh://git@example.com/org/api.git",
		"git@example.com:org/api.git":                  "git@example.com:org/api.git",
		"https://example.com/org/api.git":              "https://example.com/org/api.git",
		"/srv/git/api":                                 "/srv/git/api",
		"https://example.com/org/api.git?token=ghp_x":  "https://example.com/org/api.git?token=xxxxx",
		"https://gitlab.example.com/g/api.git?private_token=glpat-x&ref=main&access_token=ya29.x":           "https://gitlab.example.com/g/api.git?private_token=xxxxx&ref=main&access_token=xxxxx",
		"https://u:p@example.com/api.git?Job_Token=abc&x=1":                                                 "https://u:xxxxx@example.com/api.git?Job_Token=xxxxx&x=1",
		"https://example.com/api.git?ref=main&depth=1":                                                      "https://example.com/api.git?ref=main&depth=1",
		"https://example.com/api.git?token":                                                                 "https://example.com/api.git?token",
		"https://example.com/a.git?client_secret=s&X-Amz-Signature=s&auth=s&password=s&credential=s&tier=t": "https://example.com/a.git?client_secret=xxxxx&X-Amz-Signature=xxxxx&auth=xxxxx&password=xxxxx&credential=xxxxx&tier=t",
		"https://example.com/api.git?api%5Fkey=k":                                                           "https://example.com/api.git?api%5Fkey=xxxxx",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMirrorErrorRedactsCredentials: a clone that fails names the URL
// without its password.
func TestMirrorErrorRedactsCredentials(t *testing.T) {
	url := "http://alice:s3cret@127.0.0.1:1/org/api.git"
	_, err := Mirror(context.Background(), t.TempDir(), url, false)
	if err == nil {
		t.Fatal("Mirror of an unreachable URL succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "alice:xxxxx@127.0.0.1") {
		t.Errorf("error = %v; want the URL with its password redacted", err)
	}
	url = "http://127.0.0.1:1/org/api.git?private_token=glpat-s3cret"
	_, err = Mirror(context.Background(), t.TempDir(), url, false)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "api.git?private_token=xxxxx") {
		t.Errorf("error = %v; want the URL with its token redacted", err)
	}
}

// TestReadTreeFile: in an extracted tree, a file that is a link, or under
// a linked directory, is refused; "..", absolute paths and oversized files
// too; a regular file is read.
func TestReadTreeFile(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "go.mod"), []byte("SECRET"), 0o644)
	os.MkdirAll(filepath.Join(root, "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "sub", "go.mod"), []byte("module x\n"), 0o644)
	os.WriteFile(filepath.Join(root, "big"), make([]byte, 100), 0o644)
	os.Symlink(filepath.Join(outside, "go.mod"), filepath.Join(root, "go.mod"))
	os.Symlink(outside, filepath.Join(root, "linked"))
	if data, err := ReadTreeFile(root, "sub/go.mod", 50); err != nil || string(data) != "module x\n" {
		t.Errorf("regular file: %q, %v", data, err)
	}
	for rel, want := range map[string]string{
		"go.mod":        "go.mod is a symbolic link",
		"linked/go.mod": "linked is a symbolic link",
		"../x":          "it leaves the repository",
		"/etc/passwd":   "it is absolute",
		"big":           "big is 100 bytes; cascade reads at most 50",
		"sub":           "sub is not a regular file",
	} {
		data, err := ReadTreeFile(root, rel, 50)
		if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadTreeFile(%s) = %q, %v; want %q", rel, data, err, want)
		}
	}
	if _, err := ReadTreeFile(root, "nope/go.mod", 50); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v; want fs.ErrNotExist", err)
	}
}

// TestCheckRefNameAgreesWithGit: every name CheckRefName accepts, git
// accepts too (cascade is stricter, never looser).
func TestCheckRefNameAgreesWithGit(t *testing.T) {
	names := append(hostile(t.TempDir()), "main", "v1.2.0", "release/1.x", "refs/heads/main", "a-b_c.d+e", "über", "x.lock.y", "a@b", "{x}", "a/-b", "foo.", "a/.b", "-", "a..b")
	for _, n := range names {
		if CheckRefName(n) != nil {
			continue
		}
		if _, err := exec.Command("git", "check-ref-format", "--allow-onelevel", n).CombinedOutput(); err != nil {
			t.Errorf("CheckRefName accepts %q, git check-ref-format refuses it", n)
		}
	}
}

// TestBigBlobNeverReadWhole: a 128 MiB blob (say, a manifest) is refused
// from cat-file's header: cascade allocates next to nothing for it, and
// the reader stays in step for the next object.
func TestBigBlobNeverReadWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 128 MiB blob")
	}
	ctx := context.Background()
	w := newRepo(t, map[string]string{"small.json": "{}"})
	dir := w.Repo.WorkDir
	hash := exec.Command("git", "-C", dir, "hash-object", "-w", "--stdin")
	hash.Stdin = io.LimitReader(zeros{}, 128<<20)
	out, err := hash.Output()
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(string(out))
	if _, err := testGit(dir, "update-index", "--add", "--cacheinfo", "100644,"+id+",package.json"); err != nil {
		t.Fatal(err)
	}
	// Commit the index as it is (the blob is in no file of the work tree).
	if _, err := testGit(dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "big"); err != nil {
		t.Fatal(err)
	}
	b, err := w.Repo.OpenBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = b.ReadFile("HEAD", "package.json", MaxManifest)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadFile(128 MiB blob) = %v; want ErrTooLarge", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("refusing a 128 MiB blob allocated %d bytes; its size must be checked before it is read", alloc)
	}
	if _, err := b.ReadLimit(id, MaxManifest); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadLimit(big blob id) = %v; want ErrTooLarge", err)
	}
	if data, err := b.ReadFile("HEAD", "small.json", MaxManifest); err != nil || string(data) != "{}" {
		t.Errorf("the next read: %q, %v", data, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestExtractRefusesOversizeManifest: a tree with a manifest over
// MaxManifest anywhere in it is refused before anything is extracted; a
// big file that is no manifest, and a manifest of exactly the limit, are
// extracted.
func TestExtractRefusesOversizeManifest(t *testing.T) {
	ctx := context.Background()
	ok := newRepo(t, map[string]string{"data.bin": strings.Repeat("x", MaxManifest+1), "go.mod": strings.Repeat("/", MaxManifest)})
	if err := ok.Repo.Extract(ctx, "HEAD", filepath.Join(t.TempDir(), "x")); err != nil {
		t.Fatalf("Extract = %v; want a tree without an oversize manifest extracted", err)
	}
	w := newRepo(t, map[string]string{"a.go": "package a\n", "web/ui/package.json": strings.Repeat(" ", MaxManifest+1)})
	dst := filepath.Join(t.TempDir(), "x")
	err := w.Repo.Extract(ctx, "HEAD", dst)
	var tl *ManifestTooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) || errkind.Of(err) != errkind.Invalid || tl.Path != "web/ui/package.json" || tl.Size != MaxManifest+1 {
		t.Fatalf("Extract = %v; want web/ui/package.json refused as bad input", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "a.go")); err == nil {
		t.Errorf("the tree was extracted although it was refused")
	}
}
