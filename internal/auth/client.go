package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// Client talks to a cascade server's login routes.
type Client struct {
	// Server is the server's origin (see Origin).
	Server string
	// HTTP is the client requests go through (default: one with a
	// 30-second timeout).
	HTTP *http.Client
}

// NewClient is a client of the server at URL server.
func NewClient(server string) (*Client, error) {
	origin, err := Origin(server)
	if err != nil {
		return nil, err
	}
	return &Client{Server: origin, HTTP: &http.Client{Timeout: 30 * time.Second}}, nil
}

// maxAnswer bounds what is read of a server's answer.
const maxAnswer = 4 << 20

// call sends a JSON request (body nil: none) with token (when given) and
// decodes a 2xx answer into out; a problem document becomes an error of
// the kind its status says.
func (c *Client) call(ctx context.Context, method, path, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, r)
	if err != nil {
		return errkind.Wrap(errkind.Invalid, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errkind.New(errkind.Infra, "cannot reach the cascade server at %s: %v", c.Server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return errkind.New(errkind.Infra, "reading the answer of %s: %v", c.Server, err)
	}
	if resp.StatusCode/100 != 2 {
		var p Problem
		detail := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &p) == nil && p.Detail != "" {
			detail = p.Detail
		}
		if len(detail) > 500 {
			detail = detail[:500] + "..."
		}
		return errkind.New(kindOfStatus(resp.StatusCode), "%s %s: %s (HTTP %d)", c.Server, path, detail, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return errkind.New(errkind.Infra, "%s %s answered what is not cascade's JSON (%v); is %s a cascade server?", c.Server, path, err, c.Server)
	}
	return nil
}

func kindOfStatus(status int) errkind.Kind {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return errkind.Invalid
	case http.StatusNotFound:
		return errkind.NotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return errkind.Unauthorized
	case http.StatusConflict:
		return errkind.Conflict
	}
	return errkind.Infra
}

// Login logs person in: it asks the server for a challenge, checks that
// the statement to sign is the one this client expects for this server
// (so a server cannot pass on another server's challenge), signs it with
// keyFile and sends the signature. purpose "token" answers an API token,
// "web" a one-time dashboard code; name describes this client.
func (c *Client) Login(ctx context.Context, person, keyFile string, agent bool, purpose, name string) (*LoginResponse, error) {
	var ch Challenge
	if err := c.call(ctx, "POST", "/api/v1/login/challenge", "", map[string]string{"person": person, "purpose": purpose}, &ch); err != nil {
		return nil, err
	}
	if len(ch.Nonce) != 64 || strings.ContainsAny(ch.Nonce+ch.Expires, "\n\r") || ch.Person != person || ch.Purpose != purpose ||
		ch.Statement != Statement(person, c.Server, ch.Nonce, purpose, ch.Expires) {
		if ch.Origin != "" && ch.Origin != c.Server && !strings.ContainsAny(ch.Origin, "\n\r") && len(ch.Origin) < 200 {
			return nil, errkind.New(errkind.Unauthorized, "%s asked to sign a login to %q, not to itself; nothing was signed (if that is the same server under another name, pass --server %s)", c.Server, ch.Origin, ch.Origin)
		}
		return nil, errkind.New(errkind.Unauthorized, "%s asked to sign a statement that is not a login to %s as %s; nothing was signed", c.Server, c.Server, person)
	}
	sig, err := Sign(ctx, keyFile, agent, ch.Statement)
	if err != nil {
		return nil, err
	}
	var out LoginResponse
	err = c.call(ctx, "POST", "/api/v1/login", "", map[string]string{"person": person, "nonce": ch.Nonce, "signature": sig, "name": name}, &out)
	if err != nil {
		return nil, err
	}
	if (purpose == "web" && out.Code == "") || (purpose != "web" && !strings.HasPrefix(out.Token, TokenPrefix)) {
		return nil, errkind.New(errkind.Infra, "%s answered the login without a %s", c.Server, map[bool]string{true: "code", false: "token"}[purpose == "web"])
	}
	return &out, nil
}

// Tokens lists the API tokens of token's person.
func (c *Client) Tokens(ctx context.Context, token string) (*TokenList, error) {
	var out TokenList
	if err := c.call(ctx, "GET", "/api/v1/tokens", token, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke revokes the token id of token's person.
func (c *Client) Revoke(ctx context.Context, token, id string) error {
	var out struct {
		Revoked string `json:"revoked"`
	}
	return c.call(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(id), token, nil, &out)
}

// PublicKey is the public key line of an SSH key file: the file itself
// when it is a .pub file, else FILE.pub beside it, else what ssh-keygen
// derives from the private key.
func PublicKey(ctx context.Context, keyFile string) (string, error) {
	for _, f := range []string{keyFile, keyFile + ".pub"} {
		if !strings.HasSuffix(f, ".pub") {
			continue
		}
		if data, err := os.ReadFile(f); err == nil {
			return strings.TrimSpace(string(data)), nil
		}
	}
	out, err := exec.CommandContext(ctx, "ssh-keygen", "-y", "-f", keyFile).Output()
	if err != nil {
		return "", errkind.New(errkind.Invalid, "cannot read the public key of %s: %v", keyFile, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// SameKey reports whether two public key lines hold the same key (their
// type and data; comments and options aside).
func SameKey(a, b string) bool {
	fa, fb := keyFields(a), keyFields(b)
	return fa != "" && fa == fb
}

func keyFields(line string) string {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if strings.HasPrefix(f[i], "ssh-") || strings.HasPrefix(f[i], "ecdsa-") || strings.HasPrefix(f[i], "sk-") {
			return f[i] + " " + f[i+1]
		}
	}
	return ""
}

// Credentials are the tokens a user holds, one per server, as `cascade
// login` keeps them in the user's config directory.
type Credentials struct {
	SchemaVersion int                    `json:"schema_version"`
	Servers       map[string]StoredToken `json:"servers"`
}

// StoredToken is one server's token.
type StoredToken struct {
	Person  string `json:"person"`
	ID      string `json:"id"`
	Token   string `json:"token"`
	Expires string `json:"expires"`
}

// CredentialsFile is where the credentials are kept under configDir (the
// user's config directory).
func CredentialsFile(configDir string) string {
	return filepath.Join(configDir, "cascade", "credentials.json")
}

// LoadCredentials reads file; a missing file holds no credentials.
func LoadCredentials(file string) (*Credentials, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return &Credentials{SchemaVersion: SchemaVersion, Servers: map[string]StoredToken{}}, nil
	}
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	var c Credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, errkind.New(errkind.Invalid, "%s is not cascade's credentials file (%v); move it aside and run `cascade login` again", file, err)
	}
	if c.Servers == nil {
		c.Servers = map[string]StoredToken{}
	}
	return &c, nil
}

// Save writes the credentials to file, readable by the user alone: the
// directory is made 0700, the file 0600, written to a temporary file and
// renamed over the old one (a reader never sees half a file).
func (c *Credentials) Save(file string) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	c.SchemaVersion = SchemaVersion
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".credentials-*.json")
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return errkind.Wrap(errkind.Infra, err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := tmp.Close(); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("saving %s: %w", file, err))
	}
	return nil
}
