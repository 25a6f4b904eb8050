package run_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/schedule"
)

// feedSource is a shared-queue Source in miniature: tests arrive in leases
// from a goroutine, and what it never leases is another machine's.
type feedSource struct {
	mu        sync.Mutex
	avail     []int
	open      bool
	elsewhere []int
}

func (f *feedSource) Next(slot int, accept func(int) bool, fresh, quiet bool) schedule.Batch {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.avail) == 0 {
		return schedule.Batch{}
	}
	i := f.avail[0]
	f.avail = f.avail[1:]
	return schedule.Batch{Tests: []int{i}}
}

func (f *feedSource) Finished(slot, i int) {}

func (f *feedSource) Requeue(slot int, ix []int, pols []schedule.Policy) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.avail = append(append([]int(nil), ix...), f.avail...)
}

func (f *feedSource) Remaining() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.avail)
}

func (f *feedSource) Isolated() int { return 0 }

func (f *feedSource) Drain() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.avail
	f.avail = nil
	return out
}

func (f *feedSource) Open() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open
}

func (f *feedSource) Elsewhere() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.elsewhere
	f.elsewhere = nil
	return out
}

// TestQueueSource runs a run as one consumer of a shared queue: it runs the
// tests leased to it, as they come, keeps its workers while the queue is
// open, and leaves out the tests other machines ran.
func TestQueueSource(t *testing.T) {
	t.Parallel()
	suite := suiteOf(6, 6, 6)
	f := &fakeStarter{t: t, suite: suite, testTime: time.Millisecond}
	s := &sink{}
	src := &feedSource{open: true}
	res, err := execute(t, run.Config{
		Workers: 2, Starter: f, Sink: s,
		Queue: func(tests []protocol.TestInfo, pols []schedule.Policy, durations map[string]time.Duration, wake func()) (run.Source, error) {
			if len(tests) != len(suite) || len(pols) != len(suite) {
				t.Errorf("queue got %d tests and %d policies, want %d", len(tests), len(pols), len(suite))
			}
			go func() {
				for part := 0; part < 3; part++ {
					// The leases come late: the workers wait idle meanwhile.
					time.Sleep(50 * time.Millisecond)
					src.mu.Lock()
					for i := part * 6; i < part*6+6; i++ {
						if part < 2 {
							src.avail = append(src.avail, i)
						} else {
							src.elsewhere = append(src.elsewhere, i)
						}
					}
					src.open = part < 2
					src.mu.Unlock()
					wake()
				}
			}()
			return src, nil
		},
	})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	checkRun(t, f, s, res, false)
	if len(res.Tests) != 12 || res.Collected != 12 || res.Summary()[result.Passed] != 12 {
		t.Fatalf("run has %d tests (collected %d), summary %v; want the 12 leased ones passed", len(res.Tests), res.Collected, res.Summary())
	}
	for _, tr := range res.Tests {
		if tr.NodeID == suite[12].ID || tr.NodeID == suite[17].ID {
			t.Errorf("%s ran elsewhere but is in this run's results", tr.NodeID)
		}
	}
	for i := 12; i < 18; i++ {
		if n := f.startCount(suite[i].ID); n != 0 {
			t.Errorf("%s ran elsewhere but started %d times here", suite[i].ID, n)
		}
	}
}

// TestQueueRefused: a queue that refuses this run's tests (another machine
// collected different ones) ends the run with its error, at once.
func TestQueueRefused(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{t: t, suite: suiteOf(3, 3)}
	refused := errors.New("the run was seeded with other tests")
	_, err := execute(t, run.Config{
		Workers: 2, Starter: f, Sink: &sink{},
		Queue: func([]protocol.TestInfo, []schedule.Policy, map[string]time.Duration, func()) (run.Source, error) {
			return nil, refused
		},
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Execute = %v, want the queue's error", err)
	}
}
