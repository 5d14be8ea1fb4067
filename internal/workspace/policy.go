package workspace

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/yamlfile"
)

// Policy says when releases may run.
type Policy struct {
	// Timezone is the IANA name the windows are read in; Location is it loaded.
	Timezone string
	Location *time.Location
	Windows  []Window
	Freezes  []Freeze
	// Default is true when the workspace configures no windows and the
	// default (Monday to Thursday, 09:00 to 16:00) applies.
	Default bool
}

// Window is a weekly period in which releases may run.
type Window struct {
	Days []time.Weekday
	// From and To are minutes since midnight, From < To.
	From, To int
	Line     int
}

// Freeze is a period in which no release may run, whatever the windows say.
type Freeze struct {
	// From is the first moment of the freeze; To the first moment after it
	// (a date given as `to` freezes that whole day).
	From, To time.Time
	Reason   string
	Line     int
}

// DefaultPolicy is the policy of a workspace that configures none:
// Monday to Thursday, 09:00 to 16:00 UTC; never on a Friday. A policy
// without `timezone:` is in UTC, never in the zone of whoever runs cascade
// (TZ): the same plan must pass or fail the same gates for everyone.
func DefaultPolicy() Policy {
	return Policy{
		Timezone: "UTC",
		Location: time.UTC,
		Windows: []Window{{
			Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday},
			From: 9 * 60, To: 16 * 60,
		}},
		Default: true,
	}
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

func parsePolicy(file string, n *yaml.Node) (Policy, error) {
	p := DefaultPolicy()
	if n.Kind != yaml.MappingNode {
		return p, inputErr(file, n, "`policy:` must be a mapping with `timezone:`, `windows:` and `freezes:`")
	}
	var probs yamlfile.Problems
	probs.Add(checkKeys(file, n, "policy", "timezone", "windows", "freezes"))
	if v := value(n, "timezone"); v != nil {
		if err := p.parseTimezone(file, v); err != nil {
			probs.Add(err)
		}
	}
	if v := value(n, "windows"); v != nil {
		switch {
		case v.Kind != yaml.SequenceNode:
			probs.Add(inputErr(file, v, "`policy.windows:` must be a list of {days, from, to}"))
		case len(v.Content) == 0:
			probs.Add(inputErr(file, v, "`policy.windows: []` lists no window, so no release could ever start; list at least one {days, from, to}, or remove the key for the default (Monday to Thursday, 09:00 to 16:00)"))
		default:
			p.Windows, p.Default = nil, false
			for i, w := range v.Content {
				win, err := parseWindow(file, w, fmt.Sprintf("policy.windows[%d]", i))
				if err != nil {
					probs.Add(err)
					continue
				}
				p.Windows = append(p.Windows, win)
			}
		}
	}
	if v := value(n, "freezes"); v != nil {
		if v.Kind != yaml.SequenceNode {
			probs.Add(inputErr(file, v, "`policy.freezes:` must be a list of {from, to, reason}"))
		} else {
			for i, f := range v.Content {
				fr, err := parseFreeze(file, f, fmt.Sprintf("policy.freezes[%d]", i), p.Location)
				if err != nil {
					probs.Add(err)
					continue
				}
				p.Freezes = append(p.Freezes, fr)
			}
		}
	}
	return p, probs.Err()
}

// parseTimezone reads policy.timezone into p.
func (p *Policy) parseTimezone(file string, v *yaml.Node) error {
	tz, err := scalar(file, v, "policy.timezone")
	if err != nil {
		return err
	}
	if strings.EqualFold(tz, "local") {
		return inputErr(file, v, "timezone %q would follow the zone of whoever runs cascade (TZ), so the same gate could pass for one person and fail for another; name the zone, such as America/Los_Angeles or UTC", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return inputErr(file, v, "unknown time zone %q; use an IANA name such as America/Los_Angeles or UTC", tz)
	}
	p.Timezone, p.Location = tz, loc
	return nil
}

func parseWindow(file string, n *yaml.Node, where string) (Window, error) {
	w := Window{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return w, inputErr(file, n, "%s must be a mapping with days, from and to", where)
	}
	if err := checkKeys(file, n, where, "days", "from", "to"); err != nil {
		return w, err
	}
	days := value(n, "days")
	if days == nil || days.Kind != yaml.SequenceNode || len(days.Content) == 0 {
		return w, inputErr(file, n, "%s needs `days:`, a list such as [mon, tue, wed, thu]", where)
	}
	for _, d := range days.Content {
		wd, ok := dayNames[strings.ToLower(d.Value)]
		if !ok {
			return w, inputErr(file, d, "%s: invalid day %q; use mon, tue, wed, thu, fri, sat or sun", where, d.Value)
		}
		w.Days = append(w.Days, wd)
	}
	var err error
	if w.From, err = clock(file, n, "from", where); err != nil {
		return w, err
	}
	if w.To, err = clock(file, n, "to", where); err != nil {
		return w, err
	}
	if w.From >= w.To {
		return w, inputErr(file, n, "%s: `from` must be before `to` (a window cannot span midnight; split it in two)", where)
	}
	return w, nil
}

func clock(file string, n *yaml.Node, key, where string) (int, error) {
	v := value(n, key)
	if v == nil {
		return 0, inputErr(file, n, "%s needs `%s:` as a time of day such as \"09:00\"", where, key)
	}
	if v.Value == "24:00" && key == "to" {
		return 24 * 60, nil
	}
	t, err := time.Parse("15:04", v.Value)
	if err != nil {
		return 0, inputErr(file, v, "%s.%s: invalid time %q; write HH:MM, 00:00 to 24:00", where, key, v.Value)
	}
	return t.Hour()*60 + t.Minute(), nil
}

func parseFreeze(file string, n *yaml.Node, where string, loc *time.Location) (Freeze, error) {
	f := Freeze{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return f, inputErr(file, n, "%s must be a mapping with from, to and reason", where)
	}
	if err := checkKeys(file, n, where, "from", "to", "reason"); err != nil {
		return f, err
	}
	parse := func(key string, end bool) (time.Time, error) {
		v := value(n, key)
		if v == nil {
			return time.Time{}, inputErr(file, n, "%s needs `%s:` as a date (2026-12-21) or a time (2026-12-21T18:00:00Z)", where, key)
		}
		if t, err := time.ParseInLocation("2006-01-02", v.Value, loc); err == nil {
			if end {
				t = t.AddDate(0, 0, 1)
			}
			return t, nil
		}
		if t, err := time.Parse(time.RFC3339, v.Value); err == nil {
			return t, nil
		}
		return time.Time{}, inputErr(file, v, "%s.%s: invalid date %q; write 2026-12-21 or an RFC 3339 time", where, key, v.Value)
	}
	var err error
	if f.From, err = parse("from", false); err != nil {
		return f, err
	}
	if f.To, err = parse("to", true); err != nil {
		return f, err
	}
	if !f.From.Before(f.To) {
		return f, inputErr(file, n, "%s: `from` must not be after `to`", where)
	}
	if r := value(n, "reason"); r != nil {
		f.Reason = r.Value
	}
	return f, nil
}
