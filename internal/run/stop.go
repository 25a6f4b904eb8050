package run

import (
	"fmt"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

func (d *dispatcher) stopReason() string {
	if d.interrupted > 0 {
		return interruptedReason
	}
	if d.run.MaxfailReached {
		return d.maxfailReason()
	}
	return "not run: the run was interrupted by collection errors"
}

// interruptedReason is the reason of the tests that Ctrl-C kept from
// starting.
const interruptedReason = "not run: interrupted (Ctrl-C)"

// maxfailReason is the reason of the tests -x or --maxfail kept from
// running, naming the option as the user gave it: "not run: stopped after
// the first failure (-x)", "not run: stopped after 3 failures
// (--maxfail=3)".
func (d *dispatcher) maxfailReason() string {
	n := d.cfg.MaxFail
	flag := d.cfg.MaxFailFlag
	if flag == "" {
		flag = fmt.Sprintf("--maxfail=%d", n)
		if n == 1 {
			flag = "-x"
		}
	}
	if n == 1 {
		return "not run: stopped after the first failure (" + flag + ")"
	}
	return fmt.Sprintf("not run: stopped after %d failures (%s)", n, flag)
}

// stopAll ends scheduling: tests not handed out become not_run with reason,
// and every worker drops the tests it holds but has not started.
func (d *dispatcher) stopAll(reason string) {
	d.stopping = true
	if d.plan != nil {
		for _, i := range d.plan.Drain() {
			d.notRun(i, reason)
		}
		if d.cfg.Queue != nil {
			// Tests the shared queue never handed to this run are left
			// to the other machines.
			for i, t := range d.tests {
				if t.status == pending {
					d.markElsewhere(i)
				}
			}
		}
	}
	for _, s := range d.slots {
		if !s.proc.alive {
			continue
		}
		if len(s.proc.queue) > 0 && !s.proc.stopped {
			s.proc.stopped = true
			s.proc.h.Send(protocol.Command{Type: protocol.CmdStop})
		}
		if s.proc.current < 0 && len(s.proc.queue) == 0 && !s.proc.shutdown {
			d.sendShutdown(s)
		}
	}
	d.maybeShutdown()
}

func (d *dispatcher) notRun(i int, reason string) {
	t := d.tests[i]
	if t.status == done {
		return
	}
	d.setStatus(t, done)
	t.res.Outcome = result.NotRun
	t.res.Reason = reason
	d.emit(result.Event{Kind: result.TestFinished, NodeID: t.res.NodeID, Test: t.res})
}

func (d *dispatcher) interrupt() {
	d.interrupted++
	if d.interrupted == 1 {
		d.interruptAt = d.now()
		d.run.Interrupted = true
		d.run.InterruptReason = "KeyboardInterrupt"
		// Ctrl-C after -x stopped the run: it ends as interrupted (exit
		// 2), as pytest's KeyboardInterrupt does.
		d.run.MaxfailReached = false
		d.stopAll(interruptedReason)
		return
	}
	for _, s := range d.slots {
		if s.proc.alive {
			if p, ok := s.proc.h.(interface{ KillNow() }); ok {
				p.KillNow()
			} else {
				s.proc.h.Kill(false)
			}
			s.proc.killed = true
		}
	}
}

func (d *dispatcher) stopWorkers() {
	d.stopping = true
	for _, s := range d.slots {
		if s.proc.alive && !s.proc.killed {
			s.proc.killed = true
			s.proc.h.Kill(false)
		}
	}
}
