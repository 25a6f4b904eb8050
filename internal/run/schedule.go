package run

import (
	"fmt"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/schedule"
)

// feed answers a worker's want. must says the worker holds a test and waits
// for our answer before running it, so it gets work or "none" at once; an idle
// worker with nothing to do waits until there is work or the run ends.
func (d *dispatcher) feed(s *slotState, must bool) {
	if !s.proc.alive || !s.proc.collected || s.proc.shutdown {
		return
	}
	if s.proc.diag.busy() {
		i, send := s.proc.diag.send()
		switch {
		case send:
			s.proc.h.Send(protocol.Command{Type: protocol.CmdRun, IDs: []string{d.tests[i].info.ID}})
		case must:
			s.proc.h.Send(protocol.Command{Type: protocol.CmdNone})
		default:
			d.sendShutdown(s)
		}
		return
	}
	if s.proc.isolated && !must && s.proc.current < 0 && len(s.proc.queue) == 0 {
		// An isolated test's process is discarded after it.
		d.sendShutdown(s)
		return
	}
	if d.offer(s) {
		return
	}
	if must {
		s.proc.h.Send(protocol.Command{Type: protocol.CmdNone})
		return
	}
	if d.rebalance(s) {
		return
	}
	d.maybeShutdown()
}

// rebalanceAfter is how long a worker's current test must have run before
// an idle worker takes tests queued behind it. Moving a test costs the
// taker the setup of the module and package fixtures it shares with its
// neighbours (and maybe the import of its file): tens to hundreds of
// milliseconds. Behind a test that has run for less than half a second,
// waiting is about as likely to be shorter, and every move also sets a
// wider fixture up once more.
const rebalanceAfter = 500 * time.Millisecond

// revoker is a worker handle that can take back tests the worker holds and
// has not started (see protocol.CmdRevoke); worker.Proc is one. It reports
// whether it did: it never waits for the worker.
type revoker interface {
	Revoke(starts uint32, c protocol.Command) bool
}

// rebalance gives idle worker s, for which the scheduler has nothing left,
// tests waiting in the queue of a worker that is running a test: the
// second half of the longest such queue (its last test when it holds one).
// So the tail of the run is split between the workers, rather than waiting
// behind a long test while a worker idles. It reports whether s got work.
func (d *dispatcher) rebalance(s *slotState) bool {
	if d.stopping || d.cfg.Queue != nil || !s.proc.alive || !s.proc.collected || !s.proc.idle || s.proc.shutdown ||
		s.proc.isolated || s.proc.diag.busy() || s.proc.current >= 0 || len(s.proc.queue) > 0 {
		return false
	}
	if d.busySlots() >= d.cfg.Workers {
		// Tests run on at most Workers processes at once (the spare an
		// isolated test needs waits).
		return false
	}
	if len(s.proc.ran) == 0 && d.plan != nil && d.plan.Isolated() > 0 {
		// A process that has run nothing is kept for an isolated test.
		return false
	}
	accept := d.acceptFor(s)
	var victim *slotState
	var movable []int
	for _, o := range d.slots {
		if o == s || !o.proc.alive || o.proc.current < 0 || o.proc.isolated || o.proc.diag.pending() || o.proc.shutdown || o.proc.stopped {
			continue
		}
		if d.now().Sub(d.tests[o.proc.current].started) < rebalanceAfter {
			// The next tick looks again.
			continue
		}
		var m []int
		for _, i := range o.proc.queue {
			t := d.tests[i]
			// Only normal tests move: group members hold their group's
			// room on their slot, exclusive and isolated tests have a
			// worker of their own.
			if t.status != assigned || i >= len(d.pols) || d.pols[i].Kind != schedule.Normal {
				continue
			}
			if accept != nil && !accept(i) {
				continue
			}
			m = append(m, i)
		}
		if len(m) > len(movable) {
			victim, movable = o, m
		}
	}
	if victim == nil {
		return false
	}
	r, ok := victim.proc.h.(revoker)
	if !ok {
		return false
	}
	take := movable[len(movable)/2:]
	ids := make([]string, len(take))
	for k, i := range take {
		ids[k] = d.tests[i].info.ID
	}
	if !r.Revoke(victim.proc.starts, protocol.Command{Type: protocol.CmdRevoke, IDs: ids}) {
		// The worker is between two tests, or its lock is held: the
		// next tick tries again.
		return false
	}
	for _, i := range take {
		d.removeQueued(victim, i)
		d.tests[i].slot = s.idx
	}
	s.proc.queue = append(s.proc.queue, take...)
	s.proc.idle = false
	s.proc.lastMsg = d.now()
	s.proc.h.Send(protocol.Command{Type: protocol.CmdRun, IDs: ids})
	return true
}

// offer sends s its next chunk of tests, if the scheduler has one it can run.
func (d *dispatcher) offer(s *slotState) bool {
	if d.stopping || d.plan == nil || s.proc.isolated {
		return false
	}
	if s.proc.current < 0 && len(s.proc.queue) == 0 && d.busySlots() >= d.cfg.Workers {
		// Tests run on at most Workers processes at once (a spare waits).
		return false
	}
	accept := d.acceptFor(s)
	// One isolated test at a time: its slot's replacement, or the spare,
	// starts while the others go on with normal work.
	isolatedNow := 0
	for _, o := range d.slots {
		if o.proc.alive && o.proc.isolated {
			isolatedNow++
		}
	}
	fresh := len(s.proc.ran) == 0 && s.proc.current < 0 && len(s.proc.queue) == 0 && isolatedNow < 1
	quiet := d.count[assigned]+d.count[running] == 0
	b := d.plan.Next(s.idx, accept, fresh, quiet)
	if b.Recycle {
		// What is left needs a fresh process: retire this one once it
		// holds nothing; its replacement takes the isolated tests.
		if s.proc.idle && s.proc.current < 0 && len(s.proc.queue) == 0 {
			d.sendShutdown(s)
			return true
		}
		return false
	}
	ix := b.Tests
	if len(ix) == 0 {
		return false
	}
	if b.Kind == schedule.Isolated {
		s.proc.isolated = true
	}
	ids := make([]string, len(ix))
	for k, i := range ix {
		t := d.tests[i]
		d.setStatus(t, assigned)
		t.slot = s.idx
		ids[k] = t.info.ID
	}
	s.proc.queue = append(s.proc.queue, ix...)
	s.proc.idle = false
	// The worker owes an answer from now on; its silence while it waited
	// idle does not make it stuck.
	s.proc.lastMsg = d.now()
	s.proc.h.Send(protocol.Command{Type: protocol.CmdRun, IDs: ids})
	return true
}

