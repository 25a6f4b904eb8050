package run_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/report"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/worker"
)

// execute runs the dispatcher with a guard: a run that does not finish in
// time fails the test instead of hanging it.
// deathWords words the death a WorkerDied event carries, as herd does.
func deathWords(ev result.Event) result.DeathText {
	if ev.Death == nil {
		return result.DeathText{}
	}
	return report.DeathWords(*ev.Death)
}

func execute(t *testing.T, cfg run.Config) (*result.Run, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type out struct {
		res *result.Run
		err error
	}
	done := make(chan out, 1)
	if cfg.DeathWords == nil {
		cfg.DeathWords = report.DeathWords
	}
	go func() {
		res, err := run.Execute(ctx, cfg)
		done <- out{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(4 * time.Second):
		t.Fatal("run.Execute did not finish within 4s")
	}
	return nil, nil
}

// checkRun checks what must hold after every run: one outcome per test,
// one TestFinished event per test, a summary that adds up, RunFinished last,
// and, unless diag, every test that has a real outcome ran exactly once
// while every not_run test never started.
func checkRun(t *testing.T, f *fakeStarter, s *sink, res *result.Run, diag bool) {
	t.Helper()
	seen := map[string]bool{}
	for _, tr := range res.Tests {
		if !tr.Outcome.Valid() {
			t.Errorf("%s: invalid outcome %q", tr.NodeID, tr.Outcome)
		}
		if seen[tr.NodeID] {
			t.Errorf("%s appears twice in the run", tr.NodeID)
		}
		seen[tr.NodeID] = true
	}
	total := 0
	for _, n := range res.Summary() {
		total += n
	}
	if total != len(res.Tests) {
		t.Errorf("summary %v adds up to %d, not %d", res.Summary(), total, len(res.Tests))
	}
	finished := map[string]int{}
	evs := s.all()
	for _, ev := range evs {
		if ev.Kind == result.TestFinished {
			finished[ev.NodeID]++
			if ev.Test == nil || ev.Test.NodeID != ev.NodeID {
				t.Errorf("TestFinished for %s carries %+v", ev.NodeID, ev.Test)
			}
		}
	}
	for _, tr := range res.Tests {
		if tr.Crash == nil && tr.Outcome == result.Skipped && tr.Worker == "" && f.startCount(tr.NodeID) == 0 {
			// A module skipped at collection: it finished with the collection.
			continue
		}
		if finished[tr.NodeID] != 1 {
			t.Errorf("%s: %d TestFinished events, want 1", tr.NodeID, finished[tr.NodeID])
		}
	}
	if len(evs) == 0 || evs[len(evs)-1].Kind != result.RunFinished {
		t.Errorf("last event is not RunFinished")
	}
	if diag {
		return
	}
	for _, tr := range res.Tests {
		n := f.startCount(tr.NodeID)
		switch {
		case tr.Outcome == result.Interrupted:
			if n != 1 {
				t.Errorf("%s interrupted while running but started %d times", tr.NodeID, n)
			}
		case tr.Outcome == result.NotRun:
			if n != 0 {
				t.Errorf("%s is not_run (%s) but started %d times", tr.NodeID, tr.Reason, n)
			}
			if !strings.HasPrefix(tr.Reason, "not run: ") {
				t.Errorf("%s is not_run without a reason: %q", tr.NodeID, tr.Reason)
			}
		case tr.Worker == "" && tr.Outcome == result.Skipped:
		case tr.Outcome == result.Error && tr.Message == "collected differently by other worker processes":
			// No process could collect it: it never started.
			if n != 0 {
				t.Errorf("%s could not be collected but started %d times", tr.NodeID, n)
			}
		default:
			if n != 1 {
				t.Errorf("%s (%s) started %d times, want exactly once", tr.NodeID, tr.Outcome, n)
			}
		}
	}
}

func outcomes(res *result.Run) map[string]result.Outcome {
	m := map[string]result.Outcome{}
	for _, tr := range res.Tests {
		m[tr.NodeID] = tr.Outcome
	}
	return m
}

func testByID(t *testing.T, res *result.Run, id string) *result.Test {
	t.Helper()
	for _, tr := range res.Tests {
		if tr.NodeID == id {
			return tr
		}
	}
	t.Fatalf("no result for %s", id)
	return nil
}

func TestAllPass(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name    string
		workers int
		sizes   []int
	}
	run_ := func(t *testing.T, tc testCase) {
		t.Parallel()
		suite := suiteOf(tc.sizes...)
		f := &fakeStarter{t: t, suite: suite, testTime: time.Millisecond}
		s := &sink{}
		var cacheDirs []string
		res, err := execute(t, run.Config{
			Workers: tc.workers, Starter: f, Sink: s,
			Durations: func(dir string) map[string]time.Duration {
				cacheDirs = append(cacheDirs, dir)
				return map[string]time.Duration{suite[len(suite)-1].ID: 3 * time.Second}
			},
		})
		if err != nil {
			t.Fatalf("Execute: %v", err)
		}
		checkRun(t, f, s, res, false)
		if got := res.Summary()[result.Passed]; got != len(suite) || len(res.Tests) != len(suite) {
			t.Fatalf("passed %d of %d tests; summary %v", got, len(suite), res.Summary())
		}
		if res.Collected != len(suite) || res.Interrupted || res.WorkerDeaths != 0 || res.MaxfailReached {
			t.Errorf("run = collected %d, interrupted %v, deaths %d, maxfail %v", res.Collected, res.Interrupted, res.WorkerDeaths, res.MaxfailReached)
		}
		if res.Info.Pytest != "8.1.0" || res.Info.Python != "3.12.0" || res.Info.Rootdir != "/suite" || res.Info.Workers != tc.workers {
			t.Errorf("info = %+v", res.Info)
		}
		if !slices.Equal(cacheDirs, []string{"/suite/.pytest_cache"}) {
			t.Errorf("durations were read from %q, want the session's cache dir once", cacheDirs)
		}
		// Results keep collection order.
		for i, tr := range res.Tests {
			if tr.NodeID != suite[i].ID || tr.File != suite[i].File || tr.Line != suite[i].Line {
				t.Fatalf("result %d is %s (%s:%d), want %s", i, tr.NodeID, tr.File, tr.Line, suite[i].ID)
			}
		}
		used := map[string]bool{}
		for _, tr := range res.Tests {
			used[tr.Worker] = true

		}
		// Pull scheduling: with many tests per worker, every worker gets
		// some (with few, the first to ask may take them all).
		if len(suite) >= 10*tc.workers && len(used) != tc.workers {
			t.Errorf("only workers %v ran tests", used)
		}
		if got := s.count(result.TestFinished); got != res.Collected {
			t.Errorf("%d TestFinished events for %d collected tests", got, res.Collected)
		}
		if got := s.count(result.TestStarted); got != res.Collected {
			t.Errorf("%d TestStarted events for %d collected tests", got, res.Collected)
		}
		// Every worker ended its session normally.
		for _, p := range f.allProcs() {
			cmds := p.commands()
			if len(cmds) == 0 || cmds[len(cmds)-1].Type != protocol.CmdShutdown {
				t.Errorf("worker %d/%d: last command %v, want shutdown", p.slot, p.gen, cmds)
			}
			if p.killCalls.Load() != 0 {
				t.Errorf("worker %d/%d was killed", p.slot, p.gen)
			}
		}
		// A lone worker's lookahead want is always answered with more work
		// while work remains, so each test runs with the next one as its
		// nextitem (fixtures shared with it stay up) and only the last
		// runs alone (full teardown).
		if tc.workers == 1 {
			ran := f.procsOf(0)[0].ranTests()
			for i, r := range ran {
				want := ""
				if i+1 < len(ran) {
					want = ran[i+1].id
				}
				if r.nextitem != want {
					t.Errorf("%s ran with nextitem %q, want %q", r.id, r.nextitem, want)
				}
			}
		}
	}
	for _, tc := range []testCase{
		{name: "3 workers 30 tests in 5 modules", workers: 3, sizes: []int{6, 6, 6, 6, 6}},
		{name: "1 worker", workers: 1, sizes: []int{4, 3}},
		{name: "more workers than tests", workers: 4, sizes: []int{1, 1}},
		{name: "4 workers 200 tests", workers: 4, sizes: []int{50, 10, 40, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) { run_(t, tc) })
	}
}

