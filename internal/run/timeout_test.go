package run_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/worker"
)

func TestTimeout(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name       string
		marker     float64       // the test's timeout marker
		cli        time.Duration // --timeout
		ini        float64       // ini timeout option
		addopts    float64       // --timeout in addopts (session options)
		wantMsg    string
		wantKilled bool
	}
	run_ := func(t *testing.T, tc testCase) {
		t.Parallel()
		suite := suiteOf(3)
		suite[1].Timeout = tc.marker
		hang := suite[1].ID
		f := &fakeStarter{t: t, suite: suite, behave: map[string]behave{hang: {hang: true}},
			script: func(int, int) script {
				return script{iniTimeout: tc.ini, options: &protocol.Options{Timeout: tc.addopts}}
			}}
		s := &sink{}
		begin := time.Now()
		res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: s, Timeout: tc.cli})
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, f, s, res, false)
		tr := testByID(t, res, hang)
		if tr.Outcome != result.Timeout {
			t.Fatalf("outcome %s, want timeout", tr.Outcome)
		}
		if tr.Message != tc.wantMsg {
			t.Errorf("message %q, want %q", tr.Message, tc.wantMsg)
		}
		if tr.Crash == nil || tr.Crash.KillStage != "SIGKILL" || tr.Crash.Signal != "SIGKILL" || !strings.Contains(tr.Crash.StderrTail, "test_hang") {
			t.Errorf("crash = %+v, want the kill stage and the stack dump", tr.Crash)
		}
		if tr.Crash != nil && tr.Crash.Phase != "call" {
			t.Errorf("phase %q, want call", tr.Crash.Phase)
		}
		p := f.procsOf(0)[0]
		if p.killCalls.Load() == 0 {
			t.Error("the hung worker was never killed")
		}
		// Kill(true): stacks first.
		if res.Summary()[result.Passed] != 2 {
			t.Errorf("summary %v; the other tests must run on the replacement", res.Summary())
		}
		if took := time.Since(begin); took > 1500*time.Millisecond {
			t.Errorf("run took %s", took)
		}
		if res.WorkerDeaths != 1 {
			t.Errorf("worker deaths %d", res.WorkerDeaths)
		}
	}
	for _, tc := range []testCase{
		{name: "marker", marker: 0.2, wantMsg: "timeout after 0.2s"},
		{name: "--timeout", cli: 250 * time.Millisecond, wantMsg: "timeout after 0.25s"},
		{name: "ini", ini: 0.15, wantMsg: "timeout after 0.15s"},
		{name: "addopts", addopts: 0.15, wantMsg: "timeout after 0.15s"},
		{name: "marker beats --timeout", marker: 0.2, cli: time.Hour, wantMsg: "timeout after 0.2s"},
		{name: "--timeout beats ini", cli: 200 * time.Millisecond, ini: 3600, wantMsg: "timeout after 0.2s"},
		{name: "--timeout beats addopts", cli: 200 * time.Millisecond, addopts: 3600, wantMsg: "timeout after 0.2s"},
	} {
		t.Run(tc.name, func(t *testing.T) { run_(t, tc) })
	}
}

