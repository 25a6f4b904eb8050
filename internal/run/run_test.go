package run_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/report"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
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

// waitFor polls cond until it holds, failing the test after 2s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
