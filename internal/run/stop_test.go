package run_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
)

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