func TestNoTests(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{t: t, suite: []protocol.TestInfo{}}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tests) != 0 || res.Collected != 0 {
		t.Errorf("run has %d tests", len(res.Tests))
	}
	checkRun(t, f, s, res, false)
}

func TestOutcomeClassification(t *testing.T) {
	t.Parallel()
	rep := func(when, outcome, category string) protocol.Report {
		return protocol.Report{When: when, Outcome: outcome, Category: category, Duration: 0.1,
			Longrepr: when + " " + outcome + " longrepr", Message: when + " message"}
	}
	setupOK := protocol.Report{When: "setup", Outcome: "passed", Duration: 0.1}
	teardownOK := protocol.Report{When: "teardown", Outcome: "passed", Duration: 0.1}
	type testCase struct {
		name       string
		reports    []protocol.Report
		leaks      []protocol.Leak
		leaksFail  bool
		want       result.Outcome
		wantMsg    string
		wantRepr   string
		wantExtra  int
		wantLeaks  int
		wantDurMin time.Duration
	}
	run_ := func(t *testing.T, tc testCase) {
		t.Parallel()
		id := "t.py::test_x"
		f := &fakeStarter{t: t, suite: []protocol.TestInfo{{ID: id}}, behave: map[string]behave{id: {reports: tc.reports, leaks: tc.leaks}}}
		s := &sink{}
		res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: s, LeaksFail: tc.leaksFail})
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, f, s, res, false)
		tr := testByID(t, res, id)
		if tr.Outcome != tc.want {
			t.Errorf("outcome %s, want %s", tr.Outcome, tc.want)
		}
		if tc.wantMsg != "" && tr.Message != tc.wantMsg {
			t.Errorf("message %q, want %q", tr.Message, tc.wantMsg)
		}
		if tc.wantRepr != "" && !strings.Contains(tr.Longrepr, tc.wantRepr) {
			t.Errorf("longrepr %q, want it to contain %q", tr.Longrepr, tc.wantRepr)
		}
		if len(tr.Extra) != tc.wantExtra {
			t.Errorf("extra phases %+v, want %d", tr.Extra, tc.wantExtra)
		}
		if len(tr.Leaks) != tc.wantLeaks {
			t.Errorf("leaks %q, want %d", tr.Leaks, tc.wantLeaks)
		}
		if tc.wantLeaks > 0 && len(res.Warnings) != tc.wantLeaks {
			t.Errorf("warnings %+v, want one per leak", res.Warnings)
		}
		if tr.Duration < tc.wantDurMin {
			t.Errorf("duration %v, want at least %v (the phases' sum)", tr.Duration, tc.wantDurMin)
		}
		if tr.Worker != "gw0" {
			t.Errorf("worker %q, want gw0", tr.Worker)
		}
		if got := res.Failed(); got != tc.want.IsFailure() {
			t.Errorf("run failed = %v for a %s test", got, tc.want)
		}
	}
	for _, tc := range []testCase{
		{name: "pass", reports: passReports, want: result.Passed},
		{name: "call failed", reports: []protocol.Report{setupOK, rep("call", "failed", "failed"), teardownOK},
			want: result.Failed, wantMsg: "call message", wantRepr: "call failed longrepr", wantDurMin: 300 * time.Millisecond},
		{name: "setup error", reports: []protocol.Report{rep("setup", "failed", "error"), teardownOK},
			want: result.Error, wantMsg: "setup message", wantRepr: "setup failed longrepr"},
		{name: "setup failed without category", reports: []protocol.Report{rep("setup", "failed", ""), teardownOK},
			want: result.Error},
		{name: "skipped in setup", reports: []protocol.Report{rep("setup", "skipped", "skipped"), teardownOK},
			want: result.Skipped, wantMsg: "setup message"},
		{name: "skipped in call", reports: []protocol.Report{setupOK, rep("call", "skipped", "skipped"), teardownOK},
			want: result.Skipped},
		{name: "xfailed", reports: []protocol.Report{setupOK,
			{When: "call", Outcome: "skipped", Category: "xfailed", WasXfail: "bug 123"}, teardownOK},
			want: result.XFailed, wantMsg: "bug 123"},
		{name: "xpassed", reports: []protocol.Report{setupOK,
			{When: "call", Outcome: "passed", Category: "xpassed", WasXfail: "bug 9"}, teardownOK},
			want: result.XPassed},
		{name: "strict xpass fails", reports: []protocol.Report{setupOK,
			{When: "call", Outcome: "failed", Category: "failed", Longrepr: "[XPASS(strict)] bug"}, teardownOK},
			want: result.Failed, wantRepr: "XPASS(strict)"},
		{name: "teardown error after pass", reports: []protocol.Report{setupOK, rep("call", "passed", "passed"), rep("teardown", "failed", "error")},
			want: result.Error, wantMsg: "teardown message", wantRepr: "teardown failed longrepr"},
		{name: "call failed and teardown error", reports: []protocol.Report{setupOK, rep("call", "failed", "failed"), rep("teardown", "failed", "error")},
			want: result.Failed, wantMsg: "call message", wantExtra: 1},
		{name: "no reports at all", reports: []protocol.Report{}, want: result.Error, wantMsg: "no report"},
		{name: "leak is a warning", reports: passReports, leaks: []protocol.Leak{{Kind: "process", PID: 77, What: "sleep 100"}},
			want: result.Passed, wantLeaks: 1},
		{name: "leak fails with --leaks fail", reports: passReports, leaks: []protocol.Leak{{Kind: "thread", What: "Thread-1"}},
			leaksFail: true, want: result.Failed, wantLeaks: 1, wantRepr: "Thread-1 still running"},
	} {
		t.Run(tc.name, func(t *testing.T) { run_(t, tc) })
	}
}

