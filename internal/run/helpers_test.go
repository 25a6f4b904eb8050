package run_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

// sink records a run's events; it is called from the dispatcher's goroutine
// while tests may read it from theirs.
type sink struct {
	mu     sync.Mutex
	events []result.Event
	at     []time.Time // when each event came
}

func (s *sink) Handle(ev result.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	s.at = append(s.at, time.Now())
}

// times is when each event of all() came.
func (s *sink) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.at...)
}

func (s *sink) all() []result.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]result.Event(nil), s.events...)
}

func (s *sink) count(kind result.EventKind) int {
	n := 0
	for _, ev := range s.all() {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// clock is an adjustable clock: real time plus an offset a test can bump,
// to make the dispatcher's long deadlines pass at once.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// suiteOf returns tests named mod<m>.py::test_<k> for the module sizes.
func suiteOf(sizes ...int) []protocol.TestInfo {
	var ts []protocol.TestInfo
	for m, n := range sizes {
		for k := 0; k < n; k++ {
			ts = append(ts, protocol.TestInfo{ID: fmt.Sprintf("mod%d.py::test_%d", m, k), File: fmt.Sprintf("mod%d.py", m), Line: k + 1})
		}
	}
	return ts
}
