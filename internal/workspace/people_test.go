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
		// A line break in a key would write a second allowed_signers line:
		// mallory's key listed as alice's.
		"people:\n  - name: mallory\n    keys: [\"" + key + "\\nalice namespaces=\\\"cascade-release\\\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBB\"]\n": "cascade.yaml:5:12: mallory: a key holds a control character",
		"people:\n  - name: bob\n    emails: [\"bob@example.com\\nx\"]\n    keys: [\"" + key + "\"]\n":                                                   "cascade.yaml:5:14: bob: the email",
		"people:\n  - name: cascade\n    keys: [\"" + key + "\"]\n":                                                                                      "cascade.yaml:4:5: \"cascade\" is the name cascade records its own",
	} {
		_, err := Parse(file, []byte("repos:\n  - path: ./a\n"+data))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", data, err, want)
		}
	}
}

// TestServers: `servers:` lists the servers people may act through, each
// with keys of its own; a server's key is never a person's.
func TestServers(t *testing.T) {
	const alice = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq4zQm3Kq1m9bG3hYp0kq2nqRr1kqQpQ8gqHcW3kq1f alice@laptop"
	const desk = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq4zQm3Kq1m9bG3hYp0kq2nqRr1kqQpQ8gqHcW3kq1f desk"
	dir := t.TempDir()
	file := filepath.Join(dir, "cascade.yaml")
	os.MkdirAll(filepath.Join(dir, "a", ".git"), 0o755)
	people := "people:\n  - name: alice\n    keys: [\"" + alice + "\"]\n"
	ws, err := Parse(file, []byte("repos:\n  - path: ./a\n"+people+"servers:\n  - name: desk\n    keys: [\""+desk+"\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := ws.ServerNamed("desk"); s == nil || s.Keys[0] != desk || ws.PersonNamed("desk") != nil {
		t.Errorf("servers = %+v, people = %+v", ws.Servers, ws.People)
	}
	for data, want := range map[string]string{
		people + "servers:\n  - name: desk\n    keys: [\"" + alice + "\"]\n":                                              "cascade.yaml:8:12: server desk's key is also alice's",
		people + "servers:\n  - name: desk\n":                                                                             "server desk needs `keys:`",
		people + "servers:\n  - name: desk\n    keys: [\"" + desk + "\"]\n  - name: desk\n    keys: [\"" + desk + "\"]\n": `two servers are named "desk"`,
		people + "servers:\n  - name: \"a:b\"\n    keys: [\"" + desk + "\"]\n":                                            `a server needs a name of letters`,
		people + "servers:\n  - name: desk\n    url: x\n    keys: [\"" + desk + "\"]\n":                                   `unknown key "url" in a server`,
		people + "servers: desk\n":                                 "`servers:` is a list of {name, keys}",
		"servers:\n  - name: desk\n    keys: [\"" + desk + "\"]\n": "`servers:` without `people:`",
	} {
		_, err := Parse(file, []byte("repos:\n  - path: ./a\n"+data))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", data, err, want)
		}
	}
}