func TestCollectionSkipsAndWarnings(t *testing.T) {
	t.Parallel()
	suite := suiteOf(2)
	f := &fakeStarter{t: t, suite: suite, script: func(slot, gen int) script {
		return script{skips: []protocol.CollectionError{{Path: "skipped_mod.py", Message: "skipped_mod.py:3: needs a GPU"}}}
	}}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	sk := testByID(t, res, "skipped_mod.py")
	if sk.Outcome != result.Skipped || sk.Message != "needs a GPU" {
		t.Errorf("module skip = %s %q", sk.Outcome, sk.Message)
	}
	if res.Collected != 2 || res.Summary()[result.Passed] != 2 {
		t.Errorf("collected %d, summary %v", res.Collected, res.Summary())
	}
}

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

func TestMaxFail(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name      string
		maxFail   int
		flag      string
		iniMax    int // maxfail from the session options (addopts)
		failing   []int
		workers   int
		wantFails int
		// wantReason is the reason of the tests not run.
		wantReason string
	}
	run_ := func(t *testing.T, tc testCase) {
		t.Parallel()
		suite := suiteOf(20, 20)
		b := map[string]behave{}
		gate := make(chan struct{})
		for _, i := range tc.failing {
			b[suite[i].ID] = behave{reports: []protocol.Report{{When: "setup", Outcome: "passed"},
				{When: "call", Outcome: "failed", Category: "failed", Longrepr: "E assert 0"}, {When: "teardown", Outcome: "passed"}}}
		}
		// Hold a test of the second module so the run cannot finish before
		// the failures stop it; release it once the first failure is in.
		b[suite[21].ID] = behave{gate: gate}
		f := &fakeStarter{t: t, suite: suite, behave: b, maxfail: max(tc.maxFail, tc.iniMax), script: func(int, int) script {
			if tc.iniMax > 0 {
				return script{options: &protocol.Options{MaxFail: tc.iniMax}}
			}
			return script{}
		}}
		s := &sink{}
		go func() {
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if hasFailure(s) >= tc.wantFails && hasNotRun(s) {
					// The run stopped (tests were given up).
					break
				}
			}
			close(gate)
		}()
		res, err := execute(t, run.Config{Workers: tc.workers, Starter: f, Sink: s, MaxFail: tc.maxFail, MaxFailFlag: tc.flag})
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, f, s, res, false)
		sum := res.Summary()
		if !res.MaxfailReached {
			t.Errorf("MaxfailReached not set; summary %v", sum)
		}
		if sum[result.Failed] != tc.wantFails {
			t.Errorf("%d failed, want %d: no test may start once the last failure allowed is known", sum[result.Failed], tc.wantFails)
		}
		if sum[result.NotRun] == 0 {
			t.Fatalf("nothing was left not run: %v", sum)
		}
		// pytest's words: "failures" whatever the count.
		want := "stopping after " + strconv.Itoa(tc.wantFails) + " failures"
		if res.InterruptReason != want {
			t.Errorf("interrupt reason %q, want %q", res.InterruptReason, want)
		}
		for _, tr := range res.Tests {
			if tr.Outcome == result.NotRun && tr.Reason != tc.wantReason {
				t.Errorf("%s: reason %q, want %q", tr.NodeID, tr.Reason, tc.wantReason)
			}
		}
		// Once the failure that reached the limit is known, no test
		// starts, on any worker: the failing worker waited for the
		// controller's answer, the other held a test until then, and each
		// got a stop. A worker may start a test after the controller
		// learnt of the failure only while the stop is on its way (it
		// says so in a message the controller reads later, so the
		// events' order alone cannot tell): never once it has the stop,
		// and never without one coming.
		fails := 0
		var stoppedAt time.Time
		times := s.times()
		for i, ev := range s.all() {
			if ev.Kind == result.TestFinished && ev.Test.Outcome == result.Failed {
				if fails++; fails == tc.wantFails {
					stoppedAt = times[i]
				}
			}
		}
		f.mu.Lock()
		for id, at := range f.startedAt {
			if stoppedAt.IsZero() || !at.After(stoppedAt) {
				continue
			}
			p := f.startedBy[id]
			p.mu.Lock()
			stop := p.stopAt
			p.mu.Unlock()
			switch {
			case stop.IsZero():
				t.Errorf("%s started on gw%d %v after the run stopped, and no stop came", id, p.slot, at.Sub(stoppedAt))
			case at.After(stop):
				t.Errorf("%s started on gw%d %v after its stop came", id, p.slot, at.Sub(stop))
			}
		}
		f.mu.Unlock()
	}
	for _, tc := range []testCase{
		{name: "-x", maxFail: 1, flag: "-x", failing: []int{1}, workers: 2, wantFails: 1,
			wantReason: "not run: stopped after the first failure (-x)"},
		{name: "--maxfail 2", maxFail: 2, flag: "--maxfail=2", failing: []int{1, 3, 5}, workers: 1, wantFails: 2,
			wantReason: "not run: stopped after 2 failures (--maxfail=2)"},
		{name: "--maxfail 2 on two workers", maxFail: 2, flag: "--maxfail=2", failing: []int{1, 3, 5}, workers: 2, wantFails: 2,
			wantReason: "not run: stopped after 2 failures (--maxfail=2)"},
		{name: "maxfail from ini addopts", iniMax: 1, failing: []int{2}, workers: 2, wantFails: 1,
			wantReason: "not run: stopped after the first failure (-x)"},
	} {
		t.Run(tc.name, func(t *testing.T) { run_(t, tc) })
	}
}

