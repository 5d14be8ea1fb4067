package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPeople(t *testing.T) {
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq4zQm3Kq1m9bG3hYp0kq2nqRr1kqQpQ8gqHcW3kq1f alice@laptop"
	dir := t.TempDir()
	file := filepath.Join(dir, "cascade.yaml")
	os.MkdirAll(filepath.Join(dir, "a", ".git"), 0o755)
	ws, err := Parse(file, []byte("repos:\n  - path: ./a\npeople:\n  - name: alice\n    emails: [alice@example.com]\n    keys: [\""+key+"\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := ws.PersonNamed("alice"); p == nil || p.Keys[0] != key || p.Emails[0] != "alice@example.com" {
		t.Errorf("people = %+v", ws.People)
	}
	for data, want := range map[string]string{
		"people:\n  - name: bob\n    keys: [\"ssh-ed25519 AAAA\"]\n":                                          "cascade.yaml:5:",
		"people:\n  - name: bob\n    keys: [\"pgp 123\"]\n":                                                   `unknown SSH key type "pgp"`,
		"people:\n  - name: bob\n":                                                                            "bob needs `keys:`",
		"people:\n  - name: bob\n    keys: [\"" + key + "\"]\n  - name: carol\n    keys: [\"" + key + "\"]\n": "carol's key is also bob's",
		"people:\n  - name: bob\n    keys: [\"" + key + "\"]\n  - name: bob\n    keys: [\"" + key + "\"]\n":   "two people are named \"bob\"",
		"people:\n  - name: bob\n    key: x\n":                                                                `unknown key "key" in a person`,
	} {
		_, err := Parse(file, []byte("repos:\n  - path: ./a\n"+data))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", data, err, want)
		}
	}
}
