//go:build !linux || herd_portable

package reaper

import "syscall"

// FindsProcesses reports whether this build finds a process's descendants
// and herd's orphans: false without /proc (macOS, or the herd_portable build
// tag on Linux).
const FindsProcesses = false

// Enable fails: only Linux has child subreapers. Orphans that leave herd's
// process tree are then not found.
func Enable() error {
	return ErrNoSubreaper
}

// ChildAttr is the SysProcAttr of a worker or controller process: its own
// process group, which herd kills it by. There is no Pdeathsig (Linux
// only): a worker of a herd that was SIGKILLed is not killed with it.
func ChildAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// ChildrenOf finds no children without /proc.
func ChildrenOf(ppid int) []int { return nil }

// Children finds no children without /proc: orphans are not tracked.
func Children(keep map[int]bool) []Proc { return nil }

// Descendants finds no descendants without /proc: only the process itself
// is asked for its stacks, and its process group is killed with it.
func Descendants(pid int) []Proc { return nil }

// ParentOf returns 0: without /proc the parent is not known.
func ParentOf(pid int) int { return 0 }

// Catches reports false: without /proc a handler cannot be seen.
func Catches(pid int, sig syscall.Signal) bool { return false }
