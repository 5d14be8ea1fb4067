package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// PushTag pushes the tag from this repository to the remote at url, with
// the user's own git credentials (prompts off). A rejected push is an
// error carrying git's message.
func (r *Repo) PushTag(ctx context.Context, url, tag string) error {
	if err := CheckRefName(tag); err != nil {
		return err
	}
	if err := CheckURL(url); err != nil {
		return err
	}
	ref := "refs/tags/" + tag
	_, err := git(ctx, r.Dir(), nil, "push", []string{"--quiet"}, []string{url, ref + ":" + ref})
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) {
			return errkind.New(errkind.Problem, "pushing tag %s to %s failed: %s", tag, url, ce.Stderr)
		}
		return err
	}
	return nil
}

// RemoteTagCommit reads, from the remote at url, the commit the tag points
// at (peeled); "" when the remote has no such tag.
func (r *Repo) RemoteTagCommit(ctx context.Context, url, tag string) (string, error) {
	if err := CheckRefName(tag); err != nil {
		return "", err
	}
	if err := CheckURL(url); err != nil {
		return "", err
	}
	ref := "refs/tags/" + tag
	out, err := git(ctx, r.Dir(), nil, "ls-remote", []string{"--tags"}, []string{url, ref, ref + "^{}"})
	if err != nil {
		return "", fmt.Errorf("reading the tags of %s: %w", url, err)
	}
	var direct, peeled string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		id, name, ok := strings.Cut(line, "\t")
		switch {
		case !ok:
		case name == ref+"^{}":
			peeled = id
		case name == ref:
			direct = id
		}
	}
	if peeled != "" {
		return peeled, nil
	}
	return direct, nil
}
