package workspace

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/yamlfile"
)

// Person is someone who may act in releases: a name, emails, and the SSH
// public keys their actions are signed with (each in the key format of
// git's allowed_signers file: "ssh-ed25519 AAAA... comment").
type Person struct {
	Name   string
	Emails []string
	Keys   []string
	// Line is where the person is declared in cascade.yaml.
	Line int
}

var personName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// keyTypes are the SSH public key types ssh-keygen signs with.
var keyTypes = []string{"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}

// ParseKey checks an SSH public key line and returns its type and base64
// body, which identify it.
func ParseKey(key string) (typ, body string, err error) {
	f := strings.Fields(key)
	if len(f) < 2 {
		return "", "", fmt.Errorf("%q is not an SSH public key; write it as in a .pub file: ssh-ed25519 AAAA... comment", key)
	}
	known := false
	for _, t := range keyTypes {
		known = known || f[0] == t
	}
	if !known {
		return "", "", fmt.Errorf("unknown SSH key type %q; use %s", f[0], strings.Join(keyTypes, ", "))
	}
	raw, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(raw) < 4+len(f[0]) || string(raw[4:4+len(f[0])]) != f[0] {
		return "", "", fmt.Errorf("the %s key %.20s... is damaged: its base64 body does not decode to a %s key", f[0], f[1], f[0])
	}
	return f[0], f[1], nil
}

func parsePeople(file string, n *yaml.Node) ([]Person, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, inputErr(file, n, "`people:` is a list of {name, emails, keys}")
	}
	var out []Person
	names := map[string]int{}
	keys := map[string]string{}
	var probs yamlfile.Problems
people:
	for _, pn := range n.Content {
		if pn.Kind != yaml.MappingNode {
			probs.Add(inputErr(file, pn, "a person is a mapping with name, emails and keys"))
			continue people
		}
		if err := checkKeys(file, pn, "a person", "name", "emails", "keys"); err != nil {
			probs.Add(err)
			continue
		}
		p := Person{Line: pn.Line}
		if v := value(pn, "name"); v != nil {
			p.Name = v.Value
		}
		if !personName.MatchString(p.Name) {
			probs.Add(inputErr(file, pn, "a person needs a name of letters, digits, '.', '_' and '-' (got %q)", p.Name))
			continue people
		}
		if p.Name == ReservedActor {
			probs.Add(inputErr(file, pn, "%q is the name cascade records its own automatic entries under; give this person another name", p.Name))
			continue people
		}
		if prev, ok := names[p.Name]; ok {
			probs.Add(inputErr(file, pn, "two people are named %q (lines %d and %d)", p.Name, prev, pn.Line))
			continue people
		}
		names[p.Name] = pn.Line
		if v := value(pn, "emails"); v != nil {
			if err := v.Decode(&p.Emails); err != nil {
				probs.Add(inputErr(file, v, "emails is a list of addresses"))
				continue people
			}
			for i, e := range p.Emails {
				if hasControl(e) {
					probs.Add(inputErr(file, v.Content[i], "%s: the email %q holds a control character (a line break?); write one address per item", p.Name, e))
					continue people
				}
			}
		}
		v := value(pn, "keys")
		if v == nil || v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			probs.Add(inputErr(file, pn, "%s needs `keys:`, a list of SSH public keys (the content of ~/.ssh/id_ed25519.pub)", p.Name))
			continue people
		}
		for _, kn := range v.Content {
			if hasControl(strings.TrimSpace(kn.Value)) {
				probs.Add(inputErr(file, kn, "%s: a key holds a control character (a line break?): write each key on one line, as in its .pub file, one list item per key", p.Name))
				continue people
			}
			_, body, err := ParseKey(kn.Value)
			if err != nil {
				probs.Add(inputErr(file, kn, "%s: %v", p.Name, err))
				continue people
			}
			if other, ok := keys[body]; ok {
				probs.Add(inputErr(file, kn, "%s's key is also %s's: each key belongs to one person", p.Name, other))
				continue people
			}
			keys[body] = p.Name
			p.Keys = append(p.Keys, strings.TrimSpace(kn.Value))
		}
		out = append(out, p)
	}
	return out, probs.Err()
}

