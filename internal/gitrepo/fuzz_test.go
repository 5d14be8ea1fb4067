package gitrepo

import (
	"bytes"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseTree: a tree object is decoded or refused; what is decoded
// encodes back to the same bytes.
func FuzzParseTree(f *testing.F) {
	id := bytes.Repeat([]byte{0xab}, 20)
	f.Add(append([]byte("100644 a.txt\x00"), id...))
	f.Add(append(append([]byte("40000 dir\x00"), id...), append([]byte("120000 link\x00"), id...)...))
	f.Add([]byte("100644 ../x\x00short"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseTree(data, 20)
		if err != nil {
			return
		}
		var back []byte
		for _, e := range entries {
			raw, err := hex.DecodeString(e.ID)
			if err != nil || len(raw) != 20 {
				t.Fatalf("entry %+v: id %q", e, e.ID)
			}
			back = append(back, e.Mode+" "+e.Name+"\x00"...)
			back = append(back, raw...)
		}
		if !bytes.Equal(back, data) {
			t.Fatalf("decoded %+v does not encode back to the input", entries)
		}
	})
}

// FuzzResolveFast: a ref that cascade resolves without running git names
// the commit git resolves it to; it never reads a file git would not.
func FuzzResolveFast(f *testing.F) {
	dir := f.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(cmd.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.Output()
		if err != nil {
			f.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	run("commit", "-q", "--allow-empty", "-m", "one")
	run("branch", "feature")
	run("pack-refs", "--all")
	run("commit", "-q", "--allow-empty", "-m", "two")
	r := &Repo{GitDir: filepath.Join(dir, ".git"), CommonDir: filepath.Join(dir, ".git"), WorkDir: dir}
	for _, s := range []string{"HEAD", "refs/heads/main", "refs/heads/feature", "main", "refs/heads/../../HEAD", "refs/heads/x/../main", "-x", "refs/heads/main\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		id, ok := r.resolveFast(ref)
		if !ok || IsCommitID(ref) {
			return
		}
		cmd := exec.Command("git", "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
		cmd.Dir = dir
		out, _ := cmd.Output()
		if got := strings.TrimSpace(string(out)); got != id {
			t.Fatalf("resolveFast(%q) = %s, git: %q", ref, id, got)
		}
	})
}

// FuzzCheckRefName: every name CheckRefName accepts, git check-ref-format
// accepts too.
func FuzzCheckRefName(f *testing.F) {
	for _, s := range []string{"main", "v1.2.0", "release/1.x", "refs/heads/main", "-x", "--output=/tmp/x", "a..b", "a@{1}", "a/.b", "a.lock", "a\nb", "@", "a//b", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckRefName(name) != nil {
			return
		}
		if err := exec.Command("git", "check-ref-format", "--allow-onelevel", name).Run(); err != nil {
			t.Fatalf("CheckRefName accepts %q, git check-ref-format refuses it: %v", name, err)
		}
	})
}
