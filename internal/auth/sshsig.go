package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// Namespace is the SSH signature namespace of logins. It differs from the
// release actions' (identity.Namespace): ssh-keygen binds a signature to
// its namespace, so neither kind of signature passes for the other.
const Namespace = "cascade-login"

// Sign signs a login statement with the private key in keyFile (with
// agent, keyFile is a public key whose private key ssh-agent holds) and
// returns the armored signature.
func Sign(ctx context.Context, keyFile string, agent bool, statement string) (string, error) {
	if keyFile == "" {
		return "", errkind.New(errkind.Invalid, "no key to log in with: pass --key FILE (your SSH private key, or a .pub file whose key is in ssh-agent), or set CASCADE_SIGNING_KEY=FILE")
	}
	if _, err := os.Stat(keyFile); err != nil {
		return "", errkind.New(errkind.Invalid, "--key %s: %v", keyFile, err)
	}
	dir, err := os.MkdirTemp("", "cascade-login-")
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	defer os.RemoveAll(dir)
	msg := filepath.Join(dir, "statement")
	if err := os.WriteFile(msg, []byte(statement), 0o600); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	args := []string{"-Y", "sign", "-n", Namespace, "-f", keyFile}
	if agent {
		args = append(args, "-U")
	}
	cmd := exec.CommandContext(ctx, "ssh-keygen", append(args, "-q", msg)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", errkind.New(errkind.Invalid, "cannot sign with %s: %s (is it an SSH private key without a passphrase prompt, or loaded in ssh-agent?)", keyFile, strings.TrimSpace(stderr.String()))
		}
		return "", errkind.New(errkind.Infra, "ssh-keygen could not run: %v", err)
	}
	sig, err := os.ReadFile(msg + ".sig")
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	return string(sig), nil
}

// verify checks that signature is person's (made with one of keys, in the
// login namespace) over statement. A signature that does not verify is an
// Invalid error; ssh-keygen that cannot run an Infra one.
func verify(ctx context.Context, person string, keys []string, statement, signature string) error {
	if !strings.HasPrefix(signature, "-----BEGIN SSH SIGNATURE-----") {
		return errkind.New(errkind.Invalid, "not an SSH signature")
	}
	dir, err := os.MkdirTemp("", "cascade-login-verify-")
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	defer os.RemoveAll(dir)
	var allowed strings.Builder
	for _, k := range keys {
		// One line per key: cascade.yaml's parser refuses line breaks in
		// keys, and they are refused here again.
		if strings.ContainsAny(person+k, "\r\n\x00") {
			return errkind.New(errkind.Invalid, "person %q: a key holds a line break", person)
		}
		fmt.Fprintf(&allowed, "%s namespaces=%q %s\n", person, Namespace, k)
	}
	allowedFile, sigFile := filepath.Join(dir, "allowed_signers"), filepath.Join(dir, "sig")
	if err := os.WriteFile(allowedFile, []byte(allowed.String()), 0o600); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := os.WriteFile(sigFile, []byte(signature), 0o600); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	cmd := exec.CommandContext(ctx, "ssh-keygen", "-Y", "verify", "-f", allowedFile, "-I", person, "-n", Namespace, "-s", sigFile)
	cmd.Stdin = strings.NewReader(statement)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return errkind.New(errkind.Infra, "ssh-keygen could not run: %v", err)
		}
		return errkind.New(errkind.Invalid, "the signature is not %s's: %s", person, strings.TrimSpace(string(out)))
	}
	return nil
}

// signingKey is the base64 body of the public key an armored SSH signature
// (ssh-keygen -Y sign) names: the key cascade.yaml lists it under, as in a
// .pub file. The signature must already be verified; this only reads it.
func signingKey(armored string) (string, error) {
	var b64 strings.Builder
	inside := false
	for _, line := range strings.Split(armored, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "-----BEGIN SSH SIGNATURE-----":
			inside = true
		case line == "-----END SSH SIGNATURE-----":
			inside = false
		case inside:
			b64.WriteString(line)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(b64.String())
	if err != nil || !bytes.HasPrefix(raw, []byte("SSHSIG")) || len(raw) < 6+4+4 {
		return "", errkind.New(errkind.Invalid, "not an SSH signature")
	}
	// "SSHSIG", a uint32 version, then the public key as an SSH string.
	rest := raw[6+4:]
	n := binary.BigEndian.Uint32(rest)
	if uint64(n) > uint64(len(rest)-4) || n == 0 {
		return "", errkind.New(errkind.Invalid, "not an SSH signature")
	}
	return base64.StdEncoding.EncodeToString(rest[4 : 4+n]), nil
}
