package run

import (
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
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

// TestFinalizePhases: a test's result keeps the phase its outcome came
// from, each phase's duration and its teardown report's output, which
// JUnit's junit_logging and junit_duration_report need.
func TestFinalizePhases(t *testing.T) {
	out := []protocol.Section{{Title: "Captured stdout call", Content: "hi\n"}, {Title: "Captured stdout teardown", Content: "bye\n"}}
	tests := []struct {
		name    string
		reports []protocol.Report
		when    string
		output  int
	}{
		{"passed", []protocol.Report{
			{When: "setup", Outcome: "passed", Duration: 0.5},
			{When: "call", Outcome: "passed", Category: "passed", Duration: 0.25, Sections: out[:1]},
			{When: "teardown", Outcome: "passed", Duration: 0.125, Sections: out}}, "call", 2},
		{"setup error", []protocol.Report{
			{When: "setup", Outcome: "failed", Category: "error", Duration: 0.5},
			{When: "teardown", Outcome: "passed", Duration: 0.125}}, "setup", 0},
		{"teardown error after a pass", []protocol.Report{
			{When: "setup", Outcome: "passed", Duration: 0.5},
			{When: "call", Outcome: "passed", Category: "passed", Duration: 0.25},
			{When: "teardown", Outcome: "failed", Category: "error", Duration: 0.125, Sections: out}}, "teardown", 2},
	}
	for _, tc := range tests {
		var res result.Test
		finalize(&res, tc.reports)
		if res.When != tc.when || len(res.Output) != tc.output {
			t.Errorf("%s: When %q, %d output sections; want %q, %d", tc.name, res.When, len(res.Output), tc.when, tc.output)
		}
		var sum time.Duration
		for _, r := range tc.reports {
			if got, want := res.PhaseDurations[phaseRank(r.When)], time.Duration(r.Duration*float64(time.Second)); got != want {
				t.Errorf("%s: %s took %v, want %v", tc.name, r.When, got, want)
			}
			sum += time.Duration(r.Duration * float64(time.Second))
		}
		if res.Duration != sum {
			t.Errorf("%s: duration %v, want %v", tc.name, res.Duration, sum)
		}
	}
}
