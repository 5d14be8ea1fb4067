// Package auth says who calls cascade's server. A person of cascade.yaml
// logs in by proving they hold one of their SSH keys: the server gives a
// single-use nonce, the person signs a statement naming it (in the SSH
// signature namespace cascade-login, so that a login signature is never a
// release action's and a release action's never logs in), and the server
// answers with an API token, or with a one-time code the person types into
// the dashboard's login form, which then holds a session cookie.
//
// Tokens, codes and sessions are random secrets kept only as SHA-256
// hashes; they expire and can be revoked. State-changing form posts of a
// session carry a per-session CSRF token (see CSRF).
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Lifetimes of what the server hands out.
const (
	ChallengeTTL = 5 * time.Minute
	CodeTTL      = 5 * time.Minute
	TokenTTL     = 30 * 24 * time.Hour
	SessionTTL   = 12 * time.Hour
)

// TokenPrefix starts every API token, so that a leaked one is recognised
// (by a person or a secret scanner) as cascade's.
const TokenPrefix = "cascade_"

// SessionCookie is the dashboard session's cookie.
const SessionCookie = "cascade_session"

// Service authenticates requests and serves the login routes.
type Service struct {
	Store *store.Store
	// People are the people of cascade.yaml, read at each login and each
	// request (so a person removed from it loses access at once).
	People func() []workspace.Person
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Origin is the server's origin as its users reach it
	// ("https://cascade.example.com"): login statements name it, so a
	// signature made for one server never logs in to another.
	Origin string
	// TokenTTL is how long a new API token lives (default TokenTTL).
	TokenTTL time.Duration

	// key is the database's nonce key, once read (see nonceKey).
	key atomic.Pointer[[]byte]
}

// ErrNoCredentials is the error of a route that needs a person, for a
// request that carries no token and no session cookie.
var ErrNoCredentials = errkind.New(errkind.Unauthorized, "not logged in: run `cascade login --server URL` (or log in to the dashboard) first")

// errRefused is the one answer to a credential that does not authenticate:
// which part failed (unknown, expired, revoked) is not told.
var errRefused = errkind.New(errkind.Unauthorized, "the token or session is not valid (unknown, expired or revoked): log in again with `cascade login --server URL`")

// origin is Origin as login statements name it: normalised, so that
// "https://Cascade.example.com/" is the origin a client computes too.
func (s *Service) origin() string {
	if o, err := Origin(s.Origin); err == nil {
		return o
	}
	return s.Origin
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// timeLayout writes times with a fixed width, so that they compare as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseStamp(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}

// hash is the hex SHA-256 of a secret, as the database keeps it.
func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return b
}

func newID() string { return hex.EncodeToString(random(6)) }

// newToken is an API token: the prefix and 32 random bytes.
func newToken() string { return TokenPrefix + base64.RawURLEncoding.EncodeToString(random(32)) }

