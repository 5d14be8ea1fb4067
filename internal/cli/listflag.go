package cli

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/spf13/pflag"
)

// listValue is a repeatable flag. Unlike pflag's StringSlice, which reads
// each value as a line of CSV (so that "a\nb" silently became "a" and a
// quote made an error about CSV), a value is taken as given: split at
// commas only when the flag says so (names that cannot hold a comma), and
// refused when it holds a control character (a newline, NUL, ESC...),
// which no name, ref or version cascade takes can hold. pflag names the
// flag in the error, which exits 2.
type listValue struct {
	items *[]string
	split bool
	// check, when set, refuses an item that is not what the flag takes.
	check func(string) error
}

// stringList defines a repeatable flag whose values are taken whole
// (REPO@REF: a branch name or a directory may hold a comma).
func stringList(f *pflag.FlagSet, p *[]string, name, usage string) {
	f.Var(&listValue{items: p}, name, usage)
}

// refList defines a repeatable flag whose values are REPO@REF, each
// with its ref: a missing ref is an error, not the default branch. why
// says what the ref is for.
func refList(f *pflag.FlagSet, p *[]string, name, usage, why string) {
	f.Var(&listValue{items: p, check: func(s string) error { return needRef(name, why, s) }}, name, usage)
}

// needRef refuses a value of --flag that is not REPO@REF with both parts.
func needRef(flag, why, s string) error {
	s = strings.TrimSpace(s)
	i := strings.LastIndex(s, "@")
	if i <= 0 || i == len(s)-1 {
		repo := strings.TrimSuffix(s, "@")
		return &flagValueError{fmt.Sprintf("--%s %s names no ref: %s (--%s %s@REF)", flag, s, why, flag, repo)}
	}
	return nil
}

// flagValueError is a refused flag value whose message names the flag and
// says what to give instead: it is shown as it is.
type flagValueError struct{ msg string }

func (e *flagValueError) Error() string { return e.msg }

// commaList defines a repeatable flag whose values may also list several
// names separated by commas (--only a,b).
func commaList(f *pflag.FlagSet, p *[]string, name, usage string) {
	f.Var(&listValue{items: p, split: true}, name, usage)
}

func (v *listValue) Set(s string) error {
	if err := checkControl(s); err != nil {
		return err
	}
	if !v.split {
		if v.check != nil {
			if err := v.check(s); err != nil {
				return err
			}
		}
		*v.items = append(*v.items, s)
		return nil
	}
	return v.setItems(s)
}

// SetList adds the items of a comma-separated list, whatever the flag
// takes on the command line: a CI plugin's list setting (PLUGIN_WITH)
// arrives joined by commas.
func (v *listValue) SetList(s string) error {
	if err := checkControl(s); err != nil {
		return err
	}
	return v.setItems(s)
}

func (v *listValue) setItems(s string) error {
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return fmt.Errorf("the list %q has an empty item; separate names with single commas, or repeat the flag", s)
		}
		if v.check != nil {
			if err := v.check(item); err != nil {
				return err
			}
		}
		*v.items = append(*v.items, item)
	}
	return nil
}

func checkControl(s string) error {
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		r := []rune(s[i:])[0]
		return fmt.Errorf("the value holds the control character %U at byte %d; give one value per flag, without newlines or other control characters", r, i)
	}
	return nil
}

// Type names the value in --help as pflag's own list flags do.
func (v *listValue) Type() string {
	if v.split {
		return "stringSlice"
	}
	return "stringArray"
}

// String is "" for no value, so that --help shows no default.
func (v *listValue) String() string {
	if len(*v.items) == 0 {
		return ""
	}
	return "[" + strings.Join(*v.items, ",") + "]"
}
