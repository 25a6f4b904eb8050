package run

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/worker"
)

// TestDiagRerunWalk takes a rerun through its states, checking what each
// accepts and refuses.
func TestDiagRerunWalk(t *testing.T) {
	var r diagRerun
	if r.busy() || r.pending() || r.started() || r.reruns(0) || r.state != diagNone {
		t.Fatalf("zero rerun = %+v, want diagNone", r)
	}
	if _, ok := r.send(); ok {
		t.Error("send in diagNone gave a test")
	}
	r.assign(3)
	if r.state != diagAssigned || !r.busy() || !r.pending() || r.started() || !r.reruns(3) || r.reruns(2) {
		t.Fatalf("after assign: %+v", r)
	}
	r.assign(4)
	if r.test != 3 {
		t.Errorf("a second assign changed the test to %d", r.test)
	}
	if i, ok := r.send(); !ok || i != 3 || r.state != diagSent {
		t.Fatalf("send = %d, %v, state %v; want 3, true, sent", i, ok, r.state)
	}
	if _, ok := r.send(); ok {
		t.Error("the test was sent twice")
	}
	if r.start(2, time.Second) {
		t.Error("start of another test was taken as the rerun's")
	}
	r.report(3, protocol.Report{When: "setup"}) // before start: dropped by start
	if !r.start(3, 7*time.Second) || r.state != diagRunning || !r.started() || r.timeout != 7*time.Second || r.reports != nil {
		t.Fatalf("after start: %+v", r)
	}
	if r.report(4, protocol.Report{When: "setup"}) {
		t.Error("a report of another test was kept")
	}
	r.report(3, protocol.Report{When: "setup"})
	r.report(3, protocol.Report{When: "call"})
	if _, ok := r.done(4); ok {
		t.Error("done of another test ended the rerun")
	}
	reports, ok := r.done(3)
	if !ok || len(reports) != 2 || reports[1].When != "call" {
		t.Fatalf("done = %v, %v; want the two reports", reports, ok)
	}
	if r.state != diagOver || !r.busy() || r.pending() || !r.started() || r.reruns(3) {
		t.Errorf("after done: %+v", r)
	}
	if r.report(3, protocol.Report{}) || r.start(3, time.Second) {
		t.Error("a finished rerun took more messages")
	}
	if _, ok := r.done(3); ok {
		t.Error("done twice")
	}
}

// TestDiagRerunEnded checks the verdict when the rerun's process ends first.
func TestDiagRerunEnded(t *testing.T) {
	tests := []struct {
		state      diagState
		atDeadline bool
		want       *result.Test
		why        string
	}{
		{diagAssigned, false, nil, "could not rerun it alone: the fresh worker ended before it started (exit code 1)"},
		{diagSent, true, nil, "could not rerun it alone: the fresh worker ended before it started (exit code 1)"},
		{diagRunning, false, &result.Test{NodeID: "a.py::t", Outcome: result.Crashed, Message: "exit code 1"}, ""},
		{diagRunning, true, &result.Test{NodeID: "a.py::t", Outcome: result.Timeout, Message: "it ran longer than 300s"}, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.state, tt.atDeadline), func(t *testing.T) {
			r := diagRerun{state: tt.state, test: 1, timeout: diagTimeout, reports: []protocol.Report{{}}}
			got, why := r.ended("a.py::t", "exit code 1", tt.atDeadline)
			if !reflect.DeepEqual(got, tt.want) || why != tt.why {
				t.Errorf("ended = %+v, %q; want %+v, %q", got, why, tt.want, tt.why)
			}
			if r.state != diagOver || r.reports != nil {
				t.Errorf("after ended: %+v, want diagOver", r)
			}
		})
	}
}

func TestDiagStateString(t *testing.T) {
	var got []string
	for s := diagNone; s <= diagOver; s++ {
		got = append(got, s.String())
	}
	if want := []string{"none", "assigned", "sent", "running", "over"}; !slices.Equal(got, want) {
		t.Errorf("names = %v, want %v", got, want)
	}
}

// TestDiagnosisOf checks what each outcome of a rerun says.
func TestDiagnosisOf(t *testing.T) {
	tests := []struct {
		name  string
		rerun *result.Test
		why   string
		want  result.Diagnosis
	}{
		{"could not run", nil, "could not start", result.Diagnosis{Summary: "could not start"}},
		{"hangs", &result.Test{Outcome: result.Timeout, Message: "it ran longer than 5s"}, "",
			result.Diagnosis{Rerun: result.Timeout, Summary: "hangs when rerun alone in a fresh worker: it ran longer than 5s"}},
		{"crashes alone", &result.Test{Outcome: result.Crashed, Message: "SIGSEGV"}, "",
			result.Diagnosis{Rerun: result.Crashed, CrashedAlone: true,
				Summary: "crashes alone too: rerun in a fresh worker with nothing beside it, it crashed again (SIGSEGV)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diagnosisOf(tt.rerun, tt.why); !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("diagnosisOf = %+v, want %+v", *got, tt.want)
			}
		})
	}
	for _, o := range []result.Outcome{result.Passed, result.Failed} {
		got := diagnosisOf(&result.Test{Outcome: o}, "")
		if got.Rerun != o || got.Cause != "parallel-unsafe" || got.Marker != "@pytest.mark.parallel_unsafe" ||
			!strings.Contains(got.Summary, "crashed only beside other tests: rerun alone in a fresh worker it "+string(o)+".") {
			t.Errorf("diagnosisOf(%s) = %+v", o, got)
		}
	}
}

