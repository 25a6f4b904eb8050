package run_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
)

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
