package release

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cascade-dev/cascade/internal/runbook"
)

// Effect is one thing a release already did to the world, as an
// abort reports it: a person decides what to undo. Steps that only read
// (gates, checks, waits, verifications) change nothing and are left out.
type Effect struct {
	Step  int    `json:"step"`
	Repo  string `json:"repo"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	// What it did, and Undo what a person may do about it.
	What string `json:"what"`
	Undo string `json:"undo"`
}

// WhatItDid lists what the release st did to the world.
func WhatItDid(st *Status) []Effect {
	var out []Effect
	for _, s := range st.Steps {
		d := Effect{Step: s.Index, Repo: s.Repo, Name: s.Name, Kind: s.Kind, State: s.State}
		switch {
		case s.State == Running || s.State == Interrupted:
			if s.Kind != Run && s.Kind != Tag && s.Kind != Manual {
				continue
			}
			d.What = "was interrupted and may have done part of its work"
			d.Undo = "check what it did before undoing it"
		case s.State != Succeeded:
			continue
		case s.Kind == Tag:
			v := runbook.Word(s.data.Version)
			d.What = fmt.Sprintf("tagged %s %s at %.12s", s.Repo, s.data.Version, s.data.Commit)
			d.Undo = fmt.Sprintf("if no one has fetched it: git tag -d %s in %s, and git push origin --delete %s where it was pushed; otherwise leave it and release a new version", v, s.Repo, v)
		case s.Kind == Run:
			d.What = "ran its command in " + s.Repo
			d.Undo = "undo by hand what the command did (its output: cascade release status " + st.Plan + ")"
		case s.Kind == Manual:
			d.What = "was done by a person and confirmed by " + s.Actor
			if len(s.Inputs) > 0 {
				var kv []string
				for _, k := range slices.Sorted(maps.Keys(s.Inputs)) {
					kv = append(kv, k+"="+s.Inputs[k])
				}
				d.What += " (" + strings.Join(kv, ", ") + ")"
			}
			d.Undo = "undo by hand what the person did"
		default:
			continue
		}
		out = append(out, d)
	}
	return out
}