func hasNotRun(s *sink) bool {
	for _, ev := range s.all() {
		if ev.Kind == result.TestFinished && ev.Test.Outcome == result.NotRun {
			return true
		}
	}
	return false
}

func hasFailure(s *sink) int {
	n := 0
	for _, ev := range s.all() {
		if ev.Kind == result.TestFinished && ev.Test.Outcome == result.Failed {
			n++
		}
	}
	return n
}

func TestCollectionErrors(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name     string
		cont     bool // --continue-on-collection-errors on herd's side
		iniCont  bool // ... or in the session options
		wantRun  bool
		nErrors  int
		wantText string
	}
	run_ := func(t *testing.T, tc testCase) {
		t.Parallel()
		suite := suiteOf(3)
		var errs []protocol.CollectionError
		for i := 0; i < tc.nErrors; i++ {
			errs = append(errs, protocol.CollectionError{Path: "broken" + strconv.Itoa(i) + ".py", Message: "ImportError: no module named foo"})
		}
		f := &fakeStarter{t: t, suite: suite, script: func(int, int) script {
			return script{errors: errs, options: &protocol.Options{ContinueOnCollectionErrors: tc.iniCont}}
		}}
		s := &sink{}
		res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s, ContinueOnCollectionErrors: tc.cont})
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, f, s, res, false)
		if len(res.CollectionErrors) != tc.nErrors {
			t.Errorf("%d collection errors, want %d", len(res.CollectionErrors), tc.nErrors)
		}
		if tc.wantRun {
			if res.Interrupted || res.Summary()[result.Passed] != len(suite) {
				t.Errorf("interrupted %v, summary %v; want every test run", res.Interrupted, res.Summary())
			}
			return
		}
		if !res.Interrupted || res.InterruptReason != tc.wantText {
			t.Errorf("interrupted %v (%q), want %q", res.Interrupted, res.InterruptReason, tc.wantText)
		}
		if res.Summary()[result.NotRun] != len(suite) {
			t.Errorf("summary %v, want every test not run", res.Summary())
		}
		for _, tr := range res.Tests {
			if !strings.Contains(tr.Reason, "collection errors") {
				t.Errorf("%s: reason %q", tr.NodeID, tr.Reason)
			}
		}
	}
	for _, tc := range []testCase{
		{name: "one error stops the run", nErrors: 1, wantText: "1 error during collection"},
		{name: "two errors", nErrors: 2, wantText: "2 errors during collection"},
		{name: "continue on collection errors", nErrors: 1, cont: true, wantRun: true},
		{name: "continue from ini addopts", nErrors: 1, iniCont: true, wantRun: true},
	} {
		t.Run(tc.name, func(t *testing.T) { run_(t, tc) })
	}
}

