// Package reaper makes herd a child subreaper (Linux), so that processes the
// tests started and orphaned, even those that called setsid to leave the
// worker's process group, become herd's children; at the end of the run
// herd kills and reaps every one of them.
//
// The Linux-only parts (the subreaper, Pdeathsig, the scans of /proc) are in
// reaper_linux.go. Elsewhere (macOS), or on Linux with the herd_portable
// build tag, reaper_portable.go stands in: children get their own process
// group and are killed by it, there is no subreaper, and the scans find
// nothing.
package reaper

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// ErrNoSubreaper is Enable's error where there is no child subreaper.
var ErrNoSubreaper = errors.New("reaper: no child subreaper on this system")

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

// Proc is a child process of herd's.
type Proc struct {
	PID, PGID int
	// PPID is its parent's pid (set by Descendants).
	PPID int
	// Cmd is its command line, or its name when that is empty.
	Cmd string
}
