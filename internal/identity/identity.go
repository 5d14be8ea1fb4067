// Package identity says who acts: the people of cascade.yaml and the SSH
// signatures (ssh-keygen -Y sign and verify, namespace cascade-release)
// that prove an action is theirs. A signature is made over a statement of
// the action; the signer is found among the people's keys, never taken
// from a flag.
package identity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Namespace is the ssh-keygen signature namespace of cascade's actions.
const Namespace = "cascade-release"

// Signature is a signed statement of one action.
type Signature struct {
	// Statement is what was signed; Armored the SSH signature over it.
	Statement string `json:"statement"`
	Armored   string `json:"signature"`
}

// ViaArg and PersonArg are the statement arguments of an action a server
// signs for a person (cascade.yaml `servers:`): via names the server,
// person the one it acts for, who logged in to it with their own key.
const (
	ViaArg    = "via"
	PersonArg = "person"
)

// ServerPrincipal is the name a server's keys verify under: no person's
// name holds a ':', so it is never a person's.
func ServerPrincipal(server string) string { return "server:" + server }

// ServerSigners are the servers as the signers VerifyAs takes, each under
// its ServerPrincipal name.
func ServerSigners(servers []workspace.Person) []workspace.Person {
	out := make([]workspace.Person, len(servers))
	for i, s := range servers {
		out[i] = workspace.Person{Name: ServerPrincipal(s.Name), Keys: s.Keys, Line: s.Line}
	}
	return out
}

// ActionFor is the statement a server signs for person's action (its
// arguments with via and person added).
func ActionFor(server, person, plan, action, at string, args map[string]string) string {
	all := map[string]string{}
	for k, v := range args {
		all[k] = v
	}
	all[ViaArg], all[PersonArg] = server, person
	return Statement(plan, action, at, all)
}

// Statement is the text a person signs for an action: the plan, the
// action and its arguments, one per line, sorted, and when.
func Statement(plan, action, at string, args map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cascade-release action\nplan=%s\naction=%s\nat=%s\n", plan, action, at)
	var keys []string
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, args[k])
	}
	return b.String()
}

// StatementField reads one field of a statement ("" if absent).
func StatementField(statement, key string) string {
	for _, l := range strings.Split(statement, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	return ""
}

// Sign signs statement with the private key in keyFile; with agent (a
// public key file whose private key is in ssh-agent), ssh-agent signs.
func Sign(ctx context.Context, keyFile string, agent bool, statement string) (*Signature, error) {
	if keyFile == "" {
		return nil, errkind.New(errkind.Invalid, "this workspace lists people: sign your action with --key FILE (your SSH private key, or a .pub file whose key is in ssh-agent), or set CASCADE_SIGNING_KEY=FILE (or git config --global user.signingkey FILE) once")
	}
	if _, err := os.Stat(keyFile); err != nil {
		return nil, errkind.New(errkind.Invalid, "--key %s: %v", keyFile, err)
	}
	dir, err := os.MkdirTemp("", "cascade-sign-")
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	defer os.RemoveAll(dir)
	msg := filepath.Join(dir, "statement")
	if err := os.WriteFile(msg, []byte(statement), 0o600); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	args := []string{"-Y", "sign", "-n", Namespace, "-f", keyFile}
	if agent {
		args = append(args, "-U")
	}
	args = append(args, "-q", msg)
	cmd := exec.CommandContext(ctx, "ssh-keygen", args...)
	cmd.Stdin = nil
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, errkind.New(errkind.Invalid, "cannot sign with %s: %s (is it an SSH private key without a passphrase prompt, or loaded in ssh-agent?)", keyFile, strings.TrimSpace(stderr.String()))
		}
		return nil, errkind.New(errkind.Infra, "ssh-keygen could not run: %v", err)
	}
	sig, err := os.ReadFile(msg + ".sig")
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	return &Signature{Statement: statement, Armored: string(sig)}, nil
}

// allowedSigners writes git's allowed_signers file for people.
func allowedSigners(dir string, people []workspace.Person) (string, error) {
	var b strings.Builder
	for _, p := range people {
		for _, k := range p.Keys {
			// One line per key: a line break would let a key sign as
			// someone else (cascade.yaml's parser refuses them too).
			if strings.ContainsAny(p.Name+k, "\r\n\x00") || strings.ContainsAny(p.Name, " \t") {
				return "", errkind.New(errkind.Invalid, "person %q: a name or key holds a line break or a blank; fix cascade.yaml `people:`", p.Name)
			}
			fmt.Fprintf(&b, "%s namespaces=%q %s\n", p.Name, Namespace, k)
		}
	}
	f := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	return f, nil
}

// Signer finds who made sig among people and verifies the signature: it
// returns the person's name. A signature by a key no person has, or one
// that does not verify, is an error naming what to do.
func Signer(ctx context.Context, people []workspace.Person, sig *Signature) (string, error) {
	dir, err := os.MkdirTemp("", "cascade-verify-")
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	defer os.RemoveAll(dir)
	allowed, err := allowedSigners(dir, people)
	if err != nil {
		return "", err
	}
	sigFile := filepath.Join(dir, "sig")
	if err := os.WriteFile(sigFile, []byte(sig.Armored), 0o600); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	out, err := exec.CommandContext(ctx, "ssh-keygen", "-Y", "find-principals", "-s", sigFile, "-f", allowed).Output()
	principals := strings.Fields(string(out))
	if err != nil || len(principals) == 0 {
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return "", errkind.New(errkind.Infra, "ssh-keygen could not run: %v", err)
		}
		return "", errkind.New(errkind.Invalid, "the key that signed is not any person's in cascade.yaml `people:`; add your public key to your entry there (or sign with the key that is)")
	}
	name := principals[0]
	if err := verifyAs(ctx, allowed, sigFile, name, sig.Statement); err != nil {
		return "", err
	}
	return name, nil
}

// VerifyAs checks that sig is name's signature over its statement.
func VerifyAs(ctx context.Context, people []workspace.Person, name string, sig *Signature) error {
	dir, err := os.MkdirTemp("", "cascade-verify-")
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	defer os.RemoveAll(dir)
	allowed, err := allowedSigners(dir, people)
	if err != nil {
		return err
	}
	sigFile := filepath.Join(dir, "sig")
	if err := os.WriteFile(sigFile, []byte(sig.Armored), 0o600); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	return verifyAs(ctx, allowed, sigFile, name, sig.Statement)
}

func verifyAs(ctx context.Context, allowed, sigFile, name, statement string) error {
	cmd := exec.CommandContext(ctx, "ssh-keygen", "-Y", "verify", "-f", allowed, "-I", name, "-n", Namespace, "-s", sigFile)
	cmd.Stdin = strings.NewReader(statement)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return errkind.New(errkind.Infra, "ssh-keygen could not run: %v", err)
		}
		return errkind.New(errkind.Invalid, "the signature is not %s's over this action: %s", name, strings.TrimSpace(string(out)))
	}
	return nil
}

// GenerateKey makes a new ed25519 key pair without a passphrase at file
// (and file.pub) and returns the public key line.
func GenerateKey(ctx context.Context, file, comment string) (string, error) {
	out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file).CombinedOutput()
	if err != nil {
		return "", errkind.New(errkind.Infra, "ssh-keygen could not make a key: %v: %s", err, strings.TrimSpace(string(out)))
	}
	pub, err := os.ReadFile(file + ".pub")
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	return strings.TrimSpace(string(pub)), nil
}