// waitFor polls cond until it holds, failing the test after 2s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestInterrupt(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name string
		// then is what happens after the first interrupt, with the
		// interrupts channel, the gate of the running tests and the clock.
		then func(interrupts chan<- struct{}, gate chan struct{}, c *clock)
		// wantRunning is the outcome of the tests running at the interrupt.
		wantRunning result.Outcome
		wantReason  string
	}
	run_ := func(t *testing.T, tc testCase) {
		t.Parallel()
		suite := suiteOf(10, 10)
		gate := make(chan struct{})
		b := map[string]behave{}
		for _, ti := range suite {
			b[ti.ID] = behave{gate: gate}
		}
		f := &fakeStarter{t: t, suite: suite, behave: b}
		s := &sink{}
		c := &clock{}
		interrupts := make(chan struct{}, 2)
		go func() {
			waitFor(t, "two running tests", func() bool { return s.count(result.TestStarted) >= 2 })
			interrupts <- struct{}{}
			tc.then(interrupts, gate, c)
		}()
		res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s, Now: c.Now, Interrupts: interrupts})
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, f, s, res, false)
		if !res.Interrupted || res.InterruptReason != "KeyboardInterrupt" {
			t.Errorf("interrupted %v %q", res.Interrupted, res.InterruptReason)
		}
		// Only the two tests running at the interrupt have an outcome:
		// no test starts after it.
		sum := res.Summary()
		if sum[result.NotRun] != len(suite)-2 || sum[tc.wantRunning] != 2 {
			t.Errorf("summary %v, want 2 %s and the rest not run", sum, tc.wantRunning)
		}
		for _, tr := range res.Tests {
			if f.startCount(tr.NodeID) == 1 {
				if tr.Outcome != tc.wantRunning || (tc.wantReason != "" && tr.Reason != tc.wantReason) {
					t.Errorf("%s was running: %s %q, want %s %q", tr.NodeID, tr.Outcome, tr.Reason, tc.wantRunning, tc.wantReason)
				}
				continue
			}
			if tr.Outcome != result.NotRun || tr.Reason != "not run: interrupted (Ctrl-C)" {
				t.Errorf("%s: %s %q, want not run: interrupted (Ctrl-C)", tr.NodeID, tr.Outcome, tr.Reason)
			}
		}
	}
	for _, tc := range []testCase{
		{
			name: "running tests finish",
			then: func(_ chan<- struct{}, gate chan struct{}, _ *clock) {
				time.Sleep(50 * time.Millisecond)
				close(gate)
			},
			wantRunning: result.Passed,
		},
		{
			name: "running tests are killed after the grace period",
			then: func(_ chan<- struct{}, _ chan struct{}, c *clock) {
				time.Sleep(50 * time.Millisecond)
				c.advance(run.InterruptGrace + time.Second)
			},
			wantRunning: result.Interrupted, wantReason: "still running 2s after Ctrl-C, killed",
		},
		{
			name: "a second interrupt kills at once",
			then: func(interrupts chan<- struct{}, _ chan struct{}, _ *clock) {
				time.Sleep(50 * time.Millisecond)
				interrupts <- struct{}{}
			},
			wantRunning: result.Interrupted, wantReason: "killed at the second Ctrl-C",
		},
	} {
		t.Run(tc.name, func(t *testing.T) { run_(t, tc) })
	}
}