// parseServers reads `servers:`: the cascade servers people may act
// through (a dashboard's button, an API call), each with the SSH public
// keys the server signs those actions with. Listing a server here is the
// workspace's consent: an action it signs for a person, after that person
// logged in to it, counts as theirs. A server's name and keys are its own:
// no person has them.
func parseServers(file string, n *yaml.Node, people []Person) ([]Person, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, inputErr(file, n, "`servers:` is a list of {name, keys}: the cascade servers people may act through")
	}
	taken := map[string]string{}
	for _, p := range people {
		for _, k := range p.Keys {
			if _, body, err := ParseKey(k); err == nil {
				taken[body] = p.Name
			}
		}
	}
	var out []Person
	names := map[string]int{}
	var probs yamlfile.Problems
servers:
	for _, sn := range n.Content {
		if sn.Kind != yaml.MappingNode {
			probs.Add(inputErr(file, sn, "a server is a mapping with name and keys"))
			continue
		}
		if err := checkKeys(file, sn, "a server", "name", "keys"); err != nil {
			probs.Add(err)
			continue
		}
		s := Person{Line: sn.Line}
		if v := value(sn, "name"); v != nil {
			s.Name = v.Value
		}
		if !personName.MatchString(s.Name) {
			probs.Add(inputErr(file, sn, "a server needs a name of letters, digits, '.', '_' and '-' (got %q)", s.Name))
			continue
		}
		if prev, ok := names[s.Name]; ok {
			probs.Add(inputErr(file, sn, "two servers are named %q (lines %d and %d)", s.Name, prev, sn.Line))
			continue
		}
		names[s.Name] = sn.Line
		v := value(sn, "keys")
		if v == nil || v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			probs.Add(inputErr(file, sn, "server %s needs `keys:`, a list of SSH public keys (the .pub of the key `cascade serve --key` signs with)", s.Name))
			continue
		}
		for _, kn := range v.Content {
			if hasControl(strings.TrimSpace(kn.Value)) {
				probs.Add(inputErr(file, kn, "server %s: a key holds a control character (a line break?): write each key on one line, one list item per key", s.Name))
				continue servers
			}
			_, body, err := ParseKey(kn.Value)
			if err != nil {
				probs.Add(inputErr(file, kn, "server %s: %v", s.Name, err))
				continue servers
			}
			if other, ok := taken[body]; ok {
				probs.Add(inputErr(file, kn, "server %s's key is also %s's: a server signs with a key of its own, never a person's", s.Name, other))
				continue servers
			}
			taken[body] = "server " + s.Name
			s.Keys = append(s.Keys, strings.TrimSpace(kn.Value))
		}
		out = append(out, s)
	}
	if len(out) > 0 && len(people) == 0 {
		probs.Add(inputErr(file, n, "`servers:` without `people:`: a server acts for people who logged in to it; list them under `people:`"))
	}
	return out, probs.Err()
}

// ServerNamed returns the server called name, or nil.
func (ws *Workspace) ServerNamed(name string) *Person {
	for i := range ws.Servers {
		if ws.Servers[i].Name == name {
			return &ws.Servers[i]
		}
	}
	return nil
}

// ReservedActor is the actor of cascade's own automatic audit entries; no
// person may bear the name.
const ReservedActor = "cascade"

// hasControl reports whether s holds a control character (a line break,
// a tab, NUL, DEL...): such a value would break the one-line formats it is
// written into, such as ssh-keygen's allowed_signers file.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// PersonNamed returns the person called name, or nil.
func (ws *Workspace) PersonNamed(name string) *Person {
	for i := range ws.People {
		if ws.People[i].Name == name {
			return &ws.People[i]
		}
	}
	return nil
}
