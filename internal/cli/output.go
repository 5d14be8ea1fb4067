package cli

import (
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
)

// The output convention: every command that reports takes --json and then
// prints one JSON document on stdout (report.JSON gives it its
// schema_version); a command with several formats takes --format, of which
// --json is the alias. Under --json an error is a JSON document too,
// written once, here, for every command.

// formatAnnotation marks a command's --format flag as the format of its
// output (replay's --format is the format of its input).
const formatAnnotation = "cascade_output_format"

// outputFormat defines --format (one of formats, the first the default)
// and its alias --json on cmd.
func outputFormat(cmd *cobra.Command, format *string, formats ...string) {
	f := cmd.Flags()
	f.StringVar(format, "format", formats[0], "the output `FORMAT`: "+strings.Join(formats, ", "))
	f.Bool("json", false, "print one JSON document: the same as --format json")
	_ = f.SetAnnotation("format", formatAnnotation, formats)
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// applyOutputFlags makes --json set --format json on a command with both,
// and refuses --json with another --format.
func applyOutputFlags(cmd *cobra.Command) error {
	f := cmd.Flags()
	js, format := f.Lookup("json"), f.Lookup("format")
	if js == nil || format == nil || format.Annotations[formatAnnotation] == nil || js.Value.String() != "true" {
		return nil
	}
	if format.Changed && format.Value.String() != "json" {
		return errkind.New(errkind.Invalid, "--json and --format %s contradict each other: --json is --format json; give one of them; see `%s --help`", format.Value.String(), cmd.CommandPath())
	}
	return format.Value.Set("json")
}

// wantsJSON reports whether the command run asked for JSON output: its
// --json or its output --format json; when its flags could not all be
// parsed (an unknown flag before --json), the arguments as given.
func wantsJSON(cmd *cobra.Command, args []string) bool {
	if cmd == nil {
		return false
	}
	f := cmd.Flags()
	js, format := f.Lookup("json"), f.Lookup("format")
	if js == nil {
		return false
	}
	if js.Value.String() == "true" || (format != nil && format.Annotations[formatAnnotation] != nil && format.Value.String() == "json") {
		return true
	}
	for i, arg := range args {
		switch {
		case arg == "--":
			return false
		case arg == "--json" || arg == "--json=true" || arg == "--format=json":
			return true
		case arg == "--format" && i+1 < len(args) && args[i+1] == "json" && format != nil && format.Annotations[formatAnnotation] != nil:
			return true
		}
	}
	return false
}

// errorJSON is the document an error prints under --json.
type errorJSON struct {
	SchemaVersion int       `json:"schema_version"`
	Error         errorBody `json:"error"`
}

type errorBody struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// writeErrorJSON writes err as the JSON document of a failed command.
func writeErrorJSON(w io.Writer, kind, message string) {
	_ = report.JSON(w, errorJSON{SchemaVersion: report.SchemaVersion, Error: errorBody{Kind: kind, Message: message}})
}

// countingWriter counts what was written, so that an error under --json
// is printed only when the command printed no document of its own.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// commandError is a usage error that names its command at the start of
// its message ("cascade verify: missing REPO[@REF]"), printed as is.
type commandError struct{ msg string }

func (e *commandError) Error() string { return e.msg }

func isCommandError(err error) bool {
	var c *commandError
	return errors.As(err, &c)
}