// newCode is a one-time code a person can type: 80 random bits in four
// groups of base32 letters and digits.
func newCode() string {
	s := base32.StdEncoding.EncodeToString(random(10))
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// normalCode is a typed code as issued: upper case, dashes where they go.
func normalCode(s string) string {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(s) != 16 {
		return s
	}
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

var personRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// Statement is the text a person signs to log in to the server at origin:
// it names the person, the server, the nonce, what the login is for
// ("token" or "web") and when the nonce expires. The client computes it
// too and signs only when both agree, so a server cannot have a person
// sign a login to another server.
func Statement(person, origin, nonce, purpose, expires string) string {
	return fmt.Sprintf("cascade-login\nperson=%s\norigin=%s\nnonce=%s\npurpose=%s\nexpires=%s\n", person, origin, nonce, purpose, expires)
}

// Origin is the origin (scheme://host[:port]) of a server URL, lower case,
// without a default port; an error for a URL that is not http(s) or that
// carries a user, a query or a fragment.
func Origin(server string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", errkind.New(errkind.Invalid, "server %q: want an http:// or https:// URL such as https://cascade.example.com", server)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", errkind.New(errkind.Invalid, "server %q: give only the scheme, host and port (no user, path, query or fragment)", server)
	}
	host := strings.ToLower(u.Host)
	if (u.Scheme == "http" && strings.HasSuffix(host, ":80")) || (u.Scheme == "https" && strings.HasSuffix(host, ":443")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return u.Scheme + "://" + host, nil
}

// Challenge is what a person signs to log in.
type Challenge struct {
	Person    string `json:"person"`
	Nonce     string `json:"nonce"`
	Purpose   string `json:"purpose"`
	Expires   string `json:"expires"`
	Origin    string `json:"origin"`
	Statement string `json:"statement"`
}

// NewChallenge stores a single-use nonce for person and returns the
// statement to sign. It is given for any well-formed name: whether the
// person exists is learned only by proving to be them.
func (s *Service) NewChallenge(ctx context.Context, person, purpose string) (*Challenge, error) {
	if s.Origin == "" {
		return nil, errkind.New(errkind.Infra, "the server's origin is not configured, so logins cannot name it")
	}
	if !personRE.MatchString(person) {
		return nil, errkind.New(errkind.Invalid, "person %q: give your name as cascade.yaml `people:` spells it", person)
	}
	if purpose == "" {
		purpose = "token"
	}
	if purpose != "token" && purpose != "web" {
		return nil, errkind.New(errkind.Invalid, "purpose %q: want token (an API token) or web (a code for the dashboard)", purpose)
	}
	now := s.now()
	key, err := s.nonceKey(ctx)
	if err != nil {
		return nil, err
	}
	expires := now.Add(ChallengeTTL)
	c := &Challenge{Person: person, Nonce: sealNonce(key, person, purpose, s.origin(), random(8), expires), Purpose: purpose, Expires: stamp(expires), Origin: s.origin()}
	c.Statement = Statement(c.Person, c.Origin, c.Nonce, c.Purpose, c.Expires)
	return c, nil
}

// A challenge's nonce carries what the server needs to check a login
// against it, sealed with a key of the database's (meta auth_nonce_key):
// 8 random bytes, the expiry (Unix nanoseconds), the purpose (0 token,
// 1 web) and a MAC over those, the person and the origin. Handing one out
// therefore stores nothing (anyone may ask, as often as they like); only a
// nonce spent by a login attempt is kept, until it expires, so that it
// answers one attempt.
func sealNonce(key []byte, person, purpose, origin string, rnd []byte, expires time.Time) string {
	b := make([]byte, 0, 32)
	b = append(b, rnd...)
	b = binary.BigEndian.AppendUint64(b, uint64(expires.UnixNano()))
	p := byte(0)
	if purpose == "web" {
		p = 1
	}
	b = append(b, p)
	b = append(b, nonceMAC(key, person, origin, b)...)
	return hex.EncodeToString(b)
}

func nonceMAC(key []byte, person, origin string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "cascade-login-nonce\x00%s\x00%s\x00", person, origin)
	m.Write(body)
	return m.Sum(nil)[:15]
}

// openNonce checks a nonce sealed for person at this origin and returns
// its purpose and expiry; ok is false for any other string.
func openNonce(key []byte, person, origin, nonce string) (purpose string, expires time.Time, ok bool) {
	b, err := hex.DecodeString(nonce)
	if err != nil || len(b) != 32 {
		return "", time.Time{}, false
	}
	if !hmac.Equal(b[17:], nonceMAC(key, person, origin, b[:17])) {
		return "", time.Time{}, false
	}
	switch b[16] {
	case 0:
		purpose = "token"
	case 1:
		purpose = "web"
	default:
		return "", time.Time{}, false
	}
	return purpose, time.Unix(0, int64(binary.BigEndian.Uint64(b[8:16]))).UTC(), true
}

// nonceKey is the database's key for sealing nonces, made on first use:
// every server on one database accepts the others' challenges.
func (s *Service) nonceKey(ctx context.Context) ([]byte, error) {
	if k := s.key.Load(); k != nil {
		return *k, nil
	}
	var value string
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'auth_nonce_key'").Scan(&value)
		if errors.Is(err, sql.ErrNoRows) {
			value = hex.EncodeToString(random(32))
			_, err = tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('auth_nonce_key', ?)", value)
		}
		return err
	})
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	k, err := hex.DecodeString(value)
	if err != nil || len(k) < 32 {
		return nil, errkind.New(errkind.Infra, "the database's login key (meta auth_nonce_key) is damaged")
	}
	s.key.Store(&k)
	return k, nil
}