// The timeout kill asks for stacks first.
func TestTimeoutKillsWithStacks(t *testing.T) {
	t.Parallel()
	suite := suiteOf(1)
	suite[0].Timeout = 0.1
	f := &fakeStarter{t: t, suite: suite, behave: map[string]behave{suite[0].ID: {hang: true}}}
	var stacks []bool
	k := &killRecorder{fakeStarter: f, stacks: &stacks}
	res, err := execute(t, run.Config{Workers: 1, Starter: k, Sink: &sink{}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stacks, []bool{true}) {
		t.Errorf("Kill calls %v, want one Kill(true)", stacks)
	}
	if res.Tests[0].Outcome != result.Timeout {
		t.Errorf("outcome %s", res.Tests[0].Outcome)
	}
}

// killRecorder wraps the fake starter to record Kill's argument.
type killRecorder struct {
	*fakeStarter
	stacks *[]bool
}

type recordingHandle struct {
	worker.Handle
	k *killRecorder
}

func (k *killRecorder) Start(ctx context.Context, slot, gen int, events chan<- worker.Event) (worker.Handle, error) {
	h, err := k.fakeStarter.Start(ctx, slot, gen, events)
	if err != nil {
		return nil, err
	}
	return recordingHandle{h, k}, nil
}

func (r recordingHandle) Kill(stacks bool) {
	r.k.mu.Lock()
	*r.k.stacks = append(*r.k.stacks, stacks)
	r.k.mu.Unlock()
	r.Handle.Kill(stacks)
}

// A worker that goes silent between tests (not in a test, not waiting for
// work) is killed after StuckTimeout; its queued tests run elsewhere.
func TestStuckWorker(t *testing.T) {
	t.Parallel()
	suite := suiteOf(12)
	f := &fakeStarter{t: t, suite: suite, script: func(slot, gen int) script {
		if gen == 1 {
			return script{silentAfter: 1}
		}
		return script{}
	}}
	s := &sink{}
	c := &clock{}
	go func() {
		waitFor(t, "the first test", func() bool { return s.count(result.TestFinished) >= 1 })
		time.Sleep(50 * time.Millisecond)
		c.advance(run.StuckTimeout + time.Second)
	}()
	res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: s, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	if res.Summary()[result.Passed] != len(suite) {
		t.Errorf("summary %v, want every test passed on the replacement", res.Summary())
	}
	var msg string
	for _, ev := range s.all() {
		if ev.Kind == result.WorkerDied {
			msg = deathWords(ev).Message
			if ev.Death.Reason != result.DeathStuck {
				t.Errorf("WorkerDied reason %q, want %q", ev.Death.Reason, result.DeathStuck)
			}
		}
	}
	if !strings.Contains(msg, "stuck outside any test") {
		t.Errorf("WorkerDied message %q", msg)
	}
}

// A worker whose session teardown never ends after shutdown is killed after
// ShutdownTimeout; the tests keep their outcomes.
func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	suite := suiteOf(3)
	f := &fakeStarter{t: t, suite: suite, script: func(int, int) script { return script{hangOnShutdown: true} }}
	s := &sink{}
	c := &clock{}
	go func() {
		waitFor(t, "all tests", func() bool { return s.count(result.TestFinished) == len(suite) })
		time.Sleep(50 * time.Millisecond)
		c.advance(run.ShutdownTimeout + time.Second)
	}()
	res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: s, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	if res.Summary()[result.Passed] != len(suite) {
		t.Errorf("summary %v", res.Summary())
	}
	if p := f.procsOf(0); len(p) != 1 || p[0].killCalls.Load() == 0 {
		t.Error("the hanging worker was not killed")
	}
	var msg string
	for _, ev := range s.all() {
		if ev.Kind == result.WorkerDied {
			msg = deathWords(ev).Message
		}
	}
	if !strings.Contains(msg, "shutdown timeout") {
		t.Errorf("WorkerDied message %q", msg)
	}
	if len(res.Stalls) != 1 {
		t.Fatalf("stalls %+v, want one", res.Stalls)
	}
	st := res.Stalls[0]
	if st.Worker != "gw0" || st.When != "session end" || st.LastTest != suite[len(suite)-1].ID ||
		st.KillStage != "SIGKILL" || !strings.Contains(st.Stacks, "in test_hang") ||
		st.Cause != "worker gw0 did not end within 60s of the shutdown request (the shutdown timeout)" {
		t.Errorf("stall %+v", st)
	}
}

// Config.ShutdownTimeout replaces ShutdownTimeout: the worker is killed
// once it has passed, not before.
func TestShutdownTimeoutConfigured(t *testing.T) {
	t.Parallel()
	suite := suiteOf(2)
	f := &fakeStarter{t: t, suite: suite, script: func(int, int) script { return script{hangOnShutdown: true} }}
	s := &sink{}
	c := &clock{}
	go func() {
		waitFor(t, "all tests", func() bool { return s.count(result.TestFinished) == len(suite) })
		time.Sleep(50 * time.Millisecond)
		c.advance(4 * time.Second)
		time.Sleep(100 * time.Millisecond)
		if p := f.procsOf(0); len(p) != 1 || p[0].killCalls.Load() != 0 {
			t.Error("the worker was killed before its shutdown timeout")
		}
		c.advance(2 * time.Second)
	}()
	res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: s, Now: c.Now, ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stalls) != 1 || !strings.Contains(res.Stalls[0].Cause, "within 5s of the shutdown request") {
		t.Errorf("stalls %+v", res.Stalls)
	}
}

