package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/replay"
	"github.com/cascade-dev/cascade/internal/report"
)

func (a *app) replayCommand() *cobra.Command {
	var (
		opt          replay.Options
		oldS, newS   string
		asJSON, fail bool
	)
	cmd := &cobra.Command{
		Use:   "replay --old SCHEMA --new SCHEMA [flags] FILE...",
		Short: "Replay request logs through the old and new schema: who would start getting errors?",
		Long: `Run every request of the logs through the old and the new JSON Schema and
count, per client, the requests that flip from accepted to rejected (and the
reverse), with example lines and the new schema's error.

SCHEMA is a file or REPO@REF:PATH. FILE is a log, - for standard input; .gz
files are read transparently.

  --format jsonl   one JSON value a line (default); --field selects the
                   document (a dotted path or JSON pointer); a string field
                   that holds JSON (a logged body) is parsed.
  --format access  common/combined access logs; the query string is the
                   document, one property per parameter (a value that parses
                   as JSON is JSON); --field selects one parameter.
  --group-by       the client: a path (jsonl), a query parameter or log field
                   (host, user, method, path, status, agent, referer), or
                   re:REGEXP with one capture group.

A line that is not valid JSON, lacks the field, nests more than 10,000
levels or holds a string on which a pattern takes more than 2 s to match is
counted as unreadable; a line longer than --max-line (after decompression)
is counted and skipped. A --group-by that names nothing in any line is a warning.

With --fail-on-new-rejections: exit 1 when any request flips to rejected;
exit 2 when no line could be read as a request (an empty log, a --field that
matches no line), since nothing was checked. Without it, that is a warning.`,
		Example: `  cascade replay --old clever-api@master:schemas/where.json --new schemas/where.json \
      --field where --group-by partner logs/requests.jsonl
  cascade replay --format access --field where --group-by user --old old.json --new new.json access.log.gz`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, files []string) error {
			if oldS == "" || newS == "" {
				return errkind.New(errkind.Invalid, "replay needs --old SCHEMA and --new SCHEMA")
			}
			var err error
			if opt.Old, err = a.loadSchema(oldS); err != nil {
				return err
			}
			if opt.New, err = a.loadSchema(newS); err != nil {
				return err
			}
			var inputs []replay.Input
			for _, f := range files {
				in, closeFn, err := replay.Open(f, a.stdin)
				if err != nil {
					return err
				}
				defer closeFn()
				inputs = append(inputs, in)
			}
			stop := a.replayProgress(&opt)
			rep, runErr := replay.Run(a.ctx, inputs, opt)
			stop()
			var trunc *replay.TruncatedError
			if runErr != nil && !errors.As(runErr, &trunc) {
				return runErr
			}
			// A check passes only on lines it read: when none could be,
			// it is bad input (exit 2), with the counts that say why.
			nothing := rep.NothingChecked()
			for _, w := range rep.Warnings {
				if fail && runErr == nil && nothing != nil && w == nothing.Error() {
					continue // the error says it
				}
				fmt.Fprintf(a.stderr, "warning: %s\n", w)
			}
			if fail && runErr == nil && nothing != nil {
				if !asJSON {
					if err := report.ReplayText(a.stdout, rep); err != nil {
						return err
					}
				}
				return nothing
			}
			if asJSON {
				err = report.JSON(a.stdout, rep)
			} else {
				err = report.ReplayText(a.stdout, rep)
			}
			if err != nil {
				return err
			}
			if runErr != nil {
				return runErr
			}
			if fail && rep.NewlyRejected > 0 {
				return &silentError{errkind.New(errkind.Problem, "requests would start being rejected")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&oldS, "old", "", "the `SCHEMA` in force: a file or REPO@REF:PATH")
	f.StringVar(&newS, "new", "", "the proposed `SCHEMA`: a file or REPO@REF:PATH")
	f.StringVar(&opt.Format, "format", replay.JSONL, "the input `FORMAT` of the logs: jsonl or access")
	f.StringVar(&opt.Field, "field", "", "the document to validate inside each line: a `FIELD` (a dotted path or JSON pointer; a query parameter for access logs)")
	f.StringVar(&opt.GroupBy, "group-by", "", "the `KEY` that names the client of a line: a path, a query parameter or log field, or re:REGEXP")
	f.IntVar(&opt.Examples, "examples", 3, "the number `N` of example lines per group and kind")
	f.IntVar(&opt.MaxLine, "max-line", 1<<20, "the longest line read, in `BYTES`; longer lines are counted and skipped")
	f.IntVar(&opt.Jobs, "jobs", 0, "the number `N` of validating workers (default: the number of cores)")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	f.BoolVar(&fail, "fail-on-new-rejections", false, "exit 1 when any request flips to rejected, 2 when no line could be read")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"jsonl", "access"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// replayProgress reports bytes and lines read (see progress): on a
// terminal as they are read; in a log a line every 10 seconds and at the
// end.
func (a *app) replayProgress(opt *replay.Options) (stop func()) {
	prog := a.newProgress("replay", 0)
	if prog == nil {
		return func() {}
	}
	start, last := time.Now(), time.Time{}
	pending := ""
	opt.Progress = func(bytes, lines int64) {
		pending = fmt.Sprintf("%.1f MB read, %s, %.0f lines/s", float64(bytes)/1e6, plural.Count(lines, "line"), float64(lines)/max(time.Since(start).Seconds(), 0.001))
		if prog.bar == nil && !last.IsZero() && time.Since(last) < 10*time.Second {
			return
		}
		last = time.Now()
		prog.note(pending)
		pending = ""
	}
	return func() {
		if pending != "" && prog.bar == nil {
			prog.note(pending)
		}
		prog.stop()
	}
}