// unrunnable reports whether the tests left in the scheduler can never run:
// every live worker has collected and waits idle, none of them collected
// those tests (workers collected different tests, and the ones that had them
// are gone), and nothing is in flight that could change that.
func (d *dispatcher) unrunnable() bool {
	if d.plan != nil && d.plan.Open() {
		return false
	}
	if d.count[assigned]+d.count[running] > 0 {
		return false
	}
	alive := false
	for _, s := range d.slots {
		if !s.proc.alive {
			continue
		}
		if !s.proc.collected || !s.proc.idle || s.proc.shutdown || s.proc.diag.busy() {
			return false
		}
		alive = true
	}
	if !alive {
		return false
	}
	// Offer the rest to every idle worker once more.
	for _, s := range d.slots {
		if s.proc.alive && d.offer(s) {
			return false
		}
	}
	return !d.retireForFresh()
}

// maybeShutdown sends shutdown to idle workers once no work can come back:
// nothing is queued and no test is running or assigned anywhere.
func (d *dispatcher) maybeShutdown() {
	if !d.haveColl {
		return
	}
	if d.plan != nil && d.plan.Open() && !d.stopping {
		// More work may come from the shared queue: keep the workers.
		return
	}
	if d.plan != nil && d.plan.Remaining() > 0 && !d.stopping {
		if !d.unrunnable() {
			return
		}
		for _, i := range d.plan.Drain() {
			t := d.tests[i]
			t.res.Outcome = result.Error
			t.res.HeadLine = headLine(t.info.ID)
			if len(t.refused) > 0 {
				t.res.Message = "collected differently by other worker processes"
				t.res.Longrepr = fmt.Sprintf("herd: %d worker processes imported the file of %s after its first collection "+
					"and did not find this test in it: the file collects different tests from one process to another "+
					"(test ids made from random or unordered values?), as pytest-xdist reports with "+
					"\"Different tests were collected between workers\"", len(t.refused), t.info.ID)
			} else {
				t.res.Message = "not collected by any live worker"
				t.res.Longrepr = "herd: no live worker collected " + t.info.ID +
					": the workers collected different tests, and those that collected this one are gone"
			}
			d.finish(i)
		}
	}
	if d.count[assigned]+d.count[running] > 0 {
		// A worker may still die and give tests back.
		return
	}
	for _, s := range d.slots {
		if s.proc.alive && s.proc.idle && !s.proc.shutdown {
			d.sendShutdown(s)
		}
	}
}

func (d *dispatcher) sendShutdown(s *slotState) {
	s.proc.shutdown = true
	s.proc.deadline = d.now().Add(d.cfg.ShutdownTimeout)
	s.proc.h.Send(protocol.Command{Type: protocol.CmdShutdown, Collected: len(d.tests)})
}

// offerIdle offers work to every worker waiting idle for some.
func (d *dispatcher) offerIdle() {
	for _, o := range d.slots {
		if o.proc.alive && o.proc.idle && o.proc.collected && !o.proc.shutdown && !o.proc.diag.busy() {
			if !d.offer(o) {
				d.rebalance(o)
			}
		}
	}
}

// busySlots counts the live processes that hold tests (running or handed
// out).
func (d *dispatcher) busySlots() int {
	n := 0
	for _, o := range d.slots {
		if o.proc.alive && (o.proc.current >= 0 || len(o.proc.queue) > 0) {
			n++
		}
	}
	return n
}

// signalWake tells the dispatcher's loop that the source has news; it may
// be called from any goroutine and never blocks.
func (d *dispatcher) signalWake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// onWake takes the source's news: tests gone to other machines leave the
// run, new work goes to idle workers, and a drained queue ends the run.
func (d *dispatcher) onWake() {
	if d.plan == nil {
		return
	}
	for _, i := range d.plan.Elsewhere() {
		d.markElsewhere(i)
	}
	if !d.stopping {
		d.offerIdle()
	}
	d.maybeShutdown()
}

// markElsewhere drops pending test i from this run: another machine runs it.
func (d *dispatcher) markElsewhere(i int) {
	if i < 0 || i >= len(d.tests) {
		return
	}
	t := d.tests[i]
	if t.status != pending {
		return
	}
	t.elsewhere = true
	d.setStatus(t, done)
}

// dropElsewhere removes the tests that ran on other machines from the run's
// results, once the run is over.
func (d *dispatcher) dropElsewhere() {
	n := 0
	for _, t := range d.tests {
		if t.elsewhere {
			n++
		}
	}
	if n == 0 {
		return
	}
	kept := d.run.Tests[:0]
	drop := make(map[*result.Test]bool, n)
	for _, t := range d.tests {
		if t.elsewhere {
			drop[t.res] = true
		}
	}
	for _, r := range d.run.Tests {
		if !drop[r] {
			kept = append(kept, r)
		}
	}
	d.run.Tests = kept
	d.run.Collected -= n
}
