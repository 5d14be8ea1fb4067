package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/docs"
	"github.com/cascade-dev/cascade/internal/errkind"
)

// helpCommand replaces cobra's help command: `cascade help TOPIC` prints a
// reference page (the same text as docs/TOPIC.md), `cascade help COMMAND...`
// a command's help, and `cascade help` the commands and then the topics. An
// unknown topic is bad usage (exit 2) naming the topics.
func (a *app) helpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [TOPIC | COMMAND...]",
		Short: "Print a reference page, or a command's help",
		Long: `Help prints a reference page (offline, the text of docs/TOPIC.md) or the
help of a command. Without arguments it lists the commands and the topics.
The workflow pages verify, release and replay share their names with
commands: ` + "`cascade help verify`" + ` prints the page, ` + "`cascade verify --help`" + ` the flags.`,
		Example: `  cascade help cascade-yaml
  cascade help troubleshooting
  cascade help release start`,
		Args: cobra.ArbitraryArgs,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []string
			for _, t := range docs.Topics() {
				if strings.HasPrefix(t.Name, toComplete) {
					out = append(out, t.Name+"\t"+t.Title)
				}
			}
			for _, c := range cmd.Root().Commands() {
				if c.IsAvailableCommand() && strings.HasPrefix(c.Name(), toComplete) && !hasTopic(c.Name()) {
					out = append(out, c.Name()+"\t"+c.Short)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			if len(args) == 0 {
				if err := root.Help(); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "\nReference pages (cascade help TOPIC):\n")
				for _, t := range docs.Topics() {
					fmt.Fprintf(a.stdout, "  %-16s %s\n", t.Name, t.Title)
				}
				return nil
			}
			if len(args) == 1 {
				if page, ok := docs.Page(args[0]); ok {
					_, err := fmt.Fprint(a.stdout, page)
					return err
				}
			}
			if c, rest, err := root.Find(args); err == nil && c != root && len(rest) == 0 {
				return c.Help()
			}
			var names []string
			for _, t := range docs.Topics() {
				names = append(names, t.Name)
			}
			return errkind.New(errkind.Invalid, "no help topic or command %q; topics: %s; `cascade help` lists the commands", strings.Join(args, " "), strings.Join(names, ", "))
		},
	}
}

func hasTopic(name string) bool {
	_, ok := docs.Page(name)
	return ok
}
