package run_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/worker"
)

// A worker dies by a signal in the middle of a test: that test crashed, the
// tests the worker had queued but not started run on its replacement, and no
// test runs twice or gets lost.
func TestWorkerCrash(t *testing.T) {
	t.Parallel()
	suite := suiteOf(8)
	crasher := suite[3].ID
	f := &fakeStarter{t: t, suite: suite, behave: map[string]behave{crasher: {crash: "SIGSEGV"}}}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	tr := testByID(t, res, crasher)
	if tr.Outcome != result.Crashed || tr.Crash == nil {
		t.Fatalf("%s: outcome %s, crash %+v", crasher, tr.Outcome, tr.Crash)
	}
	c := tr.Crash
	if c.Signal != "SIGSEGV" || c.ExitCode != nil || c.Phase != "call" || !strings.Contains(c.StderrTail, "Segmentation fault") {
		t.Errorf("crash = %+v", *c)
	}
	if !slices.Equal(c.PriorTests, []string{suite[0].ID, suite[1].ID, suite[2].ID}) {
		t.Errorf("prior tests %q, want the three before it", c.PriorTests)
	}
	if !strings.Contains(tr.Message, "SIGSEGV") || !strings.Contains(tr.Message, "gw0") {
		t.Errorf("message %q should name the worker and the signal", tr.Message)
	}
	procs := f.procsOf(0)
	if len(procs) != 2 {
		t.Fatalf("%d processes in slot 0, want the crashed one and its replacement", len(procs))
	}
	// What the dead worker held but never started ran on the replacement.
	started := map[string]bool{}
	for _, r := range procs[0].ranTests() {
		started[r.id] = true
	}
	var unstarted []string
	for _, id := range procs[0].receivedIDs() {
		if !started[id] {
			unstarted = append(unstarted, id)
		}
	}
	if len(unstarted) == 0 {
		t.Fatal("the crashed worker held no unstarted tests; the scenario tests nothing")
	}
	reran := map[string]bool{}
	for _, r := range procs[1].ranTests() {
		reran[r.id] = true
	}
	for _, id := range unstarted {
		if !reran[id] {
			t.Errorf("%s was queued on the crashed worker and did not run on its replacement", id)
		}
		if testByID(t, res, id).Outcome != result.Passed {
			t.Errorf("%s: %s", id, testByID(t, res, id).Outcome)
		}
	}
	if res.Summary()[result.Passed] != 7 || res.Summary()[result.Crashed] != 1 {
		t.Errorf("summary %v", res.Summary())
	}
	if res.WorkerDeaths != 1 || s.count(result.WorkerDied) != 1 {
		t.Errorf("worker deaths %d, WorkerDied events %d; want 1", res.WorkerDeaths, s.count(result.WorkerDied))
	}
	if s.count(result.WorkerStarted) != 2 {
		t.Errorf("%d WorkerStarted events, want 2", s.count(result.WorkerStarted))
	}
}

// Crashes on several workers at once: still every test once, none lost.
func TestManyCrashes(t *testing.T) {
	t.Parallel()
	suite := suiteOf(10, 10, 10, 10)
	b := map[string]behave{}
	for i := 0; i < len(suite); i += 7 {
		b[suite[i].ID] = behave{crash: "SIGABRT"}
	}
	f := &fakeStarter{t: t, suite: suite, behave: b}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 3, Starter: f, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	for id := range b {
		if got := testByID(t, res, id); got.Outcome != result.Crashed || got.Crash.Signal != "SIGABRT" {
			t.Errorf("%s: %s", id, got.Outcome)
		}
	}
	if res.Summary()[result.Passed] != len(suite)-len(b) {
		t.Errorf("summary %v", res.Summary())
	}
	if res.WorkerDeaths != len(b) {
		t.Errorf("worker deaths %d, want %d", res.WorkerDeaths, len(b))
	}
}

