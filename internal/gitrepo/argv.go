package gitrepo

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// maxValue is the longest ref, revision, path or URL cascade passes to git.
const maxValue = 1024

// command is one git command line. Only newCommand makes one, so every git
// process cascade starts has its argv built in one place.
type command struct {
	args []string
}

// newCommand builds a git command line: the subcommand, then cascade's own
// options, then --end-of-options and the operands (refs, revisions, object
// ids, URLs, names), then, when paths is not nil, "--" and the paths (an
// empty, non-nil paths ends the revisions with "--" and names no path).
//
// opts are cascade's own: constants of this package, or an option whose
// value is attached with "=" (--merged=ID), which git never reads as a
// further option. Every operand and path is a value that may come from a
// user or a file; the caller has checked its meaning already (CheckRev,
// IsCommitID, ...), and newCommand refuses, whatever the caller did, an
// empty value, one that starts with '-', control characters and anything
// longer than 1024 bytes. After --end-of-options git reads no option, so a
// value can never become one.
func newCommand(sub string, opts, operands, paths []string) (command, error) {
	args := append([]string{sub}, opts...)
	args = append(args, "--end-of-options")
	for _, v := range operands {
		if err := checkValue("value", v); err != nil {
			return command{}, err
		}
		args = append(args, v)
	}
	if paths != nil {
		args = append(args, "--")
		for _, p := range paths {
			if err := CheckPath(p); err != nil {
				return command{}, err
			}
			args = append(args, p)
		}
	}
	return command{args: args}, nil
}

// checkValue refuses what no value cascade gives git may be.
func checkValue(what, v string) error {
	switch {
	case v == "":
		return invalid(what, v, "it is empty")
	case len(v) > maxValue:
		return invalid(what, v, fmt.Sprintf("it is %d bytes long; the limit is %d", len(v), maxValue))
	case strings.HasPrefix(v, "-"):
		return invalid(what, v, "it starts with '-', so git would read it as an option")
	case !utf8.ValidString(v):
		return invalid(what, v, "it is not valid UTF-8")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return invalid(what, v, fmt.Sprintf("it contains the control character %U", r))
		}
	}
	return nil
}

// invalid is the error for a value cascade refuses to pass to git: bad
// input (exit 2), quoting a bounded, escaped form of the value.
func invalid(what, v, why string) error {
	shown := v
	if len(shown) > 80 {
		shown = shown[:80] + "..."
	}
	return errkind.New(errkind.Invalid, "invalid %s %q: %s", what, shown, why)
}

// CheckRefName checks a ref name as `git check-ref-format --allow-onelevel`
// does (so "main", "v1.2.0", "release/1.x" and "refs/heads/main" pass),
// and more strictly: no component may start with '-', and the name must be
// valid UTF-8 and at most 1024 bytes. The error says what is wrong.
func CheckRefName(name string) error {
	return checkRefName("ref", name)
}

func checkRefName(what, name string) error {
	if err := checkValue(what, name); err != nil {
		return err
	}
	switch {
	case name == "@":
		return invalid(what, name, "a ref cannot be the single character '@'")
	case strings.Contains(name, ".."):
		return invalid(what, name, "a ref cannot contain \"..\" (a range is not a ref; name one branch, tag or commit)")
	case strings.Contains(name, "@{"):
		return invalid(what, name, "a ref cannot contain \"@{\"")
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return invalid(what, name, "a ref cannot begin or end with '/' or hold an empty component")
	case strings.HasSuffix(name, "."):
		return invalid(what, name, "a ref cannot end with '.'")
	}
	if i := strings.IndexAny(name, " ~^:?*[\\"); i >= 0 {
		return invalid(what, name, fmt.Sprintf("a ref cannot contain %q", name[i]))
	}
	for _, c := range strings.Split(name, "/") {
		switch {
		case strings.HasPrefix(c, "."):
			return invalid(what, name, "no component of a ref may begin with '.'")
		case strings.HasSuffix(c, ".lock"):
			return invalid(what, name, "no component of a ref may end with \".lock\"")
		case strings.HasPrefix(c, "-"):
			return invalid(what, name, "no component of a ref may begin with '-'")
		}
	}
	return nil
}

// suffix is what may follow a ref in a revision: parents (^, ^2), ancestors
// (~, ~3) and peeling (^{commit}, ^{tree}, ^{tag}, ^{}).
var suffix = regexp.MustCompile(`(\^[0-9]{0,3}|~[0-9]{0,6}|\^\{(commit|tree|tag|)\})+$`)

