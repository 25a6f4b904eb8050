package run

import (
	"fmt"

	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/worker"
)

// deathOf is how and why process p ended (ex): the typed death
// the WorkerDied event and a crashed or timed-out result carry. A death herd
// caused itself names its cause: a test past its timeout, a missed
// deadline outside tests, Ctrl-C; any other is a crash, or a handshake
// failure.
func (d *dispatcher) deathOf(p *procState, ex *worker.Exit) result.Death {
	death := result.Death{Signal: ex.Signal, KillStage: ex.KillStage, Reason: result.DeathCrash}
	switch {
	case ex.Err != nil:
		death.Error = ex.Err.Error()
	case ex.Signal == "":
		code := ex.Code
		death.ExitCode = &code
	}
	if p.current >= 0 {
		death.NodeID = d.tests[p.current].info.ID
	}
	switch {
	case p.killed && p.timedOut && p.current >= 0:
		death.Reason = result.DeathTimeout
		death.Limit = d.timeoutOf(d.tests[p.current])
	case p.killed && p.stall == stallCollection:
		death.Reason, death.Limit = result.DeathCollectTimeout, CollectTimeout
	case p.killed && p.stall == stallBetween:
		death.Reason, death.Limit = result.DeathStuck, StuckTimeout
	case p.killed && p.stall == stallSessionEnd:
		death.Reason, death.Limit = result.DeathShutdown, d.cfg.ShutdownTimeout
	case p.killed && d.interrupted > 0:
		death.Reason = result.DeathInterrupt
		death.Detail = p.handshake
	case p.handshake != "":
		death.Reason = result.DeathHandshake
		death.Detail = p.handshake
	}
	return death
}

// Where herd finds a process hung outside any test (procState.stall): the
// words the run's stalls carry.
const (
	stallCollection = "collection"
	stallBetween    = "between tests"
	stallSessionEnd = "session end"
)

func (d *dispatcher) checkDeadlines() {
	now := d.now()
	if d.interrupted == 1 && now.Sub(d.interruptAt) > InterruptGrace {
		for _, s := range d.slots {
			if s.proc.alive && !s.proc.killed {
				s.proc.killed = true
				s.proc.h.Kill(false)
			}
		}
	}
	for _, s := range d.slots {
		if !s.proc.alive || s.proc.killed {
			continue
		}
		switch {
		case !s.proc.collected && s.proc.hello && now.Sub(s.proc.startedAt) > CollectTimeout:
			s.proc.stall, s.proc.stallAt = stallCollection, d.since()
			s.proc.killed = true
			s.proc.h.Kill(true)
			continue
		case s.proc.collected && s.proc.current < 0 && !s.proc.idle && !s.proc.shutdown && !s.proc.diag.started() && now.Sub(s.proc.lastMsg) > StuckTimeout &&
			now.Sub(s.proc.collectingSince) > CollectTimeout:
			s.proc.stall, s.proc.stallAt = stallBetween, d.since()
			s.proc.killed = true
			s.proc.h.Kill(true)
			continue
		}
		if s.proc.deadline.IsZero() || now.Before(s.proc.deadline) {
			continue
		}
		s.proc.killed = true
		if s.proc.current >= 0 {
			s.proc.timedOut = true
			s.proc.h.Kill(true)
		} else {
			s.proc.stall, s.proc.stallAt = stallSessionEnd, d.since()
			s.proc.h.Kill(true)
		}
	}
}

func (d *dispatcher) onExit(s *slotState, ex *worker.Exit) {
	s.proc.alive = false
	if s.proc.node && d.cfg.Nodes != nil {
		crash := ""
		if !s.proc.nodeFinished {
			crash = nodeCrash
		}
		d.cfg.Nodes.NodeDown(s.name, crash, s.proc.nodeOutput)
		s.proc.node = false
	}
	if p := s.proc.pidInfo; p != nil && p.current >= 0 {
		p.last, p.current = p.current, -1
	}
	if d.fatal != nil || d.startupErr != nil {
		// The run ends before any test; herd killed this worker itself.
		return
	}
	death := d.deathOf(s.proc, ex)
	words := d.cfg.DeathWords(death)
	how := words.Exit
	if s.proc.stall != "" {
		d.recordStall(s, ex, words)
	}
	if !s.proc.collected && !d.haveColl && ex.Signal == "" && ex.Err == nil && ex.KillStage == "" && d.interrupted == 0 {
		// pytest ended before collecting: a usage error, a bad ini or
		// conftest, or something that hit this worker only. If no worker
		// ever collects, this is what the run says.
		d.lastStartupExit = &StartupError{Code: ex.Code, Output: ex.StderrTail}
		if ex.Code == 4 {
			// A usage error (bad option, ini or conftest): every worker
			// says the same, so the run ends with it now.
			d.startupErr = d.lastStartupExit
			d.stopWorkers()
			return
		}
	}
	if s.proc.diag.pending() {
		i := s.proc.diag.test
		rerun, why := s.proc.diag.ended(d.tests[i].info.ID, how, s.proc.killed && !s.proc.deadline.IsZero())
		d.diagnose(i, rerun, why)
		return
	}
	if s.proc.diag.busy() {
		return
	}
	expected := s.proc.shutdown && s.proc.current < 0
	// A worker herd killed after Ctrl-C did not die.
	stopped := d.interrupted > 0 && s.proc.killed && !s.proc.timedOut
	if (!expected || ex.Signal != "") && !stopped {
		if !expected || ex.Signal != "" {
			d.run.WorkerDeaths++
			d.emit(result.Event{Kind: result.WorkerDied, Worker: s.name, Process: s.gen, Death: &death})
		}
	}
	if s.proc.current >= 0 {
		i := s.proc.current
		t := d.tests[i]
		s.proc.current = -1
		if t.status == running {
			d.crashResult(s, t, ex, death)
			t.res.Stop = d.since()
			d.finish(i)
		}
	}
	// Tests handed to this worker but not started go back to the queue.
	var back []int
	for _, i := range s.proc.queue {
		if d.tests[i].status == assigned {
			d.setStatus(d.tests[i], pending)
			back = append(back, i)
		}
	}
	s.proc.queue = nil
	if len(back) > 0 {
		if d.stopping {
			for _, i := range back {
				d.notRun(i, d.stopReason())
			}
		} else {
			d.plan.Requeue(s.idx, back, d.pols)
		}
	}
	if !s.proc.collected {
		s.startupDeaths++
		d.startupStreak++
		last := words.Message
		if !d.haveColl && d.startupStreak >= maxStartupDeaths {
			// No worker ever collected and deaths repeat: one cause kills
			// every worker, so none is replaced any more.
			for _, o := range d.slots {
				o.blocked = fmt.Sprintf("%d workers in a row died before collecting (last: %s)", d.startupStreak, last)
			}
			d.respawnBlocked = s.blocked
		}
		if s.startupDeaths >= maxStartupDeaths {
			// Deaths in a row for one cause: this slot is not replaced
			// again; the other workers go on.
			s.blocked = fmt.Sprintf("%d workers in a row died before collecting (last: %s)", s.startupDeaths, last)
			d.respawnBlocked = s.blocked
		}
		if s.blocked != "" {
			d.shareLost(s, last, ex.StderrTail)
		}
	}
	if s.blocked == "" && d.shouldRespawn() {
		// When the replacement cannot start, the slot stays dead and what
		// follows gives its tests to other workers or marks them not run.
		d.spawn(s)
	}
	if d.haveColl && !d.anyAlive() {
		reason := "not run: no worker left to run it"
		if d.respawnBlocked != "" {
			reason = "not run: " + d.respawnBlocked
		}
		if d.plan != nil {
			for _, i := range d.plan.Drain() {
				d.notRun(i, reason)
			}
		}
		for i, t := range d.tests {
			if t.status != done {
				d.notRun(i, reason)
			}
		}
	}
	d.maybeShutdown()
	for _, o := range d.slots {
		if o.proc.alive && o.proc.idle && !o.proc.shutdown {
			d.feed(o, false)
		}
	}
}

