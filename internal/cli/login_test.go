package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/store/storetest"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// run runs cascade in-process and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestLoginAndTokens: cascade login, token list and token revoke against a
// real server (the auth routes over a SQLite database) with real SSH keys.
func TestLoginAndTokens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	t.Setenv("XDG_CONFIG_HOME", config)
	t.Setenv("CASCADE_SERVER", "")
	t.Setenv("CASCADE_SIGNING_KEY", "")
	keys := map[string]string{}
	var people []workspace.Person
	for _, name := range []string{"alice", "bob"} {
		keys[name] = filepath.Join(dir, name)
		pub, err := identity.GenerateKey(ctx, keys[name], name+"@test")
		if err != nil {
			t.Fatal(err)
		}
		people = append(people, workspace.Person{Name: name, Keys: []string{pub}})
	}
	svc := &auth.Service{Store: storetest.Open(t, storetest.SQLite(t)), People: func() []workspace.Person { return people }}
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	svc.Origin = strings.ToUpper(srv.URL[:4]) + srv.URL[4:] + "/" // normalised as the client does
	server := srv.URL + "/"

	// Not logged in yet; no server named.
	if code, _, stderr := run(t, "token", "list", "--server", server); code != ExitUsage || !strings.Contains(stderr, "cascade login --server") {
		t.Errorf("token list before login: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, "login", "--key", keys["alice"], "--person", "alice"); code != ExitUsage || !strings.Contains(stderr, "--server") {
		t.Errorf("login without a server: exit %d, %s", code, stderr)
	}

	// A URL that is not a server's is bad usage; a server that does not
	// answer, an infrastructure failure.
	if code, _, stderr := run(t, "login", "--server", "ftp://x.example", "--key", keys["alice"], "--person", "alice"); code != ExitUsage || !strings.Contains(stderr, "want an http:// or https:// URL") {
		t.Errorf("login to ftp://: exit %d, %s", code, stderr)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	if code, _, stderr := run(t, "login", "--server", down.URL, "--key", keys["alice"], "--person", "alice"); code != ExitInfra || !strings.Contains(stderr, "cannot reach the cascade server") {
		t.Errorf("login to a server that is down: exit %d, %s", code, stderr)
	}

	// Bob's key does not log in as alice; the JSON error says so.
	code, stdout, _ := run(t, "login", "--server", server, "--key", keys["bob"], "--person", "alice", "--json")
	var failed struct {
		SchemaVersion int `json:"schema_version"`
		Error         struct{ Kind, Message string }
	}
	if code != ExitProblem || json.Unmarshal([]byte(stdout), &failed) != nil || failed.Error.Kind != "unauthorized" || failed.SchemaVersion != 1 {
		t.Errorf("login with bob's key as alice: exit %d, %s", code, stdout)
	}
	credFile := filepath.Join(config, "cascade", "credentials.json")
	if _, err := os.Stat(credFile); !os.IsNotExist(err) {
		t.Errorf("a refused login wrote %s (%v)", credFile, err)
	}

	// Alice logs in twice (two machines, say); the person is found from
	// the workspace's people by her key.
	ws := filepath.Join(dir, "cascade.yaml")
	if out, err := exec.Command("git", "init", "-q", filepath.Join(dir, "repo")).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	if err := os.WriteFile(ws, []byte("repos:\n  - path: ./repo\npeople:\n  - name: alice\n    keys: [\""+people[0].Keys[0]+"\"]\n  - name: bob\n    keys: [\""+people[1].Keys[0]+"\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "login", "--server", server, "--key", keys["alice"], "--workspace", ws, "--json")
	var first struct{ Person, ID, Server, Credentials string }
	if code != 0 || json.Unmarshal([]byte(stdout), &first) != nil || first.Person != "alice" || first.Server != srv.URL || first.Credentials != credFile {
		t.Fatalf("login: exit %d, %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "login", "--server", server, "--key", keys["alice"], "--person", "alice")
	if code != 0 || !strings.Contains(stdout, "Logged in to "+srv.URL+" as alice") {
		t.Fatalf("second login: exit %d, %s %s", code, stdout, stderr)
	}

	// The credentials file is the user's alone and holds the newest token.
	for path, want := range map[string]os.FileMode{credFile: 0o600, filepath.Dir(credFile): 0o700} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	creds, err := auth.LoadCredentials(credFile)
	if err != nil {
		t.Fatal(err)
	}
	held := creds.Servers[srv.URL]
	if held.Person != "alice" || held.ID == first.ID || !strings.HasPrefix(held.Token, auth.TokenPrefix) {
		t.Fatalf("credentials hold %+v", creds)
	}
	if entries, _ := os.ReadDir(filepath.Dir(credFile)); len(entries) != 1 {
		t.Errorf("the config directory holds %d files, want the credentials file alone", len(entries))
	}

	// token list shows both, this machine's marked.
	code, stdout, stderr = run(t, "token", "list", "--server", server, "--json")
	var list auth.TokenList
	if code != 0 || json.Unmarshal([]byte(stdout), &list) != nil || len(list.Tokens) != 2 || list.Current != held.ID || list.SchemaVersion != 1 {
		t.Fatalf("token list --json: exit %d, %s %s", code, stdout, stderr)
	}
	t.Setenv("CASCADE_SERVER", srv.URL)
	code, stdout, _ = run(t, "token", "list")
	if code != 0 || !strings.Contains(stdout, held.ID) || !strings.Contains(stdout, "(this machine)") || !strings.Contains(stdout, first.ID) {
		t.Errorf("token list: exit %d, %s", code, stdout)
	}

	// Revoking the other token: this machine's still works.
	if code, stdout, stderr := run(t, "token", "revoke", first.ID); code != 0 || !strings.Contains(stdout, "Revoked token "+first.ID) {
		t.Fatalf("revoke: exit %d, %s %s", code, stdout, stderr)
	}
	code, stdout, _ = run(t, "token", "list", "--json")
	json.Unmarshal([]byte(stdout), &list)
	if code != 0 || list.Tokens[0].RevokedAt != "" && list.Tokens[1].RevokedAt != "" {
		t.Errorf("after revoking one: %s", stdout)
	}
	// An unknown id, or bob's, is not found (exit 2).
	if code, _, stderr := run(t, "token", "revoke", "0123456789ab"); code != ExitUsage || !strings.Contains(stderr, "no token") {
		t.Errorf("revoke an unknown token: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, "token", "revoke"); code != ExitUsage {
		t.Errorf("revoke without an id: exit %d, %s", code, stderr)
	}
	// Revoking this machine's token forgets it.
	if code, stdout, stderr := run(t, "token", "revoke", held.ID, "--json"); code != 0 || !strings.Contains(stdout, `"forgotten": true`) {
		t.Fatalf("revoke this machine's token: exit %d, %s %s", code, stdout, stderr)
	}
	if creds, _ := auth.LoadCredentials(credFile); len(creds.Servers) != 0 {
		t.Errorf("the revoked token is still kept: %+v", creds)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+held.Token)
	if _, err := svc.Person(req); err == nil {
		t.Error("the revoked token still authenticates")
	}

	// --web prints a code that the dashboard's form takes.
	code, stdout, stderr = run(t, "login", "--web", "--key", keys["bob"], "--person", "bob", "--json")
	var web struct{ Code, Person string }
	if code != 0 || json.Unmarshal([]byte(stdout), &web) != nil || len(web.Code) != 19 || web.Person != "bob" {
		t.Fatalf("login --web: exit %d, %s %s", code, stdout, stderr)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(srv.URL+"/login", url.Values{"person": {"bob"}, "code": {web.Code}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Errorf("the dashboard login with the code: %d %v", resp.StatusCode, resp.Cookies())
	}
	if creds, _ := auth.LoadCredentials(credFile); len(creds.Servers) != 0 {
		t.Errorf("login --web kept a token: %+v", creds)
	}
}

// TestLoginSignsOnlyThisServersStatement: a server that hands out a
// statement naming another server (relaying that server's challenge) gets
// no signature.
func TestLoginSignsOnlyThisServersStatement(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	key := filepath.Join(dir, "alice")
	if _, err := identity.GenerateKey(context.Background(), key, "alice@test"); err != nil {
		t.Fatal(err)
	}
	signed := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/login" {
			signed = true
		}
		nonce := strings.Repeat("ab", 32)
		json.NewEncoder(w).Encode(auth.Challenge{Person: "alice", Nonce: nonce, Purpose: "token", Expires: "2026-11-02T10:05:00.000000000Z", Origin: "https://real.example",
			Statement: auth.Statement("alice", "https://real.example", nonce, "token", "2026-11-02T10:05:00.000000000Z")})
	}))
	defer srv.Close()
	code, _, stderr := run(t, "login", "--server", srv.URL, "--key", key, "--person", "alice")
	if code != ExitProblem || signed || !strings.Contains(stderr, "nothing was signed") || !strings.Contains(stderr, `a login to "https://real.example", not to itself`) {
		t.Errorf("exit %d, signature sent %v: %s", code, signed, stderr)
	}
}

// TestLoginWithAgent: --key names a public key whose private key only
// ssh-agent holds (the private key file is gone), and ssh-agent signs.
func TestLoginWithAgent(t *testing.T) {
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("no ssh-agent on this machine")
	}
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	key := filepath.Join(dir, "alice")
	pub, err := identity.GenerateKey(ctx, key, "alice@test")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	t.Setenv("SSH_AUTH_SOCK", sock)
	var out []byte
	for i := 0; i < 100; i++ { // until the agent listens
		if out, err = exec.Command("ssh-add", "-q", key).CombinedOutput(); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	people := []workspace.Person{{Name: "alice", Keys: []string{pub}}}
	svc := &auth.Service{Store: storetest.Open(t, storetest.SQLite(t)), People: func() []workspace.Person { return people }}
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	svc.Origin = srv.URL
	code, stdout, stderr := run(t, "login", "--server", srv.URL, "--key", key+".pub", "--person", "alice")
	if code != 0 || !strings.Contains(stdout, "as alice") {
		t.Fatalf("login through ssh-agent: exit %d, %s %s", code, stdout, stderr)
	}
	// Without the agent there is nothing to sign with: a usage error.
	t.Setenv("SSH_AUTH_SOCK", filepath.Join(dir, "none.sock"))
	if code, _, stderr := run(t, "login", "--server", srv.URL, "--key", key+".pub", "--person", "alice"); code != ExitUsage || !strings.Contains(stderr, "cannot sign") {
		t.Errorf("login without the agent: exit %d, %s", code, stderr)
	}
}
