package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where the cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroup is the control group of one command: one directory for cgroup
// v2, one per controller (memory, pids) for v1.
type cgroup struct {
	v2   bool
	dirs []string
}

var cgroupSeq atomic.Int64

// ownCgroups reads /proc/self/cgroup: the path of this process in each
// hierarchy, by controller ("" for the v2 hierarchy).
func ownCgroups() map[string]string {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

// v2Mount is the cgroup v2 hierarchy's mount point, "" without one.
func v2Mount() string {
	for _, p := range []string{cgroupRoot, filepath.Join(cgroupRoot, "unified")} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p
		}
	}
	return ""
}

// newCgroup makes a control group limiting memory and processes: cgroup v2
// where it has both controllers for this process, else cgroup v1's memory
// and pids hierarchies. It returns an error saying what is missing when
// neither can be had.
func newCgroup(memory int64, pids int) (*cgroup, error) {
	own := ownCgroups()
	name := fmt.Sprintf("cascade-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	var why []string
	if m := v2Mount(); m != "" {
		parent := filepath.Join(m, own[""])
		ctrl, _ := os.ReadFile(filepath.Join(parent, "cgroup.controllers"))
		fields := strings.Fields(string(ctrl))
		if has(fields, "memory") && has(fields, "pids") {
			_ = os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+memory +pids"), 0)
			dir := filepath.Join(parent, name)
			if err := os.Mkdir(dir, 0o755); err == nil {
				err1 := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(strconv.FormatInt(memory, 10)), 0)
				err2 := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(pids)), 0)
				if err1 == nil && err2 == nil {
					return &cgroup{v2: true, dirs: []string{dir}}, nil
				}
				_ = os.Remove(dir)
				why = append(why, fmt.Sprintf("cgroup v2 at %s: %v", parent, errors.Join(err1, err2)))
			} else {
				why = append(why, fmt.Sprintf("cgroup v2 at %s: %v", parent, err))
			}
		} else {
			why = append(why, fmt.Sprintf("cgroup v2 at %s lacks the memory or pids controller", parent))
		}
	}
	cg := &cgroup{}
	for _, c := range []struct{ ctrl, file, value string }{
		{"memory", "memory.limit_in_bytes", strconv.FormatInt(memory, 10)},
		{"pids", "pids.max", strconv.Itoa(pids)},
	} {
		path, ok := own[c.ctrl]
		if !ok {
			why = append(why, "no cgroup v1 "+c.ctrl+" hierarchy")
			cg.remove()
			return nil, errors.New(strings.Join(why, "; "))
		}
		dir := filepath.Join(cgroupRoot, c.ctrl, path, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			cg.remove()
			return nil, errors.New(strings.Join(append(why, fmt.Sprintf("cgroup v1 %s: %v", c.ctrl, err)), "; "))
		}
		cg.dirs = append(cg.dirs, dir)
		if err := os.WriteFile(filepath.Join(dir, c.file), []byte(c.value), 0); err != nil {
			cg.remove()
			return nil, errors.New(strings.Join(append(why, fmt.Sprintf("cgroup v1 %s: %v", c.ctrl, err)), "; "))
		}
	}
	return cg, nil
}

// sweepCgroups removes the control groups of cascade runs that are gone.
func sweepCgroups() {
	for _, parent := range cgroupParents() {
		dirs, _ := filepath.Glob(filepath.Join(parent, "cascade-*-*"))
		for _, d := range dirs {
			if pid := ownerPid(filepath.Base(d), "cascade-"); pid > 0 && !alive(pid) {
				(&cgroup{dirs: []string{d}}).remove()
			}
		}
	}
}

// cgroupParents are the directories cascade makes control groups in.
func cgroupParents() []string {
	own := ownCgroups()
	var parents []string
	if m := v2Mount(); m != "" {
		parents = append(parents, filepath.Join(m, own[""]))
	}
	for _, c := range []string{"memory", "pids"} {
		if p, ok := own[c]; ok {
			parents = append(parents, filepath.Join(cgroupRoot, c, p))
		}
	}
	return parents
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// add moves a process into the group.
func (c *cgroup) add(pid int) error {
	for _, d := range c.dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("joining %s: %w", d, err)
		}
	}
	return nil
}

// kill ends every process left in the group.
func (c *cgroup) kill() {
	for _, d := range c.dirs {
		if c.v2 && os.WriteFile(filepath.Join(d, "cgroup.kill"), []byte("1"), 0) == nil {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
}

// remove deletes the group once its processes are gone.
func (c *cgroup) remove() {
	if c == nil {
		return
	}
	for _, d := range c.dirs {
		for i := 0; i < 100; i++ {
			if err := os.Remove(d); err == nil || os.IsNotExist(err) {
				break
			}
			c.kill()
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// oomKilled reports whether the memory limit killed something.
func (c *cgroup) oomKilled() bool {
	for _, d := range c.dirs {
		if c.v2 {
			data, _ := os.ReadFile(filepath.Join(d, "memory.events"))
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
					return true
				}
			}
		} else if strings.Contains(d, "/memory/") {
			data, _ := os.ReadFile(filepath.Join(d, "memory.oom_control"))
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
					return true
				}
			}
		}
	}
	return false
}