// Workers that die before they collect, every time: the run ends (it must
// not respawn forever or hang).
func TestDeathsBeforeCollection(t *testing.T) {
	t.Parallel()
	segv := &worker.Exit{Code: -1, Signal: "SIGSEGV", StderrTail: "Fatal Python error"}
	type testCase struct {
		name    string
		workers int
		script  func(slot, gen int) script
		// wantErr is a substring of Execute's error; "" means the run ends
		// normally with wantNotRun tests not run.
		wantErr    string
		wantNotRun int
		maxProcs   int
	}
	suite := suiteOf(5)
	run_ := func(t *testing.T, tc testCase) {
		t.Parallel()
		f := &fakeStarter{t: t, suite: suite, script: tc.script, behave: map[string]behave{suite[0].ID: {crash: "SIGSEGV"}}}
		s := &sink{}
		res, err := execute(t, run.Config{Workers: tc.workers, Starter: f, Sink: s})
		if n := len(f.allProcs()); n > tc.maxProcs {
			t.Errorf("%d processes started, want at most %d", n, tc.maxProcs)
		}
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Execute = %v, %v; want an error containing %q", res, err, tc.wantErr)
			}
			var se *run.StartupError
			if errors.As(err, &se) {
				t.Errorf("a crash before collection is not pytest refusing its arguments: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, f, s, res, false)
		if got := res.Summary()[result.NotRun]; got != tc.wantNotRun {
			t.Errorf("%d not run, want %d: %v", got, tc.wantNotRun, res.Summary())
		}
		for _, tr := range res.Tests {
			if tr.Outcome == result.NotRun && !strings.Contains(tr.Reason, "died before collecting") {
				t.Errorf("%s: reason %q should say the workers died before collecting", tr.NodeID, tr.Reason)
			}
		}
	}
	for _, tc := range []testCase{
		{
			name: "before hello, one worker", workers: 1, maxProcs: 3,
			script:  func(int, int) script { return script{exitBeforeHello: segv} },
			wantErr: "3 workers in a row died before collecting",
		},
		{
			name: "before hello, three workers", workers: 3, maxProcs: 5,
			script:  func(int, int) script { return script{exitBeforeHello: segv} },
			wantErr: "died before collecting",
		},
		{
			name: "after hello, killed by a signal", workers: 2, maxProcs: 4,
			script:  func(int, int) script { return script{exitBeforeCollect: &worker.Exit{Code: -1, Signal: "SIGKILL"}} },
			wantErr: "died before collecting",
		},
		{
			// The first process collects and crashes on the first test; its
			// replacements all die before collecting. The rest is not run.
			name: "replacements die after a collection", workers: 1, maxProcs: 4,
			script: func(slot, gen int) script {
				if gen == 1 {
					return script{}
				}
				return script{exitBeforeHello: segv}
			},
			wantNotRun: 4,
		},
	} {
		t.Run(tc.name, func(t *testing.T) { run_(t, tc) })
	}
}

// pytest exits with a code before collecting (a usage error): a
// StartupError with that code and pytest's output, and the other workers are
// stopped.
func TestStartupError(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{t: t, suite: suiteOf(3), script: func(slot, gen int) script {
		if slot == 1 {
			return script{exitBeforeHello: &worker.Exit{Code: 4, StderrTail: "ERROR: usage: pytest [options]\npytest: error: unrecognized arguments: --bogus\n"}}
		}
		// The other worker is slow to collect; it must be stopped.
		return script{waitBeforeCollect: make(chan struct{})}
	}}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
	var se *run.StartupError
	if !errors.As(err, &se) {
		t.Fatalf("Execute = %v, %v; want a *StartupError", res, err)
	}
	if se.Code != 4 || !strings.Contains(se.Output, "unrecognized arguments: --bogus") {
		t.Errorf("startup error = %+v", se)
	}
	if res != nil {
		t.Errorf("a run came back with a startup error: %+v", res)
	}
	if p := f.procsOf(0); len(p) != 1 || p[0].killCalls.Load() == 0 {
		t.Errorf("the other worker was not stopped")
	}
	if len(f.allProcs()) != 2 {
		t.Errorf("%d processes started; a startup error must not be retried", len(f.allProcs()))
	}
}

func TestStartFailure(t *testing.T) {
	t.Parallel()
	boom := errors.New("fork/exec /no/python: no such file or directory")
	f := &fakeStarter{t: t, suite: suiteOf(3), startErr: func(int, int) error { return boom }}
	_, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: &sink{}})
	if !errors.Is(err, boom) {
		t.Fatalf("Execute = %v, want the start error", err)
	}
}

// The replacement of a crashed worker cannot be started: the run still ends,
// the tests that could not run are not_run with the reason.
func TestRespawnFailure(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name    string
		workers int
	}
	run_ := func(t *testing.T, tc testCase) {
		t.Parallel()
		suite := suiteOf(6)
		f := &fakeStarter{t: t, suite: suite,
			behave: map[string]behave{suite[0].ID: {crash: "SIGSEGV"}},
			startErr: func(slot, gen int) error {
				if gen > 1 {
					return errors.New("fork/exec: resource temporarily unavailable")
				}
				return nil
			},
		}
		s := &sink{}
		res, err := execute(t, run.Config{Workers: tc.workers, Starter: f, Sink: s})
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, f, s, res, false)
		if testByID(t, res, suite[0].ID).Outcome != result.Crashed {
			t.Errorf("%s: %s", suite[0].ID, testByID(t, res, suite[0].ID).Outcome)
		}
		for _, tr := range res.Tests {
			if tr.Outcome == result.NotRun && !strings.Contains(tr.Reason, "resource temporarily unavailable") {
				t.Errorf("%s: reason %q should name the start error", tr.NodeID, tr.Reason)
			}
		}
		if tc.workers == 1 && res.Summary()[result.NotRun] == 0 {
			t.Errorf("with its only worker gone, tests ran anyway? %v", res.Summary())
		}
	}
	for _, tc := range []testCase{
		{name: "only worker", workers: 1},
		{name: "one of two", workers: 2},
	} {
		t.Run(tc.name, func(t *testing.T) { run_(t, tc) })
	}
}