// An interrupt before any worker collected: the run ends interrupted, with
// every test not run.
func TestInterruptBeforeCollection(t *testing.T) {
	t.Parallel()
	suite := suiteOf(4)
	release := make(chan struct{})
	f := &fakeStarter{t: t, suite: suite, script: func(int, int) script { return script{waitBeforeCollect: release} }}
	s := &sink{}
	interrupts := make(chan struct{}, 1)
	go func() {
		waitFor(t, "workers started", func() bool { return s.count(result.WorkerStarted) == 2 })
		interrupts <- struct{}{}
		time.Sleep(20 * time.Millisecond)
		close(release)
	}()
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s, Interrupts: interrupts})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	if !res.Interrupted || res.Summary()[result.NotRun] != len(suite) {
		t.Errorf("interrupted %v, summary %v", res.Interrupted, res.Summary())
	}
}

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

// Workers that collected different tests: a worker never receives a test it
// did not collect, and every test still runs once.
func TestDifferentCollections(t *testing.T) {
	t.Parallel()
	suite := suiteOf(6, 6, 6)
	var subset []protocol.TestInfo
	for _, ti := range suite {
		if !strings.HasPrefix(ti.ID, "mod1.py") {
			subset = append(subset, ti)
		}
	}
	gw0Collected := make(chan struct{})
	f := &fakeStarter{t: t, suite: suite, script: func(slot, gen int) script {
		if slot == 0 {
			return script{collectedSignal: gw0Collected}
		}
		// gw1 collects after gw0 (whose collection becomes the run's) and
		// lacks mod1.py.
		return script{collect: subset, waitBeforeCollect: gw0Collected}
	}}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	if res.Summary()[result.Passed] != len(suite) {
		t.Errorf("summary %v", res.Summary())
	}
	for _, p := range f.procsOf(1) {
		for _, id := range p.receivedIDs() {
			if strings.HasPrefix(id, "mod1.py") {
				t.Errorf("gw1 received %s, which it did not collect", id)
			}
		}
	}
}

