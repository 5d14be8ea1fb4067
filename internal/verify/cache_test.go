package verify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCachedResultsCarryAMAC(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "secret", "results.key")
	key, err := loadMACKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	again, err := loadMACKey(keyFile)
	if err != nil || string(again) != string(key) {
		t.Fatalf("the key changed between loads: %v", err)
	}
	c := &resultCache{dir: filepath.Join(dir, "verify"), key: key}
	k1 := strings.Repeat("a", 64)
	k2 := strings.Repeat("b", 64)
	c.put(k1, Run{Passed: true, Log: "ok"})
	var got Run
	if !c.get(k1, &got) || !got.Passed {
		t.Fatalf("a stored result is not read back: %+v", got)
	}

	// Edited: a pass rewritten as a failure (or the reverse) is discarded.
	data, _ := os.ReadFile(c.file(k1))
	os.WriteFile(c.file(k1), []byte(strings.Replace(string(data), `"passed":true`, `"passed":false`, 1)), 0o600)
	if c.get(k1, &got) {
		t.Error("an edited entry was trusted")
	}
	if _, err := os.Stat(c.file(k1)); err == nil {
		t.Error("an edited entry was kept")
	}

	// Copied to another key.
	c.put(k1, Run{Passed: true})
	data, _ = os.ReadFile(c.file(k1))
	os.MkdirAll(filepath.Dir(c.file(k2)), 0o700)
	os.WriteFile(c.file(k2), data, 0o600)
	if c.get(k2, &got) {
		t.Error("an entry moved to another key was trusted")
	}

	// Written by someone without the key, in the old format or any other.
	for _, forged := range []string{`{"passed":true}`, `{"mac":"00","data":{"passed":true}}`, `not json`} {
		os.WriteFile(c.file(k2), []byte(forged), 0o600)
		if c.get(k2, &got) {
			t.Errorf("forged entry %s was trusted", forged)
		}
	}

	// Another key (another installation) does not trust these results.
	other := &resultCache{dir: c.dir, key: []byte(strings.Repeat("k", 32))}
	c.put(k1, Run{Passed: true})
	if other.get(k1, &got) {
		t.Error("a result made under another key was trusted")
	}

	// A key file others can read is refused.
	os.Chmod(keyFile, 0o644)
	if _, err := loadMACKey(keyFile); err == nil {
		t.Error("a key file readable by others was used")
	}
}
