//go:build !linux

package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// runIsolated cannot isolate anything outside Linux.
func runIsolated(context.Context, Cmd, []string, string, io.Writer, io.Writer) (ended, error) {
	return ended{exit: -1}, fmt.Errorf("%w: %s has no Linux namespaces", errNoIsolation, runtime.GOOS)
}

// Feature is one protection of the sandbox and whether this machine has it.
type Feature struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Required bool   `json:"required"`
	Detail   string `json:"detail"`
}

// Check says that nothing can be isolated here.
func Check(context.Context) []Feature {
	return []Feature{{Name: "namespaces", Required: true, Detail: runtime.GOOS + " has no Linux namespaces: commands run only with --unsafe-sandbox"}}
}

func sweepCgroups() {}

// NotIsolated says what is left open: everything, here.
func NotIsolated() []string {
	return []string{runtime.GOOS + " has no Linux namespaces: with --unsafe-sandbox, commands run with the environment filter, process group and timeout only"}
}

// closeOnExecInherited marks every descriptor of cascade above stderr
// close-on-exec before an unisolated command starts (see the Linux one).
func closeOnExecInherited() {
	entries, _ := os.ReadDir("/dev/fd")
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