// errLogin is the one answer to a login that does not prove who it says.
var errLogin = errkind.New(errkind.Unauthorized, "login refused: the signature must be made, within 5 minutes of the challenge and once, with an SSH key listed for you in cascade.yaml `people:` (run `cascade login` again)")

// Credential is a token, a code or a session, without its secret.
type Credential struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Person    string `json:"person"`
	Name      string `json:"name"`
	Created   string `json:"created"`
	Expires   string `json:"expires"`
	LastUsed  string `json:"last_used,omitempty"`
	RevokedAt string `json:"revoked_at,omitempty"`
	// key is the base64 body of the SSH key whose signature got the
	// credential (a session's is its code's).
	key string
}

// Login checks a signed challenge and, when it proves person, consumes the
// nonce and returns a new credential with its secret: an API token (for a
// "token" challenge) or a one-time dashboard code (for a "web" one). name
// describes the client (its host). Any failure is the same error.
func (s *Service) Login(ctx context.Context, person, nonce, signature, name string) (*Credential, string, error) {
	if !personRE.MatchString(person) || len(nonce) != 64 || len(signature) > 16<<10 {
		return nil, "", errLogin
	}
	nk, err := s.nonceKey(ctx)
	if err != nil {
		return nil, "", err
	}
	purpose, exp, ok := openNonce(nk, person, s.origin(), nonce)
	if !ok {
		// Not a nonce this server's database handed out for person: no
		// signature is checked (nothing to spend either).
		return nil, "", errLogin
	}
	expires := stamp(exp)
	now := s.now()
	if !exp.After(now) {
		return nil, "", errLogin
	}
	// A person cascade.yaml does not list has no keys: the signature is
	// checked all the same (against none), so that the time the answer
	// takes does not tell such a name from a listed one.
	keys := keysOf(s.People(), person)
	if err := verify(ctx, person, keys, Statement(person, s.origin(), nonce, purpose, expires), signature); err != nil {
		if errkind.Of(err) == errkind.Infra {
			return nil, "", err
		}
		// A nonce answers one attempt: a failed one spends it too, so
		// that one challenge cannot be tried (and ssh-keygen run) again
		// and again.
		if _, serr := s.spend(ctx, nil, nonce, person, purpose, expires, now); serr != nil {
			return nil, "", serr
		}
		return nil, "", errLogin
	}
	key, err := signingKey(signature)
	if err != nil {
		return nil, "", errLogin
	}
	kind, secret, ttl := "token", newToken(), s.TokenTTL
	if ttl <= 0 {
		ttl = TokenTTL
	}
	if purpose == "web" {
		kind, secret, ttl = "code", newCode(), CodeTTL
	}
	c := &Credential{ID: newID(), Kind: kind, Person: person, Name: cleanName(name), Created: stamp(now), Expires: stamp(now.Add(ttl)), key: key}
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		// The nonce is spent here, in the transaction that stores the
		// credential: of two logins racing with one nonce, one records
		// it and the other finds it recorded.
		spent, err := s.spend(ctx, tx, nonce, person, purpose, expires, now)
		if err != nil {
			return err
		}
		if !spent {
			return errLogin
		}
		return s.insert(ctx, tx, c, secret)
	})
	if err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// keyListed reports whether key (a base64 body) is still one of person's
// keys in cascade.yaml.
func keyListed(people []workspace.Person, person, key string) bool {
	if key == "" {
		return false
	}
	for _, k := range keysOf(people, person) {
		if _, body, err := workspace.ParseKey(k); err == nil && body == key {
			return true
		}
	}
	return false
}

