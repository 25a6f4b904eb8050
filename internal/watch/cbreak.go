//go:build linux || darwin || freebsd || netbsd || openbsd

package watch

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Cbreak puts the terminal at fd in cbreak mode: each key is read as it
// is typed, without echo, while Ctrl-C still sends SIGINT and output
// still turns "\n" into a new line (raw mode would do neither). The
// returned func puts the terminal back as it was; call it on every way
// out.
func Cbreak(fd int) (restore func() error, err error) {
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, fmt.Errorf("read terminal mode: %w", err)
	}
	t := *old
	t.Lflag &^= unix.ICANON | unix.ECHO
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &t); err != nil {
		return nil, fmt.Errorf("set terminal mode: %w", err)
	}
	return func() error {
		if err := unix.IoctlSetTermios(fd, ioctlSetTermios, old); err != nil {
			return fmt.Errorf("restore terminal mode: %w", err)
		}
		return nil
	}, nil
}
