// Package procinfo says who a process is precisely enough to tell, later,
// whether it still lives: the kernel it runs under (boot id and pid
// namespace: a pid names the same process only there) and its start time
// (a reused pid starts later). Release runners' and verification workers'
// leases record both.
package procinfo

import (
	"os"
	"strconv"
	"strings"
)

// KernelID is the boot id and pid namespace of this process, or "".
func KernelID() string {
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

// Stat reads a process's state letter and start time from /proc/PID/stat;
// ok is false when there is no such process there.
func Stat(pid int) (state, started string, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", "", false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses,
	// so the fields are counted after its last ')'. The start time is
	// field 22, the 20th after comm.
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
