package runbook

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// Commands that read an argument as code: a template value there would
// run as code whatever its quoting. cascade refuses the forms it can
// see; the safe way to hand a value to such a command is its environment
// variable ("$CASCADE_INPUT_X" inside the code) or an argument after the
// code (sh -c 'deploy "$1"' sh {{.Version}}). No list of such programs is
// complete: the README says so.

// codeEverywhere read every argument as code (or run it through a
// shell).
var codeEverywhere = map[string]bool{
	"eval": true, "let": true, "trap": true, "declare": true, "typeset": true, "source": true, ".": true,
	"ssh": true, "su": true, "runuser": true, "watch": true, "sshpass": true,
}

// shellNames read the argument after -c as code, and their standard input
// when no script is named.
var shellNames = regexp.MustCompile(`^(sh|bash|dash|zsh|ksh|ksh93|mksh|ash|yash|fish|tcsh|csh|posh|busybox|rbash)$`)

// interpreters read the argument after one of their flags as code, and
// their standard input when no program is named.
var interpreters = []struct {
	name  *regexp.Regexp
	flags []string
}{
	{shellNames, []string{"-c"}},
	{regexp.MustCompile(`^python[0-9.]*$`), []string{"-c"}},
	{regexp.MustCompile(`^perl[0-9.]*$`), []string{"-e", "-E"}},
	{regexp.MustCompile(`^ruby[0-9.]*$`), []string{"-e"}},
	{regexp.MustCompile(`^(node|nodejs|deno|bun)$`), []string{"-e", "--eval", "-p", "--print"}},
	{regexp.MustCompile(`^php[0-9.]*$`), []string{"-r"}},
	{regexp.MustCompile(`^(lua[0-9.]*|luajit|Rscript|osascript|tclsh)$`), []string{"-e"}},
	{regexp.MustCompile(`^(pwsh|powershell)$`), []string{"-c", "-command", "-Command"}},
	{regexp.MustCompile(`^(script|flock)$`), []string{"-c"}},
	{regexp.MustCompile(`^(rsync)$`), []string{"-e", "--rsh"}},
	{regexp.MustCompile(`^(find)$`), []string{"-exec", "-execdir", "-ok", "-okdir"}},
	{regexp.MustCompile(`^(vim|nvim|vi|ex)$`), []string{"-c", "--cmd"}},
	{regexp.MustCompile(`^(gdb)$`), []string{"-ex", "-eval-command"}},
	{regexp.MustCompile(`^(npx|npm)$`), []string{"-c", "--call"}},
	{regexp.MustCompile(`^(make|gmake)$`), []string{"-E", "--eval"}},
	{regexp.MustCompile(`^(zip)$`), []string{"-TT", "--unzip-command"}},
}

// programFirst read their first plain argument as their program (unless
// a program file is named with -f).
var programFirst = regexp.MustCompile(`^(awk|gawk|mawk|nawk|jq|sed|gsed|bc|dc)$`)

// valueOptions take the next word as their value, per program.
var valueOptions = map[string][]string{
	"awk": {"-v", "-F"}, "gawk": {"-v", "-F"}, "mawk": {"-v", "-F"}, "nawk": {"-v", "-F"},
	"jq": {"--arg", "--argjson", "--slurpfile", "--rawfile", "--indent", "--args", "--jsonargs"},
}

// codeOptions are options whose value, attached (--eval=X) or not, runs
// as code.
var codeOptions = []string{"--eval", "--expression", "--to-command", "--rsh", "--command", "--exec", "--execute",
	"--print", "--use-compress-program", "--checkpoint-action", "--info-command", "--pager", "--editor", "--shell",
	"-exec", "-toolexec", "--unzip-command"}

// codeArgument says why argument i of a command's words is read as code
// ("" when it is an ordinary argument). words are the command's words as
// the program receives them; dynamic[j] is true when word j is computed
// (a variable or a command substitution), which hides what the command
// is.
func codeArgument(words []string, dynamic []bool, i int) string {
	if len(words) > 0 && dynamic[0] {
		return "an argument of a command whose name is computed, which cascade cannot tell does not read it as code"
	}
	w := words[i]
	for _, o := range codeOptions {
		if strings.HasPrefix(w, o+"=") {
			return "the value of " + o + ", which runs as code"
		}
	}
	if i > 0 {
		prev := words[i-1]
		for _, o := range codeOptions {
			if prev == o {
				return "the value of " + o + ", which runs as code"
			}
		}
		if prev == "-c" && i >= 2 && path.Base(words[0]) == "git" {
			return "a git setting given with -c, which may name a program to run"
		}
	}
	if len(words) > 1 && path.Base(words[0]) == "git" {
		for _, w := range words[1:i] {
			if w == "config" {
				return "a git setting, which may name a program to run"
			}
		}
	}
	// The command is the last word before i that names a program reading
	// code: wrappers (timeout 5, nice -n 5, sudo -u root, env -S, xargs,
	// find -exec) come before it, whatever their options.
	for c := i - 1; c >= 0; c-- {
		if dynamic[c] {
			continue
		}
		name := path.Base(words[c])
		if codeEverywhere[name] {
			return "an argument of " + name + ", which reads it as code"
		}
		if why := interpreterArg(name, words, c, i); why != "" {
			return why
		}
		if strings.HasPrefix(words[c], "-S") && c > 0 && path.Base(words[c-1]) == "env" {
			return "an argument of env -S, which splits its value into a command"
		}
	}
	return ""
}

