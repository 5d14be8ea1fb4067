package runbook

import (
	"path"
	"strings"
)

// Commands that read an argument as code: a template value there would
// run as code whatever its quoting. cascade refuses the forms it can
// see; the safe way to hand a value to such a command is its environment
// variable ("$CASCADE_INPUT_X" inside the code) or an argument after the
// code (sh -c 'deploy "$1"' sh {{.Version}}).

// wrappers run their first plain argument as the command; their own
// options (words starting with "-") and environment assignments
// (NAME=value) come before it.
var wrappers = map[string]bool{
	"command": true, "builtin": true, "exec": true, "env": true, "nice": true, "nohup": true,
	"time": true, "timeout": true, "sudo": true, "doas": true, "setsid": true, "stdbuf": true,
	"chronic": true, "ionice": true, "taskset": true, "xargs": true,
}

// codeEverywhere read every argument as code (or as the name of code to
// run).
var codeEverywhere = map[string]bool{
	"eval": true, "let": true, "trap": true, "declare": true, "typeset": true, "source": true, ".": true,
	"ssh": true, "su": true, "runuser": true,
}

// codeAfter read the argument right after one of the flags as code.
var codeAfter = map[string][]string{
	"sh": {"-c"}, "bash": {"-c"}, "dash": {"-c"}, "zsh": {"-c"}, "ksh": {"-c"}, "mksh": {"-c"}, "ash": {"-c"}, "busybox": {"-c"},
	"python": {"-c"}, "python3": {"-c"}, "perl": {"-e", "-E"}, "ruby": {"-e"}, "node": {"-e", "--eval", "-p", "--print"},
	"php": {"-r"}, "awk": {""}, "gawk": {""}, "mawk": {""}, "jq": {""}, "sed": {"-e", ""},
}

// codeArgument says why argument i of the command words is read as code
// ("" when it is an ordinary argument). words are the command's words as
// the program receives them; dynamic[j] is true when word j is computed
// (a variable or a command substitution), which hides what the command
// is.
func codeArgument(words []string, dynamic []bool, i int) string {
	c := 0
	for c < i {
		name := path.Base(words[c])
		if dynamic[c] {
			return "an argument of a command whose name is computed, which cascade cannot tell does not read it as code"
		}
		if !wrappers[name] {
			break
		}
		c++
		for c < i && (strings.HasPrefix(words[c], "-") || strings.Contains(words[c], "=") && name == "env") {
			c++
		}
	}
	if c >= i {
		return ""
	}
	name := path.Base(words[c])
	if codeEverywhere[name] {
		return "an argument of " + name + ", which reads it as code"
	}
	flags, ok := codeAfter[name]
	if !ok {
		return ""
	}
	// The code is the argument after one of the flags, or for a program
	// whose first plain argument is its program (awk, jq, sed without
	// -e), that argument.
	firstPlain := -1
	for j := c + 1; j < len(words); j++ {
		if j > c+1 && isCodeFlag(flags, words[j-1]) {
			if j == i {
				return "the code " + name + " " + words[j-1] + " runs"
			}
			continue
		}
		if strings.HasPrefix(words[j], "-") {
			if j == i && (name == "node" || name == "perl" || name == "python" || name == "python3" || name == "ruby") {
				return "" // an option, not code
			}
			continue
		}
		if firstPlain < 0 {
			firstPlain = j
		}
	}
	if firstPlain == i && containsEmpty(flags) && !hasCodeFlag(flags, words[c+1:]) {
		return "the program " + name + " runs"
	}
	return ""
}

func isCodeFlag(flags []string, w string) bool {
	for _, f := range flags {
		if f != "" && (w == f || strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "--") && len(f) == 2 && strings.HasSuffix(w, f[1:]) && len(w) > 2 && !strings.Contains(w, "=")) {
			return true
		}
	}
	return false
}

func hasCodeFlag(flags []string, words []string) bool {
	for _, w := range words {
		if isCodeFlag(flags, w) {
			return true
		}
	}
	return false
}

func containsEmpty(flags []string) bool {
	for _, f := range flags {
		if f == "" {
			return true
		}
	}
	return false
}
