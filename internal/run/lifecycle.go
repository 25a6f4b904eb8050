package run

import (
	"fmt"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

func (d *dispatcher) onStart(s *slotState, id string) {
	i, ok := d.byID[id]
	if !ok {
		return
	}
	t := d.tests[i]
	if s.proc.diag.reruns(i) {
		// The rerun gets the test's timeout, or diagTimeout when it has
		// none, so a test that hangs when alone cannot hang the run.
		to := d.timeoutOf(t)
		if to <= 0 {
			to = diagTimeout
		}
		s.proc.diag.start(i, to)
		s.proc.current = -1
		s.proc.deadline = d.now().Add(to)
		return
	}
	d.removeQueued(s, i)
	if t.status == done {
		return
	}
	d.setStatus(t, running)
	t.slot = s.idx
	t.started = d.now()
	t.reports, t.lost = nil, ""
	s.proc.current = i
	s.proc.pidInfo.current = i
	t.res.Start = d.since()
	t.res.Worker = s.name
	t.res.Process = s.gen
	if to := d.timeoutOf(t); to > 0 {
		s.proc.deadline = t.started.Add(to)
	} else {
		s.proc.deadline = time.Time{}
	}
	d.emit(result.Event{Kind: result.TestStarted, Worker: s.name, NodeID: id})
}

func (d *dispatcher) timeoutOf(t *testState) time.Duration {
	sec := t.info.Timeout
	if sec <= 0 {
		if d.cfg.Timeout > 0 {
			return d.cfg.Timeout
		}
		sec = d.iniTimeout
	}
	if sec <= 0 {
		return 0
	}
	return time.Duration(sec * float64(time.Second))
}

func (d *dispatcher) removeQueued(s *slotState, i int) {
	for k, q := range s.proc.queue {
		if q == i {
			s.proc.queue = append(s.proc.queue[:k], s.proc.queue[k+1:]...)
			return
		}
	}
}

func (d *dispatcher) onDone(s *slotState, m *protocol.Message) {
	id, leaks, spawned := m.ID, m.Leaks, m.Spawned
	i, ok := d.byID[id]
	if !ok {
		return
	}
	t := d.tests[i]
	if reports, ok := s.proc.diag.done(i); ok {
		rerun := &result.Test{NodeID: id}
		finalize(rerun, withPassed(reports, m))
		d.diagnose(i, rerun, "")
		s.proc.deadline = time.Time{}
		return
	}
	if t.status != running || t.slot != s.idx {
		return
	}
	s.proc.current = -1
	s.proc.deadline = time.Time{}
	s.proc.ran = append(s.proc.ran, id)
	finalize(t.res, withPassed(t.reports, m))
	t.res.Properties = toProperties(m.Props)
	// The result holds what the reports said; a run of 100,000 tests
	// should not keep them twice.
	t.reports = nil
	if t.lost != "" {
		t.res.Outcome = result.Error
		t.res.Message = "herd could not read a message of the worker about this test: " + t.lost
		t.res.Longrepr = t.res.Message
	}
	t.res.Stop = d.since()
	s.proc.pidInfo.last, s.proc.pidInfo.current = i, -1
	// A test that started a program may have left an orphan (a shell's
	// background job): scan now, so it is charged to this test.
	d.scanOrphans(spawned)
	d.recordLeaks(t.res, leaks)
	d.finish(i)
}

// finish records that test i has its final outcome.
func (d *dispatcher) finish(i int) {
	t := d.tests[i]
	if t.res.Outcome.IsFailure() && !d.stopping && d.retriesLeft(t) > 0 {
		d.retry(i)
		return
	}
	if len(t.res.Attempts) > 0 && t.res.Outcome == result.Passed {
		t.res.Outcome = result.Flaky
	}
	d.setStatus(t, done)
	d.emit(result.Event{Kind: result.TestFinished, Worker: t.res.Worker, NodeID: t.res.NodeID, Test: t.res})
	if t.res.Outcome.IsFailure() {
		// As pytest counts: each failed report, so a teardown error
		// after a failure counts too.
		d.failures += 1 + len(t.res.Extra)
		if d.cfg.MaxFail > 0 && d.failures >= d.cfg.MaxFail && !d.stopping {
			d.run.MaxfailReached = true
			// pytest's words, "failures" whatever the count.
			d.run.InterruptReason = fmt.Sprintf("stopping after %d failures", d.failures)
			d.stopAll(d.maxfailReason())
		}
	}
	if d.plan != nil && t.slot >= 0 {
		d.plan.Finished(t.slot, i)
	}
	// Room in a group, or the start of the exclusive phase, may let an
	// idle worker work again.
	d.offerIdle()
	d.maybeShutdown()
}

// retriesLeft is how many more tries test t may have: --retries, or its
// flaky(reruns=N) marker when that asks for more.
func (d *dispatcher) retriesLeft(t *testState) int {
	n := d.cfg.Retries
	if t.info.Reruns > n {
		n = t.info.Reruns
	}
	return n - len(t.res.Attempts)
}

// retry keeps the failed try of test i as an attempt and puts the test back
// in the queue, ahead of the rest, for any worker to run again.
func (d *dispatcher) retry(i int) {
	t := d.tests[i]
	r := t.res
	r.Attempts = append(r.Attempts, result.Attempt{
		Outcome: r.Outcome, Duration: r.Duration, Worker: r.Worker, Process: r.Process,
		Start: r.Start, Stop: r.Stop, Longrepr: r.Longrepr, Message: r.Message,
		Sections: r.Sections, Crash: r.Crash,
	})
	r.Outcome, r.Longrepr, r.Message, r.Sections, r.Crash, r.Extra = "", "", "", nil, nil, nil
	r.When, r.PhaseDurations, r.Output, r.Properties = "", [3]time.Duration{}, nil, nil
	d.setStatus(t, pending)
	slot := t.slot
	t.slot = -1
	d.plan.Requeue(slot, []int{i}, d.pols)
	d.offerIdle()
}
