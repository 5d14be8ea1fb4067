package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// usageArgs checks a command's positional arguments against its Use line,
// so that the line in --help and the check cannot disagree: "verify
// REPO[@REF]" takes one argument, "confirm PLAN STEP" two, "init
// [DIR...]" any number, "replay ... FILE..." at least one. A missing
// argument is named ("cascade verify: missing REPO[@REF]"); both errors
// exit 2.
func usageArgs(cmd *cobra.Command, argv []string) error {
	required, optional, variadic := useArgs(cmd.Use)
	if len(argv) < len(required) {
		return argError(cmd, "missing %s", strings.Join(required[len(argv):], " "))
	}
	if max := len(required) + len(optional); !variadic && len(argv) > max {
		takes := "no arguments"
		if max > 0 {
			takes = strings.Join(append(append([]string(nil), required...), bracket(optional)...), " ")
		}
		return argError(cmd, "unexpected argument %q (it takes %s)", argv[max], takes)
	}
	return nil
}

// usageArgsOr is usageArgs, except that no argument at all is accepted
// when the variable env names is set (verify's PLUGIN_UPSTREAM).
func (a *app) usageArgsOr(env string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, argv []string) error {
		if len(argv) == 0 && a.getenv(env) != "" {
			return nil
		}
		return usageArgs(cmd, argv)
	}
}

// argError is a usage error of cmd's arguments.
func argError(cmd *cobra.Command, format string, args ...any) error {
	msg := fmt.Sprintf("%s: %s; usage: %s; see `%s --help`", cmd.CommandPath(), fmt.Sprintf(format, args...), useLine(cmd), cmd.CommandPath())
	return errkind.Wrap(errkind.Invalid, &commandError{msg: msg})
}

// useLine is cmd's Use line with its parents' names.
func useLine(cmd *cobra.Command) string {
	if cmd.HasParent() {
		return cmd.Parent().CommandPath() + " " + cmd.Use
	}
	return cmd.Use
}

func bracket(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "[" + n + "]"
	}
	return out
}

// useArgs reads the positional arguments of a Use line: NAME is required,
// [NAME] optional, NAME... or [NAME...] repeats. Flags (--title T,
// [--reason TEXT], [flags]) are not arguments.
func useArgs(use string) (required, optional []string, variadic bool) {
	words := strings.Fields(use)
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "[flags]":
		case strings.HasPrefix(w, "[-"):
			for !strings.HasSuffix(words[i], "]") && i+1 < len(words) {
				i++
			}
		case strings.HasPrefix(w, "-"):
			// A flag and its value's placeholder.
			if !strings.Contains(w, "=") && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") && !strings.HasPrefix(words[i+1], "[") {
				i++
			}
		case strings.HasPrefix(w, "["):
			name := strings.TrimSuffix(strings.TrimPrefix(w, "["), "]")
			if strings.HasSuffix(name, "...") {
				variadic = true
				name = strings.TrimSuffix(name, "...")
			}
			optional = append(optional, name)
		default:
			if strings.HasSuffix(w, "...") {
				variadic = true
			}
			required = append(required, w)
		}
	}
	return required, optional, variadic
}