// diagDispatcher is a dispatcher whose tests all have their outcomes and
// whose one slot has no live process.
func diagDispatcher(st worker.Starter, outcomes ...result.Outcome) *dispatcher {
	d := stubDispatcher(st)
	d.cfg.Diagnose = true
	d.haveColl = true
	d.slots = []*slotState{newSlot(0)}
	for k, o := range outcomes {
		d.tests = append(d.tests, &testState{info: protocol.TestInfo{ID: fmt.Sprintf("t.py::test_%d", k)},
			res: &result.Test{Outcome: o}, status: done, slot: -1})
		d.count[done]++
	}
	return d
}

// TestFinishedIsPure checks that finished only looks: a crashed test waiting
// for its rerun keeps the run going, and only rerunNext starts the rerun.
func TestFinishedIsPure(t *testing.T) {
	st := &stubStarter{}
	d := diagDispatcher(st, result.Passed, result.Crashed)
	d.diagQueue = []int{1}
	for range 3 {
		if d.finished() {
			t.Fatal("finished with a crashed test waiting for its rerun")
		}
	}
	if len(st.started) != 0 || !slices.Equal(d.diagQueue, []int{1}) || d.slots[0].gen != 0 {
		t.Fatalf("finished started %d processes, left queue %v", len(st.started), d.diagQueue)
	}
	d.rerunNext()
	p := d.slots[0].proc
	if len(st.started) != 1 || !p.alive || p.diag.state != diagAssigned || p.diag.test != 1 || len(d.diagQueue) != 0 {
		t.Fatalf("rerunNext: %d started, process %+v, queue %v", len(st.started), p, d.diagQueue)
	}
	if d.finished() {
		t.Error("finished while the rerun's worker lives")
	}
	d.rerunNext()
	if len(st.started) != 1 {
		t.Error("rerunNext started a second process beside a live one")
	}
	p.alive = false
	if !d.finished() {
		t.Error("not finished once the rerun's process ended")
	}
}

// TestRerunNextSkipsRetried checks that a crashed test that a retry made
// pass or fail normally is not rerun.
func TestRerunNextSkipsRetried(t *testing.T) {
	st := &stubStarter{}
	d := diagDispatcher(st, result.Flaky, result.Failed, result.Crashed)
	d.diagQueue = []int{0, 1, 2}
	d.rerunNext()
	if p := d.slots[0].proc; p.diag.test != 2 || len(d.diagQueue) != 0 {
		t.Errorf("rerun of test %d, queue %v; want test 2, empty", p.diag.test, d.diagQueue)
	}
	d = diagDispatcher(st, result.Flaky)
	d.diagQueue = []int{0}
	if !d.finished() {
		t.Error("not finished though no crashed test is left")
	}
}

// TestRerunNextWaits checks that no rerun starts while a worker lives, a
// test waits, the run stops or diagnosis is off.
func TestRerunNextWaits(t *testing.T) {
	cases := map[string]func(d *dispatcher){
		"worker alive":  func(d *dispatcher) { d.slots[0].proc.alive = true },
		"test pending":  func(d *dispatcher) { d.count[done]-- },
		"stopping":      func(d *dispatcher) { d.stopping = true },
		"interrupted":   func(d *dispatcher) { d.interrupted = 1 },
		"no diagnosis":  func(d *dispatcher) { d.cfg.Diagnose = false },
		"fatal":         func(d *dispatcher) { d.fatal = errors.New("bad table") },
		"no collection": func(d *dispatcher) { d.haveColl = false },
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			st := &stubStarter{}
			d := diagDispatcher(st, result.Crashed)
			d.diagQueue = []int{0}
			set(d)
			d.rerunNext()
			if len(st.started) != 0 {
				t.Error("a rerun started")
			}
		})
	}
}

// TestRerunNextCannotStart checks the diagnosis of a test whose rerun's
// process could not start, and that the run then ends.
func TestRerunNextCannotStart(t *testing.T) {
	st := &stubStarter{err: errors.New("no python")}
	d := diagDispatcher(st, result.Crashed)
	d.diagQueue = []int{0}
	d.rerunNext()
	dg := d.tests[0].res.Diagnosis
	if dg == nil || dg.Summary != "could not start a worker to rerun it: no python" {
		t.Fatalf("diagnosis = %+v", dg)
	}
	if !d.finished() {
		t.Error("not finished after the last rerun could not start")
	}
}
