package jobs

import (
	"errors"
	"os"
	"syscall"

	"github.com/cascade-dev/cascade/internal/procinfo"
)

// process identifies a process precisely enough to tell, from the same
// machine, whether it still runs: host, kernel (boot id and pid
// namespace), pid and the pid's start time.
type process struct {
	Host, Kernel string
	Pid          int
	Started      string
}

func thisProcess() process {
	host, _ := os.Hostname()
	pid := os.Getpid()
	_, started, _ := procinfo.Stat(pid)
	return process{Host: host, Kernel: procinfo.KernelID(), Pid: pid, Started: started}
}

// sameMachine reports whether p runs where this process can see it.
func (p process) sameMachine(me process) bool {
	return p.Host != "" && p.Host == me.Host && p.Kernel != "" && p.Kernel == me.Kernel
}

// running reports whether p, on this machine, still runs (a zombie, or a
// pid reused by a later process, does not).
func (p process) running() bool {
	if p.Pid <= 0 {
		return false
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		state, started, ok := procinfo.Stat(p.Pid)
		if !ok || state == "Z" || state == "X" {
			return false
		}
		return p.Started == "" || started == p.Started
	}
	err := syscall.Kill(p.Pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
