package semver

import (
	"fmt"
	"strings"

	modsemver "golang.org/x/mod/semver"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/scan"
)

// checkReleased notes the suggested version, and refuses the proposed one,
// when the module's tag of that version is already on another commit.
func (c *checker) checkReleased(m *Module) error {
	tagged := func(v string) (string, string, error) {
		tag := scan.TagName(m.Dir, v)
		commit, err := c.repo.Git.Resolve(c.ctx, "refs/tags/"+tag)
		if errkind.Of(err) == errkind.NotFound || commit == m.HeadCommit {
			return tag, "", nil
		}
		return tag, commit, err
	}
	if m.Suggested != "" && m.Suggested != m.Proposed {
		tag, commit, err := tagged(m.Suggested)
		if err != nil {
			return err
		}
		if commit != "" {
			m.Notes = append(m.Notes, fmt.Sprintf("%s is already released (tag %s on commit %.12s): compare with it (--base %s) or pick a version above it", m.Suggested, tag, commit, tag))
		}
	}
	if m.Proposed != "" && m.OK {
		tag, commit, err := tagged(m.Proposed)
		if err != nil {
			return err
		}
		if commit != "" {
			m.OK = false
			m.Notes = append(m.Notes, fmt.Sprintf("proposed %s is already released: tag %s is on commit %.12s, not the head", m.Proposed, tag, commit))
		}
	}
	return nil
}

// baseRelease is the release a module is compared with.
type baseRelease struct {
	version, commit string // "" when there is none
	none            string // then: why, for a note
	note            string // how the release was chosen, when unusual
	// other is a release below the proposal tagged off the head's
	// history and higher than version: its users upgrade from it too,
	// so the head is compared with it as well and the stricter verdict
	// stands.
	other *baseRelease
}

// bases picks the release each module is compared with. proposals are
// the versions proposed for each module ("" for none).
//
// With given (--base), that tag names one module's release: the root
// module's for a bare version, the module in dir for "dir/vX.Y.Z". Every
// other module is compared with its own highest tag reachable from that
// release's commit, or with none.
//
// Without it, a module with a proposed version (--proposed, or its version
// tagged on the head commit) is compared with its highest release below
// that version reachable from the head, prereleases aside, as gorelease
// infers a base; any other module with its highest tag reachable from the
// head. A proposal that is not above every version in the head's history
// is compared with the highest of them (and refused).
func (c *checker) bases(given string, mods []apiModule, headCommit string, headTags, proposals []string) ([]baseRelease, error) {
	out := make([]baseRelease, len(mods))
	if given != "" {
		owner, tag, err := baseOwner(given, mods, c.repo.Name)
		if err != nil {
			return nil, err
		}
		commit, err := c.repo.Git.Resolve(c.ctx, "refs/tags/"+tag)
		if err != nil {
			if errkind.Of(err) == errkind.NotFound {
				return nil, errkind.New(errkind.Invalid, "repo %s has no tag %s; `git -C %s tag --list` lists its tags", c.repo.Name, tag, c.repo.Git.Dir())
			}
			return nil, err
		}
		tags, err := c.repo.Git.MergedTags(c.ctx, commit)
		if err != nil {
			return nil, err
		}
		var headHistory []string // tags reachable from the head, not on it
		for i, m := range mods {
			v := scan.HighestTag(tags, m.Dir)
			if i == owner {
				v = strings.TrimPrefix(tag, scan.TagName(m.Dir, ""))
			}
			if v == "" && i != owner {
				// Repos often tag their nested modules a commit after the
				// root's release: the nested module's highest release in
				// the head's history, below the head, is its base then.
				if headHistory == nil {
					all, err := c.repo.Git.MergedTags(c.ctx, headCommit)
					if err != nil {
						return nil, err
					}
					at := map[string]bool{}
					for _, t := range headTags {
						at[t] = true
					}
					headHistory = []string{}
					for _, t := range all {
						if !at[t] {
							headHistory = append(headHistory, t)
						}
					}
				}
				if v = scan.HighestTag(headHistory, m.Dir); v != "" {
					out[i].note = fmt.Sprintf("%s has no release at or before %s; compared with its release %s, the highest in the head's history", m.Name, tag, scan.TagName(m.Dir, v))
				}
			}
			if v == "" {
				out[i].none = fmt.Sprintf("no release of %s at or before %s, nor in the head's history: every exported identifier counts as added", m.Name, tag)
				continue
			}
			note := out[i].note
			if out[i], err = c.release(m.Dir, v); err != nil {
				return nil, err
			}
			out[i].note = note
		}
		return out, nil
	}
	tags, err := c.repo.Git.MergedTags(c.ctx, headCommit)
	if err != nil {
		return nil, err
	}
	atHead := map[string]bool{}
	for _, t := range headTags {
		atHead[t] = true
	}
	var before []string // reachable from the head, not on it
	for _, t := range tags {
		if !atHead[t] {
			before = append(before, t)
		}
	}
	var all []string // every tag of the repo, for releases made off the head's history
	for i, m := range mods {
		v := scan.HighestTag(tags, m.Dir)
		note := ""
		if at := proposals[i]; at != "" {
			// A proposal not above every version the head's history
			// holds keeps the highest as its base, and is refused.
			if below, above := releaseBelow(before, m.Dir, at); above == "" {
				v = below
			}
			// A release below the proposal made from a branch the head
			// does not contain (v1.1.0 tagged on an unmerged branch) is
			// what its users upgrade from: it is the base when it is
			// higher than the head's own.
			if all == nil {
				if all, err = c.repo.Git.TagNames(c.ctx); err != nil {
					return nil, err
				}
			}
			if other, _ := releaseBelow(all, m.Dir, at); other != "" && (v == "" || modsemver.Compare(other, v) > 0) {
				if v == "" {
					note = fmt.Sprintf("%s is not in the head's history, but it is the highest release below %s: its users upgrade from it, so %s is compared with it", scan.TagName(m.Dir, other), at, m.Name)
					v = other
				} else {
					o, err := c.release(m.Dir, other)
					if err != nil {
						return nil, err
					}
					o.note = fmt.Sprintf("%s is not in the head's history, but it is a release below %s: its users upgrade from it too, and compared with it %s needs more", scan.TagName(m.Dir, other), at, m.Name)
					out[i].other = &o
				}
			}
			if v == "" {
				out[i].none = fmt.Sprintf("no release of %s below %s: every exported identifier counts as added", m.Name, at)
				continue
			}
		}
		if v == "" {
			out[i].none = "no release tag yet: every exported identifier counts as added; tag a first release (" + scan.TagName(m.Dir, "v0.1.0") + ")"
			continue
		}
		other := out[i].other
		if out[i], err = c.release(m.Dir, v); err != nil {
			return nil, err
		}
		out[i].other = other
		if note != "" {
			out[i].note = note
		}
	}
	return out, nil
}

