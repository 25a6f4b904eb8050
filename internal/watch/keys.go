package watch

import (
	"bufio"
	"io"
	"strings"
)

// Key is a command typed at herd watch.
type Key int

// The keys herd watch acts on.
const (
	// KeyAll (a) runs every test.
	KeyAll Key = iota + 1
	// KeyFailed (f) runs the tests that failed last time (pytest's --lf).
	KeyFailed
	// KeyQuit (q) ends herd watch.
	KeyQuit
)

// String names the key as the user types it.
func (k Key) String() string {
	switch k {
	case KeyAll:
		return "a"
	case KeyFailed:
		return "f"
	case KeyQuit:
		return "q"
	}
	return "?"
}

// ParseKey maps one byte typed on a terminal in cbreak mode to a key:
// a/A, f/F, q/Q, and Ctrl-D (end of input on a terminal) as q.
func ParseKey(b byte) (Key, bool) {
	switch b {
	case 'a', 'A':
		return KeyAll, true
	case 'f', 'F':
		return KeyFailed, true
	case 'q', 'Q', 0x04:
		return KeyQuit, true
	}
	return 0, false
}

// ParseLine maps one line of a scripted stdin ("a", "f", "q", or the
// words all, failed, quit) to a key.
func ParseLine(line string) (Key, bool) {
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "a", "all":
		return KeyAll, true
	case "f", "failed":
		return KeyFailed, true
	case "q", "quit":
		return KeyQuit, true
	}
	return 0, false
}

// ReadKeys sends the keys read from r to keys until r ends or fails, or
// stop is closed. With raw set, r is a terminal in cbreak mode and each
// byte is a key; otherwise r is read a line at a time. The end of r is
// not a key: a script whose stdin ends does not stop herd watch.
func ReadKeys(r io.Reader, raw bool, keys chan<- Key, stop <-chan struct{}) {
	send := func(k Key) bool {
		select {
		case keys <- k:
			return true
		case <-stop:
			return false
		}
	}
	if raw {
		buf := make([]byte, 64)
		for {
			n, err := r.Read(buf)
			for _, b := range buf[:n] {
				if k, ok := ParseKey(b); ok && !send(k) {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if k, ok := ParseLine(sc.Text()); ok && !send(k) {
			return
		}
	}
}