// The only worker that collected some tests dies; its replacement and the
// other worker lack them. The run must end rather than wait for a worker that
// can run them.
func TestDifferentCollectionsNobodyCanRun(t *testing.T) {
	t.Parallel()
	suite := suiteOf(4, 4)
	var subset []protocol.TestInfo
	for _, ti := range suite {
		if !strings.HasPrefix(ti.ID, "mod1.py") {
			subset = append(subset, ti)
		}
	}
	gw0Collected := make(chan struct{})
	f := &fakeStarter{t: t, suite: suite,
		behave: map[string]behave{suite[0].ID: {crash: "SIGSEGV"}},
		script: func(slot, gen int) script {
			if slot == 0 && gen == 1 {
				return script{collectedSignal: gw0Collected}
			}
			return script{collect: subset, waitBeforeCollect: gw0Collected}
		}}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Tests {
		switch {
		case tr.NodeID == suite[0].ID:
			if tr.Outcome != result.Crashed {
				t.Errorf("%s: %s, want crashed", tr.NodeID, tr.Outcome)
			}
		case strings.HasPrefix(tr.NodeID, "mod1.py"):
			// Nobody alive can run it: an error that says why (as the
			// worker plugin reports a test it did not collect), not a
			// silent not_run and not a hang.
			if tr.Outcome != result.Error || !strings.Contains(tr.Longrepr, "no live worker collected "+tr.NodeID) {
				t.Errorf("%s: %s %q", tr.NodeID, tr.Outcome, tr.Longrepr)
			}
			if n := f.startCount(tr.NodeID); n != 0 {
				t.Errorf("%s started %d times", tr.NodeID, n)
			}
		default:
			if tr.Outcome != result.Passed || f.startCount(tr.NodeID) != 1 {
				t.Errorf("%s: %s, started %d times", tr.NodeID, tr.Outcome, f.startCount(tr.NodeID))
			}
		}
	}
	if got := s.count(result.TestFinished); got != len(suite) {
		t.Errorf("%d TestFinished events for %d tests", got, len(suite))
	}
	for _, p := range f.allProcs() {
		if p.slot == 0 && p.gen == 1 {
			continue
		}
		for _, id := range p.receivedIDs() {
			if strings.HasPrefix(id, "mod1.py") {
				t.Errorf("worker %d/%d received %s, which it did not collect", p.slot, p.gen, id)
			}
		}
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

// A crash counts towards --maxfail; the crashed worker's queued tests are
// then not run rather than requeued.
func TestMaxFailByCrash(t *testing.T) {
	t.Parallel()
	suite := suiteOf(12)
	f := &fakeStarter{t: t, suite: suite, behave: map[string]behave{suite[3].ID: {crash: "SIGBUS"}}}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: s, MaxFail: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	sum := res.Summary()
	if !res.MaxfailReached || sum[result.Crashed] != 1 || sum[result.Passed] != 3 || sum[result.NotRun] != 8 {
		t.Errorf("maxfail %v, summary %v; want 3 passed, 1 crashed, 8 not run", res.MaxfailReached, sum)
	}
	if n := len(f.procsOf(0)); n != 1 {
		t.Errorf("%d processes: no replacement is needed after maxfail", n)
	}
}

// A closed Interrupts channel is not an interrupt.
func TestClosedInterrupts(t *testing.T) {
	t.Parallel()
	suite := suiteOf(5)
	f := &fakeStarter{t: t, suite: suite}
	s := &sink{}
	interrupts := make(chan struct{})
	close(interrupts)
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s, Interrupts: interrupts})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	if res.Interrupted || res.Summary()[result.Passed] != len(suite) {
		t.Errorf("interrupted %v, summary %v", res.Interrupted, res.Summary())
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

// The tail of the run: tests handed to a worker that then runs a long test
// move to the worker that went idle (revoke), instead of waiting behind it.
// Each still runs exactly once.
func TestTailMovesToIdleWorker(t *testing.T) {
	t.Parallel()
	for _, revoke := range []bool{true, false} {
		t.Run(fmt.Sprintf("revoke=%v", revoke), func(t *testing.T) {
			t.Parallel()
			suite := suiteOf(6)
			gate := make(chan struct{})
			long := suite[0].ID
			// Each test takes a moment, so the worker that pops the long
			// test still gets the next one with its request for more.
			f := &fakeStarter{t: t, suite: suite, behave: map[string]behave{long: {gate: gate}}, revoke: revoke,
				testTime: 20 * time.Millisecond}
			s := &sink{}
			go func() {
				// Hold the long test until the others are done, or 2 s.
				for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					if s.count(result.TestFinished) >= len(suite)-1 {
						break
					}
				}
				close(gate)
			}()
			res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
			if err != nil {
				t.Fatal(err)
			}
			checkRun(t, f, s, res, false)
			// Did every short test finish while the long one ran?
			var longWorker string
			shortBefore := 0
			for _, ev := range s.all() {
				if ev.Kind != result.TestFinished {
					continue
				}
				if ev.NodeID == long {
					longWorker = ev.Worker
					break
				}
				shortBefore++
			}
			if revoke {
				if shortBefore != len(suite)-1 {
					t.Errorf("%d of %d short tests ran while the long one held %s; the others waited behind it", shortBefore, len(suite)-1, longWorker)
				}
				revoked := 0
				for _, p := range f.allProcs() {
					for _, c := range p.commands() {
						if c.Type == protocol.CmdRevoke {
							revoked++
							if c.Gen == 0 || len(c.IDs) == 0 {
								t.Errorf("revoke without generation or tests: %+v", c)
							}
						}
					}
				}
				if revoked == 0 {
					t.Errorf("nothing was taken back")
				}
			} else if shortBefore == len(suite)-1 {
				// Without a way to take tests back the test must show the
				// wait it is there to catch, or it proves nothing.
				t.Errorf("with no take-back, every short test still ran before the long one: the case does not exercise the tail")
			}
		})
	}
}

// Under --continue-on-collection-errors, pytest counts a file that failed
// to collect towards --maxfail: with -x no test runs.
func TestMaxFailCountsCollectionErrors(t *testing.T) {
	t.Parallel()
	suite := suiteOf(3)
	errs := []protocol.CollectionError{{Path: "broken.py", Message: "ImportError"}}
	for _, tc := range []struct {
		maxFail int
		stop    bool
	}{{1, true}, {2, false}} {
		f := &fakeStarter{t: t, suite: suite, maxfail: tc.maxFail, script: func(int, int) script { return script{errors: errs} }}
		s := &sink{}
		res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s, MaxFail: tc.maxFail, ContinueOnCollectionErrors: true})
		if err != nil {
			t.Fatal(err)
		}
		checkRun(t, f, s, res, false)
		sum := res.Summary()
		if tc.stop {
			if !res.MaxfailReached || res.InterruptReason != "stopping after 1 failures" || sum[result.NotRun] != len(suite) {
				t.Errorf("maxfail %d: reached %v %q, summary %v; want the run stopped before any test", tc.maxFail, res.MaxfailReached, res.InterruptReason, sum)
			}
		} else if res.MaxfailReached || sum[result.Passed] != len(suite) {
			t.Errorf("maxfail %d: reached %v, summary %v; want every test run", tc.maxFail, res.MaxfailReached, sum)
		}
	}
}