// CheckRev checks a revision given by a user or a file: a ref name (a
// branch, a tag, a full ref name or HEAD) or a full or abbreviated commit
// id, optionally followed by parent, ancestor or peel suffixes (main~2,
// v1.2.0^{commit}). Ranges (a..b), reflog expressions (@{...}), paths
// (rev:path), searches (:/text) and anything git would read as an option
// are refused with the reason.
func CheckRev(rev string) error {
	if err := checkValue("ref", rev); err != nil {
		return err
	}
	base := rev
	if loc := suffix.FindStringIndex(rev); loc != nil && loc[0] > 0 {
		base = rev[:loc[0]]
	}
	return checkRefName("ref", base)
}

// CheckCommitID checks that id is a full hexadecimal object id, as a plan
// file's frozen base and head must be.
func CheckCommitID(id string) error {
	if !IsCommitID(id) {
		if err := checkValue("commit id", id); err != nil {
			return err
		}
		return invalid("commit id", id, "a commit id here is the full 40 (or 64) hexadecimal digits")
	}
	return nil
}

// CheckPath checks a path inside a repository's tree: slash-separated,
// relative, without "." or ".." components, empty components or control
// characters. Such a path cannot name anything outside the tree.
func CheckPath(p string) error {
	if err := checkValue("path", p); err != nil {
		return err
	}
	if strings.HasPrefix(p, "/") {
		return invalid("path", p, "it is absolute; paths are relative to the repository's root")
	}
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "..":
			return invalid("path", p, "it leaves the repository (\"..\")")
		case ".", "":
			return invalid("path", p, "it holds an empty or \".\" component; write it as "+path.Clean(p))
		}
	}
	return nil
}

// CheckURL checks a remote's URL before git clones or fetches it: a value
// git cannot read as an option, without control characters, and not one of
// git's transports that run a command (ext::, fd::).
func CheckURL(url string) error {
	if err := checkValue("url", url); err != nil {
		return err
	}
	lower := strings.ToLower(url)
	if strings.HasPrefix(lower, "ext::") || strings.HasPrefix(lower, "fd::") {
		return invalid("url", url, "the ext:: and fd:: transports run commands; use https, ssh, git or a path")
	}
	return nil
}

// CheckGlob checks a glob of paths inside a repository's tree (path.Match
// syntax, one pattern per component): it must pass CheckPath, so no
// pattern can match outside the tree, and be well-formed.
func CheckGlob(pattern string) error {
	if err := CheckPath(pattern); err != nil {
		return err
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return invalid("glob", pattern, err.Error())
	}
	return nil
}

// RedactURL returns u with its credentials hidden, for showing a remote's
// URL in a report or an error: a password becomes "xxxxx" (as net/url's
// Redacted does), and so does the user name of an http(s) URL, where a
// user name alone is usually an access token, and the value of every query
// parameter whose name says it is a secret (?token=, access_token=,
// private_token=, ...: see secretParam). The rest is kept as written;
// anything that is not such a URL is returned as it is.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return u
	}
	changed := false
	if p.User != nil {
		if _, ok := p.User.Password(); ok {
			p.User, changed = url.UserPassword(p.User.Username(), "xxxxx"), true
		} else if p.Scheme == "http" || p.Scheme == "https" {
			p.User, changed = url.User("xxxxx"), true
		}
	}
	if q, ok := redactQuery(p.RawQuery); ok {
		p.RawQuery, changed = q, true
	}
	if !changed {
		return u
	}
	return p.String()
}

// redactQuery hides the values of the secret parameters of a raw query,
// keeping the others, and the order, as written.
func redactQuery(raw string) (string, bool) {
	if raw == "" {
		return raw, false
	}
	parts := strings.Split(raw, "&")
	changed := false
	for i, part := range parts {
		name, value, hasValue := strings.Cut(part, "=")
		if !hasValue || value == "" {
			continue
		}
		if n, err := url.QueryUnescape(name); err == nil && secretParam(n) {
			parts[i], changed = name+"=xxxxx", true
		}
	}
	return strings.Join(parts, "&"), changed
}

// secretParam reports whether a query parameter of this name carries a
// credential: token, access_token, private_token (GitLab), job_token,
// oauth_token, password, secret, api_key, sig (signed URLs), ...
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"token", "secret", "passw", "key", "sig", "auth", "credential"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// redactError replaces every occurrence of url in err's message by its
// redacted form, keeping err's kind.
func redactError(err error, url string) error {
	r := RedactURL(url)
	if err == nil || r == url {
		return err
	}
	return errkind.Wrap(errkind.Of(err), errors.New(strings.ReplaceAll(err.Error(), url, r)))
}
