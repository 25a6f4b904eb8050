//go:build !linux

package reaper

import (
	"errors"
	"syscall"
)

// Enable fails: only Linux has child subreapers. Orphans that leave herd's
// process tree are then not found (there is no /proc either).
func Enable() error {
	return errors.New("reaper: no child subreaper on this system")
}

// ChildAttr is the SysProcAttr of a worker or controller process: its own
// process group. There is no Pdeathsig (Linux only): a worker of a herd
// that was SIGKILLed is not killed with it.
func ChildAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