// interpreterArg says why word i is code for the program name at word c
// ("" when it is not, or name reads no code).
func interpreterArg(name string, words []string, c, i int) string {
	for _, in := range interpreters {
		if !in.name.MatchString(name) {
			continue
		}
		// The code attached to its flag: python3 -c'...', perl -e'...'.
		if !shellNames.MatchString(name) {
			for _, f := range in.flags {
				if len(f) == 2 && strings.HasPrefix(words[i], f) && len(words[i]) > 2 && i > c {
					return "the code " + name + " " + f + " runs"
				}
			}
		}
		// The code follows a code flag (possibly bundled: -ec, -ce),
		// after any options (--, -e, +e, -o NAME, -O NAME).
		for j := c + 1; j < i; j++ {
			if !isCodeFlag(in.flags, words[j]) && !(shellNames.MatchString(name) && shellBundle(words[j])) {
				continue
			}
			k := j + 1
			for k < i && (strings.HasPrefix(words[k], "-") || strings.HasPrefix(words[k], "+")) {
				if words[k] == "-o" || words[k] == "+o" || words[k] == "-O" || words[k] == "+O" {
					k++
				}
				k++
			}
			if k == i {
				return "the code " + name + " " + words[j] + " runs"
			}
		}
		return ""
	}
	if programFirst.MatchString(name) {
		takes := valueOptions[name]
		programFile := false
		for j := c + 1; j <= i; j++ {
			switch wj := words[j]; {
			case wj == "-f" || wj == "--file" || wj == "--from-file" || strings.HasPrefix(wj, "--file="):
				programFile = true // the program is a file; -e may still add code
				if !strings.Contains(wj, "=") {
					j++
				}
			case wj == "-e" || wj == "--expression":
				if j+1 == i {
					return "the code " + name + " " + wj + " runs"
				}
				j++
			case slices.Contains(takes, wj):
				if wj == "--arg" || wj == "--argjson" || wj == "--slurpfile" || wj == "--rawfile" {
					j++
				}
				j++
			case strings.HasPrefix(wj, "-") && wj != "-":
			default:
				if j == i && !programFile {
					return "the program " + name + " runs"
				}
				if !programFile {
					return ""
				}
			}
		}
	}
	return ""
}

// readsStdinAsCode reports whether a command reads its standard input as
// code: a shell or interpreter named with no script, no code flag and no
// program argument (or sh -s).
func readsStdinAsCode(words []string) (string, bool) {
	if len(words) == 0 {
		return "", false
	}
	for c := 0; c < len(words); c++ {
		name := path.Base(words[c])
		for _, in := range interpreters {
			if !in.name.MatchString(name) || name == "find" || name == "rsync" || name == "script" || name == "flock" {
				continue
			}
			plain := false
			rest := words[c+1:]
			for j := 0; j < len(rest); j++ {
				w := rest[j]
				if w == "-s" || w == "-" || w == "/dev/stdin" || w == "/dev/fd/0" {
					return name, true
				}
				if isCodeFlag(in.flags, w) || shellNames.MatchString(name) && shellBundle(w) {
					// xargs ... sh -c with nothing after -c: the input
					// becomes the code.
					if j == len(rest)-1 && c > 0 && path.Base(words[0]) == "xargs" {
						return "xargs " + name, true
					}
					return "", false
				}
				if w == "-o" || w == "+o" || w == "-O" || w == "+O" {
					j++
					continue
				}
				if !strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "+") {
					plain = true
				}
			}
			return name, !plain
		}
	}
	return "", false
}

// shellBundle reports a bundle of a shell's one-letter options that
// holds c (-ce, -xc, -ec): the command string follows.
func shellBundle(w string) bool {
	return len(w) > 2 && w[0] == '-' && w[1] != '-' && strings.Contains(w[1:], "c") && !strings.ContainsAny(w, "=/")
}

func isCodeFlag(flags []string, w string) bool {
	for _, f := range flags {
		if w == f {
			return true
		}
		// Bundled short options: -ec, -xc.
		if len(f) == 2 && len(w) > 2 && w[0] == '-' && w[1] != '-' && !strings.ContainsAny(w, "=") && strings.HasSuffix(w, f[1:]) {
			return true
		}
	}
	return false
}
