package semver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
)

// schemaRepo makes a git repository with one commit per state (files by
// slash path; a value starting with "->" makes a symbolic link to the
// rest) and returns its object reader and the commits.
func schemaRepo(t *testing.T, states ...map[string]string) (*gitrepo.Batch, []string) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	w, err := gitrepo.Init(ctx, dir, "main", gitrepo.Author{Name: "T", Email: "t@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var commits []string
	for i, files := range states {
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			os.Remove(p)
			if target, ok := strings.CutPrefix(content, "->"); ok {
				err = os.Symlink(target, p)
			} else {
				err = os.WriteFile(p, []byte(content), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		c, err := w.CommitAll(ctx, time.Unix(int64(i), 0), "state")
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, c)
	}
	b, err := w.Repo.OpenBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, commits
}

// TestSchemaReadsStayInTheRepo: a schema that is a symbolic link out of
// the repository, a directory link on the way to the schemas and a glob
// that climbs out with ".." are refused as bad input, and nothing outside
// the repository is read.
func TestSchemaReadsStayInTheRepo(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(outside, []byte(`{"type":"string","description":"SECRET-OUTSIDE"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := `{"type":"object"}`
	for _, tc := range []struct {
		name, glob string
		files      map[string]string
		want       string
	}{
		{"symlinked schema", "schemas/*.json", map[string]string{"schemas/a.json": ok, "schemas/b.json": "->" + outside}, "schemas/b.json at "},
		{"symlinked directory", "schemas/*.json", map[string]string{"real/a.json": ok, "schemas": "->" + filepath.Dir(outside)}, "schemas at "},
		{"glob out of the repo", "../*/secret.json", map[string]string{"schemas/a.json": ok}, `invalid path "../*/secret.json": it leaves the repository`},
		{"absolute glob", outside, map[string]string{"schemas/a.json": ok}, "it is absolute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, commits := schemaRepo(t, map[string]string{"README": "x"}, tc.files)
			changes, err := schemaChanges(context.Background(), b, tc.glob, commits[0], commits[1])
			if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("schemaChanges = %+v, %v; want a refusal (bad input) containing %q", changes, err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRET-OUTSIDE") {
				t.Errorf("the error shows a file outside the repo: %v", err)
			}
		})
	}
}

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
			b, commits := schemaRepo(t, map[string]string{"schemas/query.json": tc.base}, map[string]string{"schemas/query.json": tc.head})
			changes, err := schemaChanges(context.Background(), b, "schemas/*.json", commits[0], commits[1])
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

// TestSchemaChecksShareOneTimeLimit: the schema files of a repo share one
// time limit (a glob matching many files multiplied it): once it is
// spent, the files left are not compared and count as breaking.
func TestSchemaChecksShareOneTimeLimit(t *testing.T) {
	defer func(b time.Duration) { schemaBudget = b }(schemaBudget)
	schemaBudget = time.Nanosecond
	base := map[string]string{"schemas/a.json": `{"type":"string","maxLength":3}`, "schemas/b.json": `{"type":"string","maxLength":3}`}
	head := map[string]string{"schemas/a.json": `{"type":"string","maxLength":5}`, "schemas/b.json": `{"type":"string","maxLength":5}`}
	b, commits := schemaRepo(t, base, head)
	changes, err := schemaChanges(context.Background(), b, "schemas/*.json", commits[0], commits[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("changes: %+v", changes)
	}
	for _, c := range changes {
		if c.Compatible || !strings.Contains(c.Message, "reached their time limit of 1ns") {
			t.Errorf("change %+v: want not compared, breaking", c)
		}
	}
}
