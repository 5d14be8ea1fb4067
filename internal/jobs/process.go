package jobs

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
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
	_, started, _ := procStat(pid)
	return process{Host: host, Kernel: kernelID(), Pid: pid, Started: started}
}

func kernelID() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(boot)) + "/" + ns
}

// procStat reads a process's state letter and start time from
// /proc/PID/stat.
func procStat(pid int) (state, started string, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", "", false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", "", false
	}
	return f[0], f[19], true
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
		state, started, ok := procStat(p.Pid)
		if !ok || state == "Z" || state == "X" {
			return false
		}
		return p.Started == "" || started == p.Started
	}
	err := syscall.Kill(p.Pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