// A Ctrl-C after -x stopped the run ends it as interrupted (exit 2), as
// pytest's KeyboardInterrupt does, and kills what still runs.
func TestInterruptAfterMaxFail(t *testing.T) {
	t.Parallel()
	suite := suiteOf(10, 10)
	gate, failNow := make(chan struct{}), make(chan struct{})
	b := map[string]behave{
		// The failure comes once the test that never ends runs.
		suite[0].ID: {gate: failNow, reports: []protocol.Report{{When: "setup", Outcome: "passed"},
			{When: "call", Outcome: "failed", Category: "failed", Longrepr: "E assert 0"}, {When: "teardown", Outcome: "passed"}}},
		suite[10].ID: {gate: gate},
	}
	f := &fakeStarter{t: t, suite: suite, behave: b, maxfail: 1}
	s := &sink{}
	interrupts := make(chan struct{}, 2)
	go func() {
		waitFor(t, "the held test to start", func() bool { return f.startCount(suite[10].ID) > 0 })
		close(failNow)
		waitFor(t, "the run to stop", func() bool { return hasFailure(s) > 0 && hasNotRun(s) })
		interrupts <- struct{}{}
		interrupts <- struct{}{}
	}()
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s, MaxFail: 1, Interrupts: interrupts})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	if !res.Interrupted || res.MaxfailReached || res.InterruptReason != "KeyboardInterrupt" {
		t.Errorf("interrupted %v, maxfail %v, reason %q; want a KeyboardInterrupt run", res.Interrupted, res.MaxfailReached, res.InterruptReason)
	}
	if got := testByID(t, res, suite[10].ID); got.Outcome != result.Interrupted && got.Outcome != result.NotRun {
		t.Errorf("%s: %s, want interrupted (or not run, had it not started)", got.NodeID, got.Outcome)
	}
	if n := res.Summary()[result.Failed]; n != 1 {
		t.Errorf("%d failed, want 1", n)
	}
}

// TestCheckRefusesBeforeAnyTest: a Check error (an output file that cannot
// be written) ends the run as soon as the session's options are known:
// Execute returns it and no test starts.
func TestCheckRefusesBeforeAnyTest(t *testing.T) {
	t.Parallel()
	suite := suiteOf(3, 3)
	f := &fakeStarter{t: t, suite: suite, testTime: time.Millisecond,
		script: func(slot, gen int) script {
			return script{options: &protocol.Options{JUnitXML: "/etc/passwd/junit.xml"}}
		}}
	refusal := errors.New("herd: --junitxml /etc/passwd/junit.xml: cannot be written")
	var seen string
	res, err := execute(t, run.Config{
		Workers: 2, Starter: f, Sink: &sink{},
		Check: func(info result.Info) error {
			seen = info.Options.JUnitXML
			return refusal
		},
	})
	if !errors.Is(err, refusal) || res != nil {
		t.Fatalf("Execute = %v, %v; want the Check's error", res, err)
	}
	if seen != "/etc/passwd/junit.xml" {
		t.Errorf("Check saw junitxml %q, want the session's", seen)
	}
	for _, tc := range suite {
		if n := f.startCount(tc.ID); n != 0 {
			t.Errorf("%s started %d times after the Check refused the run", tc.ID, n)
		}
	}
}

// fakeNodes is xdist's controller for the dispatcher: it answers
// ConfigureNode at once and records every call.
type fakeNodes struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (n *fakeNodes) ConfigureNode(worker string, done func(string, error)) {
	n.mu.Lock()
	n.calls = append(n.calls, "configure "+worker)
	fail := n.fail
	n.mu.Unlock()
	go done("wi-"+worker, fail)
}

func (n *fakeNodes) NodeReady(worker string, pid int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, "ready "+worker)
}

func (n *fakeNodes) NodeDown(worker, crash, output string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, fmt.Sprintf("down %s error=%q output=%q", worker, crash, output))
}

func TestXdistNodesConfiguredBeforeStartAndDownAfterEnd(t *testing.T) {
	t.Parallel()
	suite := suiteOf(6)
	crasher := suite[2].ID
	f := &fakeStarter{t: t, suite: suite, behave: map[string]behave{crasher: {crash: "SIGSEGV"}},
		script: func(slot, gen int) script { return script{nodeIn: true} }}
	nodes := &fakeNodes{}
	res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: &sink{}, Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	if tr := testByID(t, res, crasher); tr.Outcome != result.Crashed {
		t.Fatalf("%s: %s, want crashed", crasher, tr.Outcome)
	}
	procs := f.procsOf(0)
	if len(procs) < 2 {
		t.Fatalf("%d processes, want the crashed one and its replacement", len(procs))
	}
	for i, p := range procs {
		p.mu.Lock()
		wi := p.workerInput
		p.mu.Unlock()
		if wi != "wi-gw0" {
			t.Errorf("process %d got workerinput %q", i, wi)
		}
	}
	nodes.mu.Lock()
	got := strings.Join(nodes.calls, "\n")
	nodes.mu.Unlock()
	want := "configure gw0\nready gw0\ndown gw0 error=\"Not properly terminated\" output=\"\"\n" +
		"configure gw0\nready gw0\ndown gw0 error=\"\" output=\"out-gw0\""
	if !strings.HasPrefix(got, want) {
		t.Errorf("controller calls:\n%s\nwant them to start with:\n%s", got, want)
	}
}

func TestXdistNodeFailureEndsRun(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{t: t, suite: suiteOf(3), script: func(slot, gen int) script { return script{nodeIn: true} }}
	boom := errors.New("xdist controller: pytest_configure_node for gw0 raised KeyError: 'memo'")
	_, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: &sink{}, Nodes: &fakeNodes{fail: boom}})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the controller's failure", err)
	}
}
