package run

import (
	"fmt"
	"slices"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

// diagTimeout bounds the rerun of a crashed test that has no timeout of its
// own. The rerun only explains a crash; five minutes lets slow tests finish
// and still ends one that hangs when alone.
const diagTimeout = 5 * time.Minute

// diagState is where a process stands in the rerun of a crashed test alone
// (Config.Diagnose). A process that reruns nothing stays in diagNone; one
// spawned for a rerun goes
//
//	diagNone --assign--> diagAssigned --send--> diagSent --start--> diagRunning --done--> diagOver
//
// and its end (ended) in diagAssigned, diagSent or diagRunning gives the
// verdict too, and takes it to diagOver. A process past diagNone runs
// nothing else: it is shut down once it asks for more.
type diagState int

const (
	// diagNone: the process runs the run's tests, no rerun.
	diagNone diagState = iota
	// diagAssigned: the process was started to rerun the test; it has
	// not been sent yet (the worker has not asked for work).
	diagAssigned
	// diagSent: the worker holds the test and has not started it.
	diagSent
	// diagRunning: the worker started the test; its reports are kept.
	diagRunning
	// diagOver: the rerun has its verdict; the process only ends.
	diagOver
)

var diagStateNames = [...]string{"none", "assigned", "sent", "running", "over"}

func (s diagState) String() string { return diagStateNames[s] }

// diagRerun is one process's part in the rerun of a crashed test alone.
// Its zero value is diagNone.
type diagRerun struct {
	state diagState
	// test is the test rerun (an index in the dispatcher's tests), past
	// diagNone.
	test int
	// reports are the rerun's reports since its start.
	reports []protocol.Report
	// timeout is the rerun's deadline from its start.
	timeout time.Duration
}

// busy reports whether the process is given to a rerun (or was): it runs
// nothing else.
func (r *diagRerun) busy() bool { return r.state != diagNone }

// pending reports whether the rerun has no verdict yet.
func (r *diagRerun) pending() bool { return r.state >= diagAssigned && r.state <= diagRunning }

// reruns reports whether the process reruns test i and has no verdict yet:
// its messages about i are the rerun's.
func (r *diagRerun) reruns(i int) bool { return r.pending() && r.test == i }

// started reports whether the worker started the rerun: from then on it may
// take as long as the test's timeout, not StuckTimeout.
func (r *diagRerun) started() bool { return r.state == diagRunning || r.state == diagOver }

// assign gives a fresh process test i to rerun.
func (r *diagRerun) assign(i int) {
	if r.state == diagNone {
		r.state, r.test = diagAssigned, i
	}
}

// send returns the test to send the worker when it asks for work, once.
func (r *diagRerun) send() (int, bool) {
	if r.state != diagAssigned {
		return 0, false
	}
	r.state = diagSent
	return r.test, true
}

// start records that the worker started the rerun of test i, which may run
// for timeout.
func (r *diagRerun) start(i int, timeout time.Duration) bool {
	if !r.reruns(i) {
		return false
	}
	r.state, r.reports, r.timeout = diagRunning, nil, timeout
	return true
}

// report keeps a report of the rerun of test i.
func (r *diagRerun) report(i int, rep protocol.Report) bool {
	if !r.reruns(i) {
		return false
	}
	r.reports = append(r.reports, rep)
	return true
}

// done ends the rerun of test i, which reported its outcome: it returns the
// reports received.
func (r *diagRerun) done(i int) ([]protocol.Report, bool) {
	if !r.reruns(i) {
		return nil, false
	}
	reports := r.reports
	r.state, r.reports = diagOver, nil
	return reports, true
}

// ended ends a rerun whose process ended (how says how) before its verdict:
// it returns the rerun's outcome, or nil and why it could not run.
// atDeadline says herd killed the process at the rerun's deadline.
func (r *diagRerun) ended(id, how string, atDeadline bool) (*result.Test, string) {
	state := r.state
	r.state, r.reports = diagOver, nil
	switch {
	case state == diagRunning && atDeadline:
		return &result.Test{NodeID: id, Outcome: result.Timeout,
			Message: fmt.Sprintf("it ran longer than %s", fmtSeconds(r.timeout))}, ""
	case state == diagRunning:
		return &result.Test{NodeID: id, Outcome: result.Crashed, Message: how}, ""
	}
	return nil, "could not rerun it alone: the fresh worker ended before it started (" + how + ")"
}

// diagPending reports whether a crashed test waits for its rerun alone.
func (d *dispatcher) diagPending() bool {
	return d.cfg.Diagnose && !d.stopping && d.interrupted == 0 &&
		slices.ContainsFunc(d.diagQueue, func(i int) bool { return d.tests[i].res.Outcome == result.Crashed })
}

// rerunNext starts the rerun of the next crashed test, alone in a fresh
// process, once every worker is gone and every test has its outcome.
func (d *dispatcher) rerunNext() {
	if d.anyAlive() || d.endsEarly() || !d.allDone() {
		return
	}
	if !d.diagPending() {
		return
	}
	for d.tests[d.diagQueue[0]].res.Outcome != result.Crashed {
		// A retry of it passed or failed normally: nothing to diagnose.
		d.diagQueue = d.diagQueue[1:]
	}
	i := d.diagQueue[0]
	d.diagQueue = d.diagQueue[1:]
	s := d.slots[0]
	d.spawn(s)
	s.proc.diag.assign(i)
	if !s.proc.alive {
		d.diagnose(i, nil, "could not start a worker to rerun it: "+d.respawnBlocked)
	}
}

// diagnose records the rerun of crashed test i: rerun is its outcome, or nil
// when it could not run, with why saying what happened instead.
func (d *dispatcher) diagnose(i int, rerun *result.Test, why string) {
	d.tests[i].res.Diagnosis = diagnosisOf(rerun, why)
}

// diagnosisOf says what the rerun of a crashed test alone tells: rerun is
// its outcome, or nil when it could not run, with why saying what happened
// instead.
func diagnosisOf(rerun *result.Test, why string) *result.Diagnosis {
	dg := &result.Diagnosis{}
	switch {
	case rerun == nil:
		dg.Summary = why
	case rerun.Outcome == result.Timeout:
		dg.Rerun = result.Timeout
		dg.Summary = "hangs when rerun alone in a fresh worker: " + rerun.Message
	case rerun.Outcome == result.Crashed:
		dg.Rerun = result.Crashed
		dg.CrashedAlone = true
		dg.Summary = "crashes alone too: rerun in a fresh worker with nothing beside it, it crashed again (" + rerun.Message + ")"
	default:
		dg.Rerun = rerun.Outcome
		dg.Cause = "parallel-unsafe"
		dg.Marker = "@pytest.mark.parallel_unsafe"
		dg.Summary = fmt.Sprintf("crashed only beside other tests: rerun alone in a fresh worker it %s. "+
			"Likely parallel-unsafe (it depends on what ran before it in its worker, or beside it); add %s", rerun.Outcome, dg.Marker)
	}
	return dg
}
