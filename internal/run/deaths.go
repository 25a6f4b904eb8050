package run

import (
	"fmt"

	"github.com/herd-run/herd/internal/worker"
)

// deathCause says, in the words of its cause, why herd killed a worker
// itself: a test that ran past its timeout, Ctrl-C, a missed deadline
// ("test_x.py::test_hang timed out after 2s: worker killed (SIGTERM after
// stack dump)"). It is empty for a death herd did not cause (a crash).
func (d *dispatcher) deathCause(s *slotState, ex *worker.Exit) string {
	if !s.killed {
		return ""
	}
	switch {
	case s.timedOut && s.current >= 0:
		t := d.tests[s.current]
		return fmt.Sprintf("%s timed out after %s: worker killed (%s)", t.info.ID, fmtSeconds(d.timeoutOf(t)), killWords(ex, true))
	case s.exitInfo != "":
		// The deadlines outside tests (collection, between tests, session
		// end) dump the stacks before the kill, as a timeout does.
		return s.exitInfo + ": worker killed (" + killWords(ex, true) + ")"
	case d.interrupted > 0:
		what := "stopped"
		if s.current >= 0 {
			what = d.tests[s.current].info.ID + " stopped"
		}
		return what + ": interrupted (worker killed by " + killWords(ex, false) + ")"
	}
	return ""
}

// killWords names the last stage of herd's kill escalation that fired, and
// how the worker ended when that was not the stage's signal. stacks says
// the escalation began with a stack dump (SIGUSR1).
func killWords(ex *worker.Exit, stacks bool) string {
	var w string
	switch {
	case ex.KillStage == "stacks":
		w = "stack dump"
	case stacks && ex.KillStage == "SIGTERM":
		w = "SIGTERM after stack dump"
	case stacks && ex.KillStage == "SIGKILL":
		w = "SIGKILL after stack dump and SIGTERM"
	case ex.KillStage != "":
		w = ex.KillStage
	}
	if ex.KillStage == "" || ex.Signal != ex.KillStage {
		if w == "" {
			return describeExit(ex)
		}
		w += "; " + describeExit(ex)
	}
	return w
}
