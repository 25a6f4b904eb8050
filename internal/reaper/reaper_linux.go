//go:build linux && !herd_portable

package reaper

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// FindsProcesses reports whether this build finds a process's descendants
// and herd's orphans (through /proc): true on Linux.
const FindsProcesses = true

// Enable makes the calling process a child subreaper. It fails harmlessly on
// kernels without PR_SET_CHILD_SUBREAPER (before 3.4).
func Enable() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// ChildAttr is the SysProcAttr of a worker or controller process: its own
// process group, and SIGKILL when herd dies.
func ChildAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// ChildrenOf lists the pids whose parent is ppid, from /proc.
func ChildrenOf(ppid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.ppid == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// Children lists the living children of this process except those in keep,
// with their process groups. Orphans reparented to herd appear here.
func Children(keep map[int]bool) []Proc {
	var out []Proc
	for _, pid := range taskChildren(os.Getpid()) {
		if keep[pid] {
			continue
		}
		st, ok := readStat(pid)
		if !ok || st.state == "Z" {
			continue
		}
		out = append(out, Proc{PID: pid, PGID: st.pgid, Cmd: cmdline(pid)})
	}
	return out
}

// taskChildren reads /proc/PID/task/*/children: cheaper than scanning /proc.
func taskChildren(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return ChildrenOf(pid)
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/children")
		if err != nil {
			return ChildrenOf(pid)
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// execSettle is how long to wait for a process caught in the middle of exec,
// when its command line reads empty for a moment.
const execSettle = 5 * time.Millisecond

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if len(b) == 0 {
		time.Sleep(execSettle)
		b, _ = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	}
	s := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	if s == "" {
		c, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		s = strings.TrimSpace(string(c))
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// Descendants lists the living descendants of pid, each parent before its
// children, as found through /proc: children that left pid's process group
// or session are included, orphans already reparented elsewhere are not.
func Descendants(pid int) []Proc {
	var out []Proc
	seen := map[int]bool{pid: true}
	queue := []int{pid}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, c := range taskChildren(parent) {
			if seen[c] {
				continue
			}
			seen[c] = true
			st, ok := readStat(c)
			if !ok || st.state == "Z" || st.ppid != parent {
				continue
			}
			out = append(out, Proc{PID: c, PPID: parent, PGID: st.pgid, Cmd: cmdline(c)})
			queue = append(queue, c)
		}
	}
	return out
}

// ParentOf returns the parent pid of pid, or 0 when pid is gone or a zombie.
func ParentOf(pid int) int {
	st, ok := readStat(pid)
	if !ok || st.state == "Z" {
		return 0
	}
	return st.ppid
}

// Catches reports whether process pid has a handler installed for sig, from
// the SigCgt mask of /proc/PID/status. A process that does not catch sig
// either ignores it or dies of it.
func Catches(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		mask, ok := strings.CutPrefix(line, "SigCgt:")
		if !ok {
			continue
		}
		m, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
		if err != nil || sig < 1 || sig > 64 {
			return false
		}
		return m&(1<<(uint(sig)-1)) != 0
	}
	return false
}

// stat is what the scans need of /proc/PID/stat.
type stat struct {
	state      string
	ppid, pgid int
}

func readStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	s := string(b)
	k := strings.LastIndexByte(s, ')')
	if k < 0 {
		return stat{}, false
	}
	// Fields after the name: state, ppid, pgrp, ...
	f := strings.Fields(s[k+1:])
	if len(f) < 3 {
		return stat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return stat{}, false
	}
	return stat{state: f[0], ppid: ppid, pgid: pgid}, true
}