// spend records nonce as used (in tx, or in a transaction of its own when
// tx is nil), forgetting the spent nonces that have expired; false when
// it was spent already.
func (s *Service) spend(ctx context.Context, tx *store.Tx, nonce, person, purpose, expires string, now time.Time) (bool, error) {
	if tx == nil {
		var spent bool
		err := s.Store.Tx(ctx, func(tx *store.Tx) error {
			var err error
			spent, err = s.spend(ctx, tx, nonce, person, purpose, expires, now)
			return err
		})
		return spent, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM auth_challenges WHERE expires_at <= ?", stamp(now)); err != nil {
		return false, errkind.Wrap(errkind.Infra, err)
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO auth_challenges (nonce_hash, person, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (nonce_hash) DO NOTHING",
		hash(nonce), person, purpose, stamp(now), expires)
	if err != nil {
		return false, errkind.Wrap(errkind.Infra, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, errkind.Wrap(errkind.Infra, err)
	}
	return n == 1, nil
}

func (s *Service) insert(ctx context.Context, tx *store.Tx, c *Credential, secret string) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO auth_credentials (id, hash, kind, person, name, created_at, expires_at, key_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		c.ID, hash(secret), c.Kind, c.Person, c.Name, c.Created, c.Expires, c.key)
	return errkind.Wrap(errkind.Infra, err)
}

// cleanName keeps a client's description printable and short.
func cleanName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x200b && r <= 0x206f) {
			return -1
		}
		return r
	}, strings.TrimSpace(name))
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	if name == "" {
		return "unnamed"
	}
	return name
}

func keysOf(people []workspace.Person, name string) []string {
	for _, p := range people {
		if p.Name == name {
			return p.Keys
		}
	}
	return nil
}

func isPerson(people []workspace.Person, name string) bool {
	for _, p := range people {
		if p.Name == name {
			return true
		}
	}
	return false
}

// Redeem exchanges a one-time dashboard code of person for a session: the
// code is consumed, and the session's secret returned (for the cookie).
func (s *Service) Redeem(ctx context.Context, person, code, name string) (*Credential, string, error) {
	code = normalCode(code)
	if !personRE.MatchString(person) || len(code) != 19 || !isPerson(s.People(), person) {
		return nil, "", errLogin
	}
	now := s.now()
	c := &Credential{ID: newID(), Kind: "session", Person: person, Name: cleanName(name), Created: stamp(now), Expires: stamp(now.Add(SessionTTL))}
	secret := base64.RawURLEncoding.EncodeToString(random(32))
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		// Codes and sessions that have expired are of no more use.
		if _, err := tx.ExecContext(ctx, "DELETE FROM auth_credentials WHERE kind IN ('code', 'session') AND expires_at <= ?", stamp(now)); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		res, err := tx.ExecContext(ctx, "UPDATE auth_credentials SET revoked_at = ?, last_used = ? WHERE hash = ? AND kind = 'code' AND person = ? AND revoked_at IS NULL AND expires_at > ?",
			stamp(now), stamp(now), hash(code), person, stamp(now))
		if err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errLogin
		}
		// The session stands on the key the code was got with.
		var key sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT key_body FROM auth_credentials WHERE hash = ? AND kind = 'code'", hash(code)).Scan(&key); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		if !keyListed(s.People(), person, key.String) {
			return errLogin
		}
		c.key = key.String
		return s.insert(ctx, tx, c, secret)
	})
	if errors.Is(err, errLogin) {
		// A code answers one attempt, as a challenge does: presented
		// with another name, it is spent all the same.
		if _, uerr := s.Store.DB.ExecContext(ctx, "UPDATE auth_credentials SET revoked_at = ? WHERE hash = ? AND kind = 'code' AND revoked_at IS NULL", stamp(now), hash(code)); uerr != nil {
			return nil, "", errkind.Wrap(errkind.Infra, uerr)
		}
	}
	if err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// lookup finds the live credential of kind with secret: its id and person.
