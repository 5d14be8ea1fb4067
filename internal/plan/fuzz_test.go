package plan

import (
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// FuzzParse: any plan file is read or refused with an Invalid error that
// names the file; a plan read has an id ValidID accepts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"id: release-1\ntitle: Strict where\nmanager: alice\nchanges:\n  - repo: clever-db\n    from: v1.0.0\n    to: main\n",
		"id: x\ntitle: t\nmanagers: [alice, bob]\ncreated: 2026-03-02T09:00:00Z\nnotes: n\nchanges:\n  - repo: a\n    from: -x\n    to: --output=/tmp/x\n",
		"id: ../../x\n", "[]", "id: [a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "/w/plans/x.yaml"
		p, err := Parse(file, data)
		if err != nil {
			if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "x.yaml") {
				t.Fatalf("error of kind %v without the file name: %v", errkind.Of(err), err)
			}
			return
		}
		if err := ValidID(p.ID); err != nil {
			t.Fatalf("plan read with an invalid id: %v", err)
		}
	})
}

// FuzzValidID: an id ValidID accepts is a plain file name: no path
// separator, no leading dot or dash, not longer than 64 bytes.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"release-1", "..", "-x", "a/b", "a\nb", strings.Repeat("a", 65), "a.b_c-d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidID(id) != nil {
			return
		}
		if id == "" || len(id) > 64 || strings.ContainsAny(id, "/\\\x00\n") || id[0] == '.' || id[0] == '-' {
			t.Fatalf("ValidID accepted %q", id)
		}
	})
}
