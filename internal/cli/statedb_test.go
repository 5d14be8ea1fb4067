package cli

import (
	"path/filepath"
	"testing"

	"github.com/cascade-dev/cascade/internal/workspace"
)

// TestStateDB: release and plan commands find the state database the same
// way: --db, else $CASCADE_DB, else .cascade/cascade.db beside cascade.yaml.
func TestStateDB(t *testing.T) {
	ws := &workspace.Workspace{Dir: "/org"}
	env := map[string]string{}
	a := &app{getenv: func(k string) string { return env[k] }}
	if got, want := a.stateDB(ws, ""), filepath.Join("/org", ".cascade", "cascade.db"); got != want {
		t.Errorf("default = %q, want %q", got, want)
	}
	env["CASCADE_DB"] = "postgres://root@127.0.0.1/cascade"
	if got := a.stateDB(ws, ""); got != env["CASCADE_DB"] {
		t.Errorf("with $CASCADE_DB = %q, want it", got)
	}
	if got := a.stateDB(ws, "sqlite:/x.db"); got != "sqlite:/x.db" {
		t.Errorf("--db = %q, want it to win", got)
	}
	// plan's subcommands all take --db (as release's do).
	for _, sub := range []string{"list", "show", "check", "rescope", "new"} {
		cmd, _, err := (&app{getenv: func(string) string { return "" }}).planCommand().Find([]string{sub})
		if err != nil || cmd.Flags().Lookup("db") == nil && cmd.InheritedFlags().Lookup("db") == nil {
			t.Errorf("plan %s takes no --db (%v)", sub, err)
		}
	}
}