// release resolves the tag of version v of the module in dir.
func (c *checker) release(dir, v string) (baseRelease, error) {
	commit, err := c.repo.Git.Resolve(c.ctx, "refs/tags/"+scan.TagName(dir, v))
	if err != nil {
		return baseRelease{}, err
	}
	return baseRelease{version: v, commit: commit}, nil
}

// baseOwner finds the module whose release --base names, and its tag.
func baseOwner(given string, mods []apiModule, repo string) (int, string, error) {
	prefix, v := "", given
	if i := strings.LastIndex(given, "/"); i >= 0 {
		prefix, v = given[:i], given[i+1:]
	}
	if !modsemver.IsValid(v) {
		return 0, "", errkind.New(errkind.Invalid, "--base %q is not a release tag such as v1.2.0 (or dir/v1.2.0 for the module in dir)", given)
	}
	dir := prefix
	if dir == "" {
		dir = "."
	}
	for i, m := range mods {
		if m.Dir == dir {
			return i, scan.TagName(dir, v), nil
		}
	}
	switch {
	case prefix == "" && len(mods) == 1:
		// The repo's one module lives in a subdirectory.
		return 0, scan.TagName(mods[0].Dir, v), nil
	case prefix == "":
		return 0, "", errkind.New(errkind.Invalid, "--base %s names a release of the root module, but repo %s has none at its root; name a module's tag, such as %s", given, repo, scan.TagName(mods[0].Dir, v))
	}
	return 0, "", errkind.New(errkind.Invalid, "--base %q: repo %s has no module in %s", given, repo, prefix)
}

// releaseBelow returns the highest release (not a prerelease) of the
// module in dir among tags below version at, and the highest of its
// versions among tags that is not below at; "" if none.
func releaseBelow(tags []string, dir, at string) (below, above string) {
	var lower, higher []string
	for _, t := range tags {
		v, ok := strings.CutPrefix(t, scan.TagName(dir, ""))
		if !ok || !modsemver.IsValid(v) {
			continue
		}
		switch {
		case modsemver.Compare(v, at) >= 0:
			higher = append(higher, t)
		case modsemver.Prerelease(v) == "":
			lower = append(lower, t)
		}
	}
	return scan.HighestTag(lower, dir), scan.HighestTag(higher, dir)
}
