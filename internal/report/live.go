package report

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/herd-run/herd/internal/result"
)

// maxLiveLine bounds one line of live output; a longer line is written in
// pieces so a test printing without newlines cannot grow a buffer without
// bound.
const maxLiveLine = 64 << 10

// LiveOutput streams what tests print (under -s) to w as it comes, each line
// prefixed with the worker and the test that printed it:
// "[gw0] test_a.py::test_x: hello". It is a result.Sink, to know which test
// each worker runs, and gives one io.Writer per worker slot.
type LiveOutput struct {
	mu      sync.Mutex
	w       io.Writer
	current map[string]string // worker name -> nodeid running there
}

// NewLiveOutput returns a LiveOutput writing to w.
func NewLiveOutput(w io.Writer) *LiveOutput {
	return &LiveOutput{w: w, current: map[string]string{}}
}

// Handle implements result.Sink: it follows which test runs on which worker.
func (l *LiveOutput) Handle(ev result.Event) {
	switch ev.Kind {
	case result.TestStarted:
		l.mu.Lock()
		l.current[ev.Worker] = ev.NodeID
		l.mu.Unlock()
	case result.TestFinished, result.WorkerDied:
		l.mu.Lock()
		if ev.Kind == result.WorkerDied || l.current[ev.Worker] == ev.NodeID {
			delete(l.current, ev.Worker)
		}
		l.mu.Unlock()
	}
}

// Writer returns the writer for the worker in slot.
func (l *LiveOutput) Writer(slot int) io.Writer {
	return &liveWriter{l: l, worker: fmt.Sprintf("gw%d", slot)}
}

type liveWriter struct {
	l      *LiveOutput
	worker string
	buf    []byte
}

func (lw *liveWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 {
			if len(lw.buf) < maxLiveLine {
				return len(p), nil
			}
			i = maxLiveLine - 1
		}
		lw.emit(lw.buf[:i+1])
		lw.buf = lw.buf[i+1:]
	}
}

func (lw *liveWriter) emit(line []byte) {
	lw.l.mu.Lock()
	defer lw.l.mu.Unlock()
	prefix := "[" + lw.worker + "]"
	if id := lw.l.current[lw.worker]; id != "" {
		prefix += " " + id + ":"
	}
	if line[len(line)-1] != '\n' {
		line = append(line, '\n')
	}
	lw.l.w.Write(append([]byte(prefix+" "), line...))
}
