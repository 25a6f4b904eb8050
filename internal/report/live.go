package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// maxLiveLine bounds one line of live output; a longer line is written in
// pieces so a test printing without newlines cannot grow a buffer without
// bound.
const maxLiveLine = 64 << 10

// LiveOutput passes what tests print under -s through as it comes: what
// they write on stdout to out, what they write on stderr to errw, each
// line prefixed with the worker and the test that printed it
// ("[gw0] test_a.py::test_x: hello"), or with the worker alone for what a
// worker prints outside any test (while a file is imported). Which test
// printed a line comes with the output itself (see Streams), so it is
// exact. The terminal report writes through Terminal, so that a live line
// never lands in the middle of a line of progress letters.
type LiveOutput struct {
	mu   sync.Mutex
	out  io.Writer
	errw io.Writer
	tty  bool
	// open is set while out's last line has no newline yet: progress
	// letters, or on a TTY the status line.
	open bool
}

// NewLiveOutput returns a LiveOutput writing tests' stdout to out and their
// stderr to errw. tty says out is a terminal, where the terminal report
// keeps a status line at the bottom.
func NewLiveOutput(out, errw io.Writer, tty bool) *LiveOutput {
	return &LiveOutput{out: out, errw: errw, tty: tty}
}

// Terminal returns the writer the terminal report must write through.
func (l *LiveOutput) Terminal() io.Writer { return liveTerminal{l} }

type liveTerminal struct{ l *LiveOutput }

// Fd is the descriptor of the writer behind, for the terminal's width;
// an invalid one when it is not a file.
func (t liveTerminal) Fd() uintptr {
	if f, ok := t.l.out.(*os.File); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}

func (t liveTerminal) Write(p []byte) (int, error) {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	if len(p) > 0 {
		t.l.open = p[len(p)-1] != '\n'
	}
	return t.l.out.Write(p)
}

// Streams returns the receivers of the stdout and stderr of the worker in
// slot (they implement worker.Live).
func (l *LiveOutput) Streams(slot int) (stdout, stderr *LiveStream) {
	worker := fmt.Sprintf("gw%d", slot)
	return &LiveStream{l: l, w: l.out, worker: worker}, &LiveStream{l: l, w: l.errw, worker: worker}
}

// LiveStream is one output stream of one worker process.
type LiveStream struct {
	l      *LiveOutput
	w      io.Writer
	worker string
	// test is the test the bytes in buf belong to.
	test string
	buf  []byte
}

// Output takes bytes the worker wrote while test ran ("" outside any
// test); a line left unfinished by a test that ended is written as its
// own.
func (s *LiveStream) Output(test string, p []byte) {
	if test != s.test {
		s.flush()
		s.test = test
	}
	for len(p) > 0 {
		n := bytes.IndexByte(p, '\n') + 1
		if n == 0 {
			if len(s.buf)+len(p) < maxLiveLine {
				s.buf = append(s.buf, p...)
				return
			}
			n = maxLiveLine - len(s.buf)
		}
		s.buf = append(s.buf, p[:n]...)
		p = p[n:]
		s.flush()
	}
}

// Close writes what is left of an unfinished line.
func (s *LiveStream) Close() { s.flush() }

// flush writes the line in buf, prefixed, ending it with a newline.
func (s *LiveStream) flush() {
	if len(s.buf) == 0 {
		return
	}
	line := make([]byte, 0, len(s.worker)+len(s.test)+len(s.buf)+6)
	line = append(line, '[')
	line = append(line, s.worker...)
	line = append(line, ']')
	if s.test != "" {
		line = append(line, ' ')
		line = append(line, s.test...)
		line = append(line, ':')
	}
	line = append(line, ' ')
	line = append(line, s.buf...)
	if line[len(line)-1] != '\n' {
		line = append(line, '\n')
	}
	s.buf = s.buf[:0]
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open && sameWriter(s.w, l.out) {
		// A line of the terminal report is under way: on a TTY it is the
		// status line, which the report redraws; else progress letters,
		// which go on below.
		if l.tty {
			l.out.Write([]byte("\r\x1b[K"))
		} else {
			l.out.Write([]byte("\n"))
		}
		l.open = false
	}
	s.w.Write(line)
}

// sameWriter reports whether a and b are the same writer (tests' stdout
// and stderr both go to stderr under --events -).
func sameWriter(a, b io.Writer) (same bool) {
	fa, ok1 := a.(*os.File)
	fb, ok2 := b.(*os.File)
	if ok1 && ok2 {
		return fa == fb || fa.Fd() == fb.Fd()
	}
	// Writers of a type that cannot be compared are not the same.
	defer func() { recover() }()
	return a == b
}
