package worker

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"

	"github.com/herd-run/herd/internal/protocol"
)

// Live receives, under -s, what a worker process writes on one of its
// output streams (stdout or stderr), each piece with the test that was
// running when the worker wrote it ("" outside any test). The worker
// writes a marker into both streams when a test starts and when it ends,
// so the attribution does not depend on when herd reads which pipe. One
// goroutine calls a Live's methods, in the order the bytes were written;
// p is valid only during the call; Close comes last.
type Live interface {
	Output(test string, p []byte)
	Close()
}

// maxMarker bounds a marker's length (its prefix, token and node id): a
// longer "marker" is output, so output that happens to hold the prefix
// cannot make herd buffer without bound.
const maxMarker = 64 << 10

// newLiveToken returns the secret that makes this process's markers its
// own: a test cannot write a marker without knowing it.
func newLiveToken() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// demux cuts a stream at the worker's markers and hands each piece of
// output to out with the test it belongs to.
type demux struct {
	mark []byte // the marker's prefix: protocol.LiveMarker + token + ":"
	test string
	buf  []byte
	out  func(test string, p []byte)
	// marked is set once a marker came.
	marked bool
}

func newDemux(token string, out func(test string, p []byte)) *demux {
	return &demux{mark: []byte(protocol.LiveMarker + token + ":"), out: out}
}

// Write takes the next bytes of the stream.
func (d *demux) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	rest := d.buf
	for len(rest) > 0 {
		i := bytes.Index(rest, d.mark)
		if i < 0 {
			// Hold back what may be the start of a marker cut by the read.
			keep := partialPrefix(rest, d.mark)
			d.emit(rest[:len(rest)-keep])
			rest = rest[len(rest)-keep:]
			break
		}
		d.emit(rest[:i])
		rest = rest[i:]
		end := bytes.IndexByte(rest[len(d.mark):], 0)
		if end < 0 {
			if len(rest) <= maxMarker {
				break // the marker's end comes with the next read
			}
			d.emit(rest[:len(d.mark)])
			rest = rest[len(d.mark):]
			continue
		}
		d.test = string(rest[len(d.mark) : len(d.mark)+end])
		d.marked = true
		rest = rest[len(d.mark)+end+1:]
	}
	d.buf = append(d.buf[:0], rest...)
	return len(p), nil
}

// flush hands out what is held back at the stream's end.
func (d *demux) flush() {
	d.emit(d.buf)
	d.buf = d.buf[:0]
}

func (d *demux) emit(p []byte) {
	if len(p) > 0 {
		d.out(d.test, p)
	}
}

// partialPrefix is the length of the longest end of b that is a proper
// start of mark.
func partialPrefix(b, mark []byte) int {
	n := len(mark) - 1
	if n > len(b) {
		n = len(b)
	}
	for ; n > 0; n-- {
		if bytes.HasSuffix(b, mark[:n]) {
			return n
		}
	}
	return 0
}