func (s *Service) lookup(ctx context.Context, kind, secret string) (id, person string, err error) {
	if secret == "" || len(secret) > 200 {
		return "", "", errRefused
	}
	now := s.now()
	h := hash(secret)
	var stored, expires string
	var revoked, lastUsed, key sql.NullString
	err = s.Store.DB.QueryRowContext(ctx, "SELECT id, hash, person, expires_at, revoked_at, last_used, key_body FROM auth_credentials WHERE hash = ? AND kind = ?", h, kind).
		Scan(&id, &stored, &person, &expires, &revoked, &lastUsed, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", errRefused
	}
	if err != nil {
		return "", "", errkind.Wrap(errkind.Infra, err)
	}
	// The index found the row by its hash; the hash is compared again in
	// constant time, so that no timing tells how much of it matched.
	if subtle.ConstantTimeCompare([]byte(stored), []byte(h)) != 1 || revoked.Valid || expires <= stamp(now) {
		return "", "", errRefused
	}
	// A credential holds only while the key that got it is still its
	// person's: removing a (stolen) key, or the person, from cascade.yaml
	// ends it for good — putting the file back does not revive it. With
	// no people at all (none listed, or a cascade.yaml that does not read)
	// it is refused but kept.
	if people := s.People(); !keyListed(people, person, key.String) {
		if len(people) > 0 {
			if _, err := s.Store.DB.ExecContext(ctx, "UPDATE auth_credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", stamp(now), id); err != nil {
				return "", "", errkind.Wrap(errkind.Infra, err)
			}
		}
		return "", "", errRefused
	}
	// last_used is written at most once a minute, so that reads by a busy
	// client do not queue behind one another's writes.
	if !lastUsed.Valid || parseStamp(lastUsed.String).Before(now.Add(-time.Minute)) {
		_, _ = s.Store.DB.ExecContext(ctx, "UPDATE auth_credentials SET last_used = ? WHERE id = ?", stamp(now), id)
	}
	return id, person, nil
}

// Person is who sent r: the person of its bearer token (Authorization:
// Bearer cascade_...) or of its session cookie; "" when r carries
// neither (an anonymous request). Credentials that do not authenticate
// (unknown, expired, revoked, of a person no longer listed) are an
// Unauthorized error, and so is a state-changing request of a session
// without the session's CSRF token (see CSRF).
func (s *Service) Person(r *http.Request) (string, error) {
	_, person, err := s.caller(r)
	if errors.Is(err, ErrNoCredentials) {
		return "", nil
	}
	return person, err
}

// caller is Person with the credential's id and kind.
func (s *Service) caller(r *http.Request) (*Credential, string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, "", errkind.New(errkind.Unauthorized, "Authorization: want Bearer TOKEN (a token from `cascade login`)")
		}
		id, person, err := s.lookup(r.Context(), "token", strings.TrimSpace(tok))
		if err != nil {
			return nil, "", err
		}
		return &Credential{ID: id, Kind: "token", Person: person}, person, nil
	}
	if ck, err := r.Cookie(SessionCookie); err == nil {
		id, person, err := s.lookup(r.Context(), "session", ck.Value)
		if err != nil {
			return nil, "", err
		}
		if _, err := s.checkCSRF(nil, r); err != nil {
			return nil, "", err
		}
		return &Credential{ID: id, Kind: "session", Person: person}, person, nil
	}
	return nil, "", ErrNoCredentials
}

// Tokens lists person's API tokens, newest first.
func (s *Service) Tokens(ctx context.Context, person string) ([]Credential, error) {
	rows, err := s.Store.DB.QueryContext(ctx, "SELECT id, kind, person, name, created_at, expires_at, last_used, revoked_at FROM auth_credentials WHERE person = ? AND kind = 'token' ORDER BY created_at DESC, id", person)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	defer rows.Close()
	out := []Credential{}
	for rows.Next() {
		var c Credential
		var last, revoked sql.NullString
		if err := rows.Scan(&c.ID, &c.Kind, &c.Person, &c.Name, &c.Created, &c.Expires, &last, &revoked); err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		c.LastUsed, c.RevokedAt = last.String, revoked.String
		out = append(out, c)
	}
	return out, errkind.Wrap(errkind.Infra, rows.Err())
}

// Revoke revokes person's credential id (a token or a session). Another
// person's id is not found, as an unknown one.
func (s *Service) Revoke(ctx context.Context, person, id string) error {
	now := stamp(s.now())
	return s.Store.Tx(ctx, func(tx *store.Tx) error {
		var revoked sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT revoked_at FROM auth_credentials WHERE id = ? AND person = ? AND kind IN ('token', 'session')", id, person).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return errkind.New(errkind.NotFound, "you have no token %q: `cascade token list` shows yours", id)
		}
		if err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		if revoked.Valid {
			return nil
		}
		_, err = tx.ExecContext(ctx, "UPDATE auth_credentials SET revoked_at = ? WHERE id = ?", now, id)
		return errkind.Wrap(errkind.Infra, err)
	})
}
