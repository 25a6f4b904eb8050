package run_test

import (
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/schedule"
)

// The Affected hook chooses before Select: the tests it leaves out never
// run and count as unaffected, apart from Select's deselected ones.
func TestAffectedHook(t *testing.T) {
	t.Parallel()
	suite := suiteOf(6)
	f := &fakeStarter{t: t, suite: suite, testTime: time.Millisecond}
	s := &sink{}
	info := &result.Affected{Selected: 3, Total: 6}
	res, err := execute(t, run.Config{
		Workers: 2, Starter: f, Sink: s,
		Affected: func(tests []protocol.TestInfo) ([]bool, *result.Affected, error) {
			keep := make([]bool, len(tests))
			for i := range keep {
				keep[i] = i%2 == 0
			}
			return keep, info, nil
		},
		Select: func(tests []protocol.TestInfo, _ []schedule.Policy, _ map[string]time.Duration) ([]bool, error) {
			if len(tests) != 3 {
				t.Errorf("Select saw %d tests, want the 3 Affected kept", len(tests))
			}
			keep := make([]bool, len(tests))
			keep[0], keep[1] = true, true
			return keep, nil
		},
	})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	checkRun(t, f, s, res, false)
	if res.Unaffected != 3 || res.Deselected != 1 || res.Collected != 2 || res.Affected != info {
		t.Errorf("unaffected %d deselected %d collected %d affected %v; want 3, 1, 2 and the hook's info",
			res.Unaffected, res.Deselected, res.Collected, res.Affected)
	}
	for _, tr := range res.Tests {
		if tr.NodeID != suite[0].ID && tr.NodeID != suite[2].ID {
			t.Errorf("%s ran", tr.NodeID)
		}
	}
}