// With Diagnose, a crashed test is rerun alone at the end; the diagnosis
// says whether it crashes alone too.
func TestDiagnose(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name      string
		b         behave
		wantAlone bool
		wantCause string
		wantRerun result.Outcome
	}
	run_ := func(t *testing.T, tc testCase) {
		t.Parallel()
		suite := suiteOf(6)
		crasher := suite[2].ID
		f := &fakeStarter{t: t, suite: suite, behave: map[string]behave{crasher: tc.b}}
		s := &sink{}
		res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: s, Diagnose: true})
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, f, s, res, true)
		tr := testByID(t, res, crasher)
		if tr.Outcome != result.Crashed {
			t.Fatalf("outcome %s; the first outcome stands", tr.Outcome)
		}
		dg := tr.Diagnosis
		if dg == nil {
			t.Fatal("no diagnosis")
		}
		if dg.CrashedAlone != tc.wantAlone || dg.Cause != tc.wantCause || dg.Rerun != tc.wantRerun || dg.Summary == "" {
			t.Errorf("diagnosis %+v", *dg)
		}
		if n := f.startCount(crasher); n != 2 {
			t.Errorf("%s started %d times, want twice (run and rerun)", crasher, n)
		}
		// The rerun ran alone: a process that ran nothing else.
		last := f.allProcs()[len(f.allProcs())-1]
		if ran := last.ranTests(); len(ran) != 1 || ran[0].id != crasher || ran[0].nextitem != "" {
			t.Errorf("rerun process ran %v, want just %s", ran, crasher)
		}
		for _, other := range suite {
			if other.ID != crasher && f.startCount(other.ID) != 1 {
				t.Errorf("%s started %d times", other.ID, f.startCount(other.ID))
			}
		}
		if res.Summary()[result.Passed] != 5 {
			t.Errorf("summary %v", res.Summary())
		}
	}
	for _, tc := range []testCase{
		{name: "crashes alone too", b: behave{crash: "SIGSEGV"}, wantAlone: true, wantRerun: result.Crashed},
		{name: "crashes only beside others", b: behave{crash: "SIGSEGV", crashUnlessAlone: true}, wantCause: "parallel-unsafe", wantRerun: result.Passed},
	} {
		t.Run(tc.name, func(t *testing.T) { run_(t, tc) })
	}
}

// Every worker fails the handshake (a stale plugin speaking another protocol
// version): the run fails with an error that says so.
func TestHandshakeFailure(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{t: t, suite: suiteOf(2), script: func(int, int) script { return script{badHello: true} }}
	s := &sink{}
	_, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
	if err == nil {
		t.Fatal("Execute succeeded with workers that all failed the handshake")
	}
	if !strings.Contains(err.Error(), "protocol") {
		t.Errorf("error %q does not say the worker speaks another protocol", err)
	}
	if n := len(f.allProcs()); n > 4 {
		t.Errorf("%d processes started", n)
	}
	for _, ev := range s.all() {
		if ev.Kind == result.WorkerDied && (!strings.Contains(deathWords(ev).Message, "handshake") || ev.Death.Reason != result.DeathHandshake) {
			t.Errorf("WorkerDied message %q does not mention the handshake (death %+v)", deathWords(ev).Message, ev.Death)
		}
	}
}

// Workers that die before collecting stop being replaced after
// maxStartupDeaths in a row; a collection breaks the row, so a worker that
// crashes later in the run is replaced again.
func TestStartupDeathsThenCollection(t *testing.T) {
	t.Parallel()
	suite := suiteOf(8)
	segv := &worker.Exit{Code: -1, Signal: "SIGSEGV"}
	release := make(chan struct{})
	f := &fakeStarter{t: t, suite: suite,
		behave: map[string]behave{suite[1].ID: {crash: "SIGSEGV"}},
		script: func(slot, gen int) script {
			switch {
			case slot == 0 && gen == 1:
				// Collects only after three startup deaths elsewhere.
				return script{waitBeforeCollect: release}
			case slot > 0:
				return script{exitBeforeHello: segv}
			}
			return script{}
		}}
	s := &sink{}
	go func() {
		waitFor(t, "three startup deaths", func() bool { return s.count(result.WorkerDied) >= 3 })
		close(release)
	}()
	res, err := execute(t, run.Config{Workers: 3, Starter: f, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	if got := testByID(t, res, suite[1].ID).Outcome; got != result.Crashed {
		t.Errorf("%s: %s", suite[1].ID, got)
	}
	if sum := res.Summary(); sum[result.Passed] != len(suite)-1 {
		t.Errorf("summary %v: after the crash, the worker that had collected must be replaced", sum)
	}
}
