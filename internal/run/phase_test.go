package run

import (
	"testing"

	"github.com/herd-run/herd/internal/protocol"
)

// TestPhaseOf: the phase board names the phase of a crash when it is about
// the test herd believes was running; otherwise the reports received tell.
func TestPhaseOf(t *testing.T) {
	setupPassed := []protocol.Report{{When: "setup", Outcome: "passed"}}
	callPassed := append(setupPassed, protocol.Report{When: "call", Outcome: "passed"})
	tests := []struct {
		name    string
		reports []protocol.Report
		board   protocol.Board
		starts  uint32
		want    string
	}{
		{"no board, no reports", nil, protocol.Board{}, 1, "setup"},
		{"no board, setup reported", setupPassed, protocol.Board{}, 1, "call"},
		{"no board, call reported", callPassed, protocol.Board{}, 1, "teardown"},
		{"board about this test", nil, protocol.Board{Seq: 3, Phase: "teardown"}, 3, "teardown"},
		{"board wins over reports", setupPassed, protocol.Board{Seq: 2, Phase: "teardown"}, 2, "teardown"},
		// The worker wrote the next test's start on the board but died
		// before its start message went out: the board is not about the
		// test herd holds as running.
		{"board one test ahead", setupPassed, protocol.Board{Seq: 4, Phase: "setup"}, 3, "call"},
	}
	for _, tc := range tests {
		if got := phaseOf(tc.reports, tc.board, tc.starts); got != tc.want {
			t.Errorf("%s: phaseOf = %q, want %q", tc.name, got, tc.want)
		}
	}
}
