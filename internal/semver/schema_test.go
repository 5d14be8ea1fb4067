package semver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSchemaChangesCountUndecidedAsBreaking: a schema change that cascade
// cannot decide is not compatible, even when a loosening was found beside
// it, and a oneOf branch that grows into another is a breaking change.
func TestSchemaChangesCountUndecidedAsBreaking(t *testing.T) {
	for _, tc := range []struct {
		name, base, head string
		want             []bool // Compatible of each change, in order
		undecided        bool   // one change is undecided
	}{
		{"pattern widened, the other direction undecided",
			`{"type":"string","pattern":"^[a-z]+$"}`, `{"type":"string","pattern":"^[a-z0-9]+$"}`, []bool{true, false}, true},
		{"oneOf branch grown into another",
			`{"oneOf":[{"type":"string","maxLength":3},{"type":"string","minLength":5}]}`,
			`{"oneOf":[{"type":"string","maxLength":10},{"type":"string","minLength":5}]}`, []bool{false, true}, false},
		{"loosened only",
			`{"type":"string","maxLength":3}`, `{"type":"string","maxLength":5}`, []bool{true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, head := t.TempDir(), t.TempDir()
			for dir, doc := range map[string]string{base: tc.base, head: tc.head} {
				if err := os.MkdirAll(filepath.Join(dir, "schemas"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "schemas", "query.json"), []byte(doc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			changes, err := schemaChanges(context.Background(), "schemas/*.json", base, head)
			if err != nil {
				t.Fatal(err)
			}
			var got []bool
			undecided := false
			for _, c := range changes {
				got = append(got, c.Compatible)
				if strings.Contains(c.Message, "(undecided: counted as breaking until reviewed)") {
					undecided = true
					if c.Compatible {
						t.Errorf("undecided change counted as compatible: %s", c.Message)
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("compatible mismatch (-want +got):\n%s\n%+v", diff, changes)
			}
			if undecided != tc.undecided {
				t.Errorf("undecided = %v, want %v: %+v", undecided, tc.undecided, changes)
			}
		})
	}
}
