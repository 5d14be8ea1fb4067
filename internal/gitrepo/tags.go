package gitrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// Tags returns every tag of the repository and the commit it names (an
// annotated tag is followed to its commit; a tag of anything else names
// ""). It asks git (`for-each-ref`), so every ref storage format works.
func (r *Repo) Tags(ctx context.Context) (map[string]string, error) {
	out, err := r.git(ctx, "for-each-ref", []string{"--format=%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)"}, []string{"refs/tags"})
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 5 || f[0] == "" {
			continue
		}
		switch {
		case f[1] == "commit":
			tags[f[0]] = f[2]
		case f[3] == "commit":
			tags[f[0]] = f[4]
		default:
			tags[f[0]] = ""
		}
	}
	return tags, nil
}

// TagsState returns a digest of every tag and what it names. It changes
// whenever a tag is added, moved or deleted, so callers can cache what
// they derive from tags; "" means the repository has no tags.
func (r *Repo) TagsState(ctx context.Context) (string, error) {
	out, err := r.git(ctx, "for-each-ref", []string{"--format=%(refname) %(objectname)"}, []string{"refs/tags"})
	if err != nil || out == "" {
		return "", err
	}
	lines := strings.Split(out, "\n")
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:16]), nil
}

// MergedTags lists the tags whose commits are reachable from commit (a
// full commit id).
func (r *Repo) MergedTags(ctx context.Context, commit string) ([]string, error) {
	if err := CheckCommitID(commit); err != nil {
		return nil, err
	}
	return r.tagList(ctx, "--merged="+commit)
}

// TagsAt lists the tags that point at commit (a full commit id), directly
// or through an annotated tag.
func (r *Repo) TagsAt(ctx context.Context, commit string) ([]string, error) {
	if err := CheckCommitID(commit); err != nil {
		return nil, err
	}
	return r.tagList(ctx, "--points-at="+commit)
}

// TagNames lists every tag's name.
func (r *Repo) TagNames(ctx context.Context) ([]string, error) {
	return r.tagList(ctx)
}

func (r *Repo) tagList(ctx context.Context, opts ...string) ([]string, error) {
	out, err := r.git(ctx, "tag", append([]string{"--list"}, opts...), nil)
	if err != nil {
		return nil, err
	}
	if out == "" {
		return nil, nil
	}
	return strings.Split(out, "\n"), nil
}

// RefNames lists the repository's branches, then its tags, by their short
// names (for shell completion of REPO@REF arguments).
func (r *Repo) RefNames(ctx context.Context) (branches, tags []string, err error) {
	out, err := r.git(ctx, "for-each-ref", []string{"--format=%(refname)"}, []string{"refs/heads", "refs/tags"})
	if err != nil {
		return nil, nil, err
	}
	for _, line := range strings.Split(out, "\n") {
		if b, ok := strings.CutPrefix(line, "refs/heads/"); ok {
			branches = append(branches, b)
		} else if t, ok := strings.CutPrefix(line, "refs/tags/"); ok {
			tags = append(tags, t)
		}
	}
	return branches, tags, nil
}
