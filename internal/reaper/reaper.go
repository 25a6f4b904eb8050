// Package reaper makes herd a child subreaper (Linux), so that processes the
// tests started and orphaned, even those that called setsid to leave the
// worker's process group, become herd's children; at the end of the run
// herd kills and reaps every one of them.
package reaper

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reapTimeout bounds the wait for killed orphans to be reaped; SIGKILL takes
// effect within milliseconds unless a process is stuck in the kernel.
const reapTimeout = 2 * time.Second

// KillOrphans kills every child of this process except keep, and reaps them.
// Call it when no child of herd's own should be running. It returns the pids
// it killed.
func KillOrphans(keep map[int]bool) []int {
	var killed []int
	for round := 0; round < 5; round++ {
		kids := ChildrenOf(os.Getpid())
		n := 0
		for _, pid := range kids {
			if keep[pid] {
				continue
			}
			n++
			// Kill its whole group too, in case it leads one.
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
			killed = append(killed, pid)
		}
		if n == 0 {
			break
		}
		deadline := time.Now().Add(reapTimeout)
		for time.Now().Before(deadline) {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err != nil {
				break
			}
			if pid == 0 {
				if len(pendingChildren(keep)) == 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	return killed
}

func pendingChildren(keep map[int]bool) []int {
	var out []int
	for _, pid := range ChildrenOf(os.Getpid()) {
		if !keep[pid] {
			out = append(out, pid)
		}
	}
	return out
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
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name may hold spaces and parentheses: fields start
		// after the last ')'.
		s := string(b)
		k := strings.LastIndexByte(s, ')')
		if k < 0 {
			continue
		}
		f := strings.Fields(s[k+1:])
		if len(f) < 2 {
			continue
		}
		if p, err := strconv.Atoi(f[1]); err == nil && p == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// Proc is a child process of herd's.
type Proc struct {
	PID, PGID int
	// PPID is its parent's pid (set by Descendants).
	PPID int
	// Cmd is its command line, or its name when that is empty.
	Cmd string
}

// Children lists the living children of this process except those in keep,
// with their process groups. Orphans reparented to herd appear here.
func Children(keep map[int]bool) []Proc {
	var out []Proc
	for _, pid := range taskChildren(os.Getpid()) {
		if keep[pid] {
			continue
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		k := strings.LastIndexByte(s, ')')
		if k < 0 {
			continue
		}
		f := strings.Fields(s[k+1:])
		// Fields after the name: state, ppid, pgrp, ...
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		pgid, _ := strconv.Atoi(f[2])
		out = append(out, Proc{PID: pid, PGID: pgid, Cmd: cmdline(pid)})
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

// stat is what Descendants needs of /proc/PID/stat.
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
