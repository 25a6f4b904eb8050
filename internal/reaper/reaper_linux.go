package reaper

import (
	"syscall"

	"golang.org/x/sys/unix"
)

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
