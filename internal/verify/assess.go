package verify

import (
	"fmt"
	"strings"
)

// Outcome is what a set of verdicts means. The command line's exit code,
// the plan's downstream gate and the release's verify step all take it
// from Assess, so that no caller can read "safe" into a verdict another
// would not.
type Outcome struct {
	// Exit is the command line's exit code: 1 when a downstream regressed,
	// else 2 when a downstream's file is bad input, else 3 when a
	// downstream could not be verified (an error verdict), else 0.
	Exit int
	// Conclusion is the sentence a release manager needs.
	Conclusion string
	// Shipped are the regressions in the state the change set ships in:
	// with every member in place (alone when there is only the upstream).
	Shipped []string
	// Alone are the regressions of the upstream alone that the rest of the
	// change set fixes: merged alone, it would break them.
	Alone []string
	// Unverified are the downstreams that could not be verified.
	Unverified []string
}

// Gate statuses.
const (
	GatePass = "pass"
	GateWarn = "warn"
	GateFail = "fail"
)

// Gate says what the outcome means for a release of the whole change set:
// it fails on a regression in the state that ships or on anything that
// could not be verified, and warns when only merging the upstream alone
// would break a downstream.
func (o Outcome) Gate() (status, reason string) {
	switch {
	case len(o.Shipped) > 0:
		return GateFail, "with the whole change set in place: " + strings.Join(o.Shipped, ", ")
	case len(o.Unverified) > 0:
		return GateFail, "could not verify " + strings.Join(o.Unverified, ", ") + ": not known to be safe"
	case len(o.Alone) > 0:
		return GateWarn, "merging the upstream alone would break " + strings.Join(o.Alone, ", ") + "; the change set releases them together"
	}
	return GatePass, "no regression"
}

// Assess says what a report's verdicts mean.
func Assess(r *Report) Outcome {
	var o Outcome
	hasSet := len(r.With) > 0
	label := func(res Result) string {
		if res.Cause != "" {
			return res.Repo + " (through " + res.Cause + ")"
		}
		return res.Repo + "@" + res.Ref
	}
	for _, res := range r.Results {
		switch res.Verdict {
		case Error:
			o.Unverified = append(o.Unverified, res.Repo+"@"+res.Ref+" ("+res.State+")")
		case Regressed:
			if res.State == Set || !hasSet {
				o.Shipped = append(o.Shipped, label(res))
			} else {
				o.Alone = append(o.Alone, label(res))
			}
		}
	}
	switch {
	case len(o.Shipped)+len(o.Alone) > 0:
		o.Exit = 1
	case len(r.Problems) > 0:
		o.Exit = 2
	case len(o.Unverified) > 0:
		o.Exit = 3
	}
	o.Conclusion = conclusion(r, o, hasSet)
	return o
}

func conclusion(r *Report, o Outcome, hasSet bool) string {
	upName := r.Upstream.Repo + "@" + r.Upstream.Ref
	if len(r.Results) == 0 {
		return "no repo in the workspace depends on " + r.Upstream.Repo + ": nothing to verify"
	}
	// Downstreams left unverified, by an error or by the selection: never
	// "safe".
	unverified := len(o.Unverified) > 0 || len(r.Unselected) > 0
	alone, set := o.Alone, []string(nil)
	if hasSet {
		set = o.Shipped
	} else {
		alone = o.Shipped
	}
	var b strings.Builder
	if len(alone) == 0 {
		fmt.Fprintf(&b, "merging %s alone breaks no downstream", upName)
		if unverified {
			b.WriteString(" that cascade could verify")
		}
	} else {
		fmt.Fprintf(&b, "merging %s alone breaks %s", upName, joinAnd(alone))
	}
	switch {
	case !hasSet && len(alone) > 0:
		b.WriteString(": fix them first, or verify again with their fix branches (--with REPO@REF)")
	case !hasSet && !unverified:
		b.WriteString(": safe to merge")
	case hasSet && len(set) == 0 && !verifiedIn(r, Set):
		var others []string
		for _, m := range r.With {
			others = append(others, m.Repo+"@"+m.Ref)
		}
		fmt.Fprintf(&b, "; with %s in the same release cascade could verify nothing", joinAnd(others))
	case hasSet && len(set) == 0:
		var others []string
		for _, m := range r.With {
			others = append(others, m.Repo+"@"+m.Ref)
		}
		if unverified {
			fmt.Fprintf(&b, "; with %s in the same release everything cascade could verify passes", joinAnd(others))
		} else {
			fmt.Fprintf(&b, "; with %s in the same release everything passes", joinAnd(others))
		}
		switch {
		case len(alone) > 0:
			fmt.Fprintf(&b, ": release them together, %s first", r.Order[0])
		case !unverified:
			fmt.Fprintf(&b, ": safe in the order %s", strings.Join(r.Order, ", "))
		}
	case hasSet:
		var others []string
		for _, m := range r.With {
			others = append(others, m.Repo+"@"+m.Ref)
		}
		verb, pron := "break", "them"
		if len(set) == 1 {
			verb, pron = "breaks", "it"
		}
		fmt.Fprintf(&b, "; even with %s in the same release, %s still %s: fix %s before releasing", joinAnd(others), joinAnd(set), verb, pron)
	}
	if len(o.Unverified) > 0 {
		fmt.Fprintf(&b, "; %s could not be verified (see the errors): not known to be safe", joinAnd(o.Unverified))
	}
	if len(r.Unselected) > 0 {
		fmt.Fprintf(&b, "; %s not selected (--only, --tier, --direct) and not verified: not known to be safe", joinAnd(shorten(r.Unselected, 8)))
	}
	return b.String()
}

// verifiedIn reports whether any downstream got a verdict other than error
// in a state.
func verifiedIn(r *Report, state string) bool {
	for _, res := range r.Results {
		if res.State == state && res.Verdict != Error {
			return true
		}
	}
	return false
}