func (d *dispatcher) anyAlive() bool {
	for _, s := range d.slots {
		if s.proc.alive {
			return true
		}
	}
	return false
}

// shouldRespawn reports whether a dead worker's slot gets a new process: only
// while there is work it could do and deaths are not repeating for one cause.
func (d *dispatcher) shouldRespawn() bool {
	if d.stopping || d.interrupted > 0 || d.startupErr != nil {
		return false
	}
	if !d.haveColl {
		return true
	}
	if d.plan != nil && (d.plan.Remaining() > 0 || d.plan.Open()) {
		return true
	}
	return d.count[pending]+d.count[assigned] > 0
}

// recordStall adds to the run the stall of process s, which herd killed
// because it hung outside any test, with the stacks it dumped.
func (d *dispatcher) recordStall(s *slotState, ex *worker.Exit, words result.DeathText) {
	st := result.Stall{
		Worker:     s.name,
		Process:    s.gen,
		When:       s.proc.stall,
		Cause:      "worker " + s.name + " " + words.Missed,
		At:         s.proc.stallAt,
		KillStage:  ex.KillStage,
		Exit:       words.Exit,
		Stacks:     worker.StackDump(ex.StderrTail),
		StderrTail: ex.StderrTail,
	}
	if n := len(s.proc.ran); n > 0 {
		st.LastTest = s.proc.ran[n-1]
	}
	d.run.Stalls = append(d.run.Stalls, st)
}

func (d *dispatcher) crashResult(s *slotState, t *testState, ex *worker.Exit, death result.Death) {
	words := d.cfg.DeathWords(death)
	// The crash is the test's own: it need not name the test.
	death.NodeID = ""
	crash := &result.Crash{
		Death:      death,
		StderrTail: ex.StderrTail,
		Phase:      phaseOf(t.reports, ex.Board, s.proc.starts),
		PriorTests: append([]string(nil), s.proc.ran...),
	}
	t.res.Crash = crash
	t.res.Duration = d.now().Sub(t.started)
	switch {
	case s.proc.timedOut:
		t.res.Outcome = result.Timeout
		to := d.timeoutOf(t)
		t.res.Message = words.Timeout
		stacks := "every thread's stack (below)"
		if ex.ChildStacks > 0 {
			stacks = fmt.Sprintf("every thread's stack, then those of %d child processes (below)", ex.ChildStacks)
		}
		t.res.Longrepr = fmt.Sprintf("Timeout: %s ran longer than %s; herd dumped %s and killed worker %s (%s)",
			t.info.ID, fmtSeconds(to), stacks, s.name, ex.KillStage)
	case d.interrupted > 0 && s.proc.killed:
		t.res.Outcome = result.Interrupted
		if d.interrupted > 1 {
			t.res.Reason = "killed at the second Ctrl-C"
		} else {
			t.res.Reason = fmt.Sprintf("still running %s after Ctrl-C, killed", fmtSeconds(InterruptGrace))
		}
		t.res.Message = t.res.Reason
		t.res.Crash = nil
	default:
		d.diagQueue = append(d.diagQueue, d.byID[t.info.ID])
		t.res.Outcome = result.Crashed
		t.res.Message = "worker " + s.name + " crashed: " + words.Exit
		t.res.Longrepr = fmt.Sprintf("worker %s crashed while running %s during %s: %s", s.name, t.info.ID, crash.Phase, words.Exit)
	}
	t.res.HeadLine = headLine(t.info.ID)
}