// A worker stuck in collection is recorded as a stall in collection, with
// its stacks.
func TestCollectTimeoutIsAStall(t *testing.T) {
	t.Parallel()
	suite := suiteOf(2)
	_, _, res := stuckInCollection(t, suite)
	if len(res.Stalls) != 1 || res.Stalls[0].When != "collection" || res.Stalls[0].LastTest != "" || res.Stalls[0].Stacks == "" {
		t.Errorf("stalls %+v", res.Stalls)
	}
	if res.Summary()[result.Passed] != len(suite) {
		t.Errorf("summary %v", res.Summary())
	}
}

// A worker stuck in collection is killed after CollectTimeout and replaced.
func TestCollectTimeout(t *testing.T) {
	t.Parallel()
	suite := suiteOf(4)
	f, s, res := stuckInCollection(t, suite)
	checkRun(t, f, s, res, false)
	if res.Summary()[result.Passed] != len(suite) || len(f.procsOf(0)) != 2 {
		t.Errorf("summary %v with %d processes", res.Summary(), len(f.procsOf(0)))
	}
	found := false
	for _, ev := range s.all() {
		found = found || ev.Kind == result.WorkerDied && strings.Contains(deathWords(ev).Message, "did not finish collecting") &&
			ev.Death.Reason == result.DeathCollectTimeout
	}
	if !found {
		t.Error("no WorkerDied event saying the worker did not finish collecting")
	}
}

// A worker that waited idle for longer than StuckTimeout and is then given
// work (tests requeued from a crashed worker) is not "stuck": its silence
// while idle does not count.
func TestIdleWorkerGivenWorkIsNotStuck(t *testing.T) {
	t.Parallel()
	a := protocol.TestInfo{ID: "mod0.py::test_a"}
	x := protocol.TestInfo{ID: "mod1.py::test_x"}
	gate := make(chan struct{})
	gw1Collect := make(chan struct{})
	f := &fakeStarter{t: t, suite: []protocol.TestInfo{a, x},
		// gw0 runs a, holding x in its queue, and crashes once released.
		behave: map[string]behave{a.ID: {gate: gate, crash: "SIGSEGV"}},
		script: func(slot, gen int) script {
			if slot == 1 {
				// gw1 collects once a runs (x is then queued on gw0),
				// and takes its time to act on commands.
				return script{collect: []protocol.TestInfo{x}, waitBeforeCollect: gw1Collect, reactDelay: 300 * time.Millisecond}
			}
			return script{}
		}}
	s := &sink{}
	c := &clock{}
	go func() {
		waitFor(t, "test a to start", func() bool { return s.count(result.TestStarted) == 1 })
		close(gw1Collect)
		// gw1 collects, asks for work, gets none, and waits idle a long time.
		time.Sleep(100 * time.Millisecond)
		c.advance(run.StuckTimeout + time.Second)
		time.Sleep(150 * time.Millisecond)
		close(gate)
	}()
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range s.all() {
		if ev.Kind == result.WorkerDied && ev.Worker == "gw1" {
			t.Errorf("gw1 died: %s", deathWords(ev).Message)
		}
	}
	if got := testByID(t, res, x.ID); got.Outcome != result.Passed || got.Worker != "gw1" {
		t.Errorf("%s: %s on %q, want passed on gw1", x.ID, got.Outcome, got.Worker)
	}
	if got := testByID(t, res, a.ID); got.Outcome != result.Crashed {
		t.Errorf("%s: %s", a.ID, got.Outcome)
	}
}

// stuckInCollection runs suite on one worker whose first process never
// finishes collecting, with the clock moved past CollectTimeout once the
// run started.
func stuckInCollection(t *testing.T, suite []protocol.TestInfo) (*fakeStarter, *sink, *result.Run) {
	t.Helper()
	f := &fakeStarter{t: t, suite: suite, script: func(slot, gen int) script {
		if gen == 1 {
			return script{waitBeforeCollect: make(chan struct{})}
		}
		return script{}
	}}
	s := &sink{}
	c := &clock{}
	go func() {
		waitFor(t, "the worker", func() bool { return s.count(result.RunStarted) == 1 })
		time.Sleep(20 * time.Millisecond)
		c.advance(run.CollectTimeout + time.Second)
	}()
	res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: s, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f, s, res
}
