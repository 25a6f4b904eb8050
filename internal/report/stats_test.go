package report

import (
	"fmt"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

func TestFormatDuration(t *testing.T) {
	// Expected values are what pytest's format_session_duration returns.
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.00s"},
		{4 * time.Millisecond, "0.00s"},
		{10 * time.Millisecond, "0.01s"},
		{4210 * time.Millisecond, "4.21s"},
		{59999 * time.Millisecond, "60.00s"},
		{60 * time.Second, "60.00s (0:01:00)"},
		{75120 * time.Millisecond, "75.12s (0:01:15)"},
		{3725500 * time.Millisecond, "3725.50s (1:02:05)"},
		{90061 * time.Second, "90061.00s (1 day, 1:01:01)"},
		{2*24*time.Hour + time.Second, "172801.00s (2 days, 0:00:01)"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// countsRun builds a run with the given number of tests of each outcome.
func countsRun(counts map[result.Outcome]int, deselected, warnings, collErrors int, d time.Duration) *result.Run {
	run := &result.Run{Deselected: deselected, Duration: d}
	for _, o := range result.Outcomes {
		for i := 0; i < counts[o]; i++ {
			run.Tests = append(run.Tests, &result.Test{NodeID: fmt.Sprintf("t.py::%s%d", o, i), Outcome: o})
		}
	}
	for i := 0; i < warnings; i++ {
		run.Warnings = append(run.Warnings, result.Warning{Message: "w"})
	}
	for i := 0; i < collErrors; i++ {
		run.CollectionErrors = append(run.CollectionErrors, result.CollectionError{Path: fmt.Sprintf("bad%d.py", i)})
	}
	run.Collected = len(run.Tests)
	return run
}

// TestClosingLinePytest checks the closing line against lines pytest 7.2.1
// printed for suites with the same counts, framed, quiet and coloured.
func TestClosingLinePytest(t *testing.T) {
	type counts = map[result.Outcome]int
	tests := []struct {
		name                  string
		counts                counts
		deselected, warns     int
		d                     time.Duration
		framed, quiet, colour string
	}{
		{
			name:   "one passed",
			counts: counts{result.Passed: 1}, d: ms(10),
			framed: "============================== 1 passed in 0.01s ===============================",
			quiet:  "1 passed in 0.01s",
			colour: "\x1b[32m============================== \x1b[32m\x1b[1m1 passed\x1b[0m\x1b[32m in 0.01s\x1b[0m\x1b[32m ===============================\x1b[0m",
		},
		{
			name:       "everything",
			counts:     counts{result.Failed: 2, result.Passed: 134, result.Skipped: 3, result.XFailed: 2, result.XPassed: 1, result.Error: 1},
			deselected: 1, warns: 4, d: ms(120),
			framed: "= 2 failed, 134 passed, 3 skipped, 1 deselected, 2 xfailed, 1 xpassed, 4 warnings, 1 error in 0.12s =",
			quiet:  "2 failed, 134 passed, 3 skipped, 1 deselected, 2 xfailed, 1 xpassed, 4 warnings, 1 error in 0.12s",
			colour: "\x1b[31m= \x1b[31m\x1b[1m2 failed\x1b[0m, \x1b[32m134 passed\x1b[0m, \x1b[33m3 skipped\x1b[0m, \x1b[33m1 deselected\x1b[0m, \x1b[33m2 xfailed\x1b[0m, \x1b[33m1 xpassed\x1b[0m, \x1b[33m4 warnings\x1b[0m, \x1b[31m\x1b[1m1 error\x1b[0m\x1b[31m in 0.12s\x1b[0m\x1b[31m =\x1b[0m",
		},
		{
			name:   "singular error",
			counts: counts{result.Failed: 1, result.Error: 1}, d: ms(30),
			framed: "========================== 1 failed, 1 error in 0.03s ==========================",
			quiet:  "1 failed, 1 error in 0.03s",
			colour: "\x1b[31m========================== \x1b[31m\x1b[1m1 failed\x1b[0m, \x1b[31m\x1b[1m1 error\x1b[0m\x1b[31m in 0.03s\x1b[0m\x1b[31m ==========================\x1b[0m",
		},
		{
			name:   "plural errors singular warning",
			counts: counts{result.Passed: 1, result.Error: 2}, warns: 1, d: ms(30),
			framed: "==================== 1 passed, 1 warning, 2 errors in 0.03s ====================",
			quiet:  "1 passed, 1 warning, 2 errors in 0.03s",
		},
		{
			name:       "all deselected",
			deselected: 3, d: ms(10),
			framed: "============================ 3 deselected in 0.01s =============================",
			quiet:  "3 deselected in 0.01s",
			colour: "\x1b[33m============================ \x1b[33m\x1b[1m3 deselected\x1b[0m\x1b[33m in 0.01s\x1b[0m\x1b[33m =============================\x1b[0m",
		},
		{
			name:   "skipped only",
			counts: counts{result.Skipped: 1}, d: ms(10),
			framed: "============================== 1 skipped in 0.01s ==============================",
			quiet:  "1 skipped in 0.01s",
		},
		{
			name:   "xpassed only",
			counts: counts{result.XPassed: 1}, d: ms(10),
			framed: "============================== 1 xpassed in 0.01s ==============================",
			quiet:  "1 xpassed in 0.01s",
		},
		{
			name: "nothing ran", d: ms(10),
			framed: "============================ no tests ran in 0.01s =============================",
			quiet:  "no tests ran in 0.01s",
		},
		{
			name:   "passed with warning",
			counts: counts{result.Passed: 3}, warns: 1, d: ms(10),
			framed: "========================= 3 passed, 1 warning in 0.01s =========================",
			quiet:  "3 passed, 1 warning in 0.01s",
			colour: "\x1b[33m========================= \x1b[32m3 passed\x1b[0m, \x1b[33m\x1b[1m1 warning\x1b[0m\x1b[33m in 0.01s\x1b[0m\x1b[33m =========================\x1b[0m",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := countsRun(tt.counts, tt.deselected, tt.warns, 0, tt.d)
			if got := ClosingLine(run, 80, false, false); got != tt.framed {
				t.Errorf("framed:\n got %q\nwant %q", got, tt.framed)
			}
			if got := ClosingLine(run, 80, true, false); got != tt.quiet {
				t.Errorf("quiet:\n got %q\nwant %q", got, tt.quiet)
			}
			if got := ClosingText(run); got != tt.quiet {
				t.Errorf("ClosingText:\n got %q\nwant %q", got, tt.quiet)
			}
			if tt.colour != "" {
				if got := ClosingLine(run, 80, false, true); got != tt.colour {
					t.Errorf("colour:\n got %q\nwant %q", got, tt.colour)
				}
			}
		})
	}
}

// TestClosingLineHerdOutcomes checks where herd's own outcomes go: crashed
// and timed out right after failed, not run last, and collection errors
// counted as errors.
func TestClosingLineHerdOutcomes(t *testing.T) {
	type counts = map[result.Outcome]int
	tests := []struct {
		name       string
		counts     counts
		collErrors int
		want       string
		mainColour string
	}{
		{"crash and timeout", counts{result.Failed: 1, result.Crashed: 2, result.Timeout: 1, result.Passed: 5, result.NotRun: 3},
			0, "1 failed, 2 crashed, 1 timed out, 5 passed, 3 not run in 4.21s", "red"},
		{"crash alone is red", counts{result.Crashed: 1, result.Passed: 1}, 0, "1 crashed, 1 passed in 4.21s", "red"},
		{"not run alone is yellow", counts{result.Passed: 2, result.NotRun: 1}, 0, "2 passed, 1 not run in 4.21s", "yellow"},
		{"collection errors", counts{result.Passed: 3}, 2, "3 passed, 2 errors in 4.21s", "red"},
		{"all outcomes", counts{result.Failed: 1, result.Crashed: 1, result.Timeout: 1, result.Passed: 1, result.Skipped: 1,
			result.XFailed: 1, result.XPassed: 1, result.Error: 1, result.NotRun: 1}, 0,
			"1 failed, 1 crashed, 1 timed out, 1 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 error, 1 not run in 4.21s", "red"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := countsRun(tt.counts, 0, 0, tt.collErrors, 4210*time.Millisecond)
			if got := ClosingText(run); got != tt.want {
				t.Errorf("ClosingText = %q, want %q", got, tt.want)
			}
			if _, main := SummaryStats(run); main != tt.mainColour {
				t.Errorf("main colour = %q, want %q", main, tt.mainColour)
			}
		})
	}
}

func TestClosingLineCountsExtraPhasesAsErrors(t *testing.T) {
	run := countsRun(map[result.Outcome]int{result.Failed: 1}, 0, 0, 0, ms(10))
	run.Tests[0].Extra = []result.Phase{{When: "teardown", Message: "OSError: cleanup"}}
	// pytest reports a call failure plus a teardown error as both.
	if got, want := ClosingText(run), "1 failed, 1 error in 0.01s"; got != want {
		t.Errorf("ClosingText = %q, want %q", got, want)
	}
}

func TestCollectedLine(t *testing.T) {
	// Expected values are pytest 7.2.1's own lines.
	// selected is run.Collected: the tests left after deselection.
	tests := []struct {
		selected, deselected, errors, skips int
		want                                string
	}{
		{0, 0, 0, 0, "collected 0 items"},
		{1, 0, 0, 0, "collected 1 item"},
		{8, 0, 0, 0, "collected 8 items"},
		{2, 1, 0, 0, "collected 3 items / 1 deselected / 2 selected"},
		{0, 3, 0, 0, "collected 3 items / 3 deselected / 0 selected"},
		{3, 0, 1, 0, "collected 3 items / 1 error"},
		{1, 0, 2, 0, "collected 1 item / 2 errors"},
		{0, 0, 0, 1, "collected 0 items / 1 skipped"},
		{2, 1, 1, 2, "collected 3 items / 1 error / 1 deselected / 2 skipped / 2 selected"},
	}
	for _, tt := range tests {
		run := &result.Run{Collected: tt.selected, Deselected: tt.deselected}
		for i := 0; i < tt.errors; i++ {
			run.CollectionErrors = append(run.CollectionErrors, result.CollectionError{Path: "x.py"})
		}
		for i := 0; i < tt.skips; i++ {
			// A module skipped at collection: named by its path, no worker.
			run.Tests = append(run.Tests, &result.Test{NodeID: fmt.Sprintf("test_skipped%d.py", i), Outcome: result.Skipped})
		}
		if got := CollectedLine(run); got != tt.want {
			t.Errorf("CollectedLine(%d selected, %d deselected, %d errors, %d skips) = %q, want %q",
				tt.selected, tt.deselected, tt.errors, tt.skips, got, tt.want)
		}
	}
}

func TestSepLine(t *testing.T) {
	// Expected values are pytest's TerminalWriter.sep output at width 80.
	tests := []struct {
		char, title, want string
	}{
		{"=", "test session starts", "============================= test session starts =============================="},
		{"=", "ERRORS", "==================================== ERRORS ===================================="},
		{"_", "ERROR at setup of test_err", "__________________________ ERROR at setup of test_err __________________________"},
		{"_", "TestC.test_m", "_________________________________ TestC.test_m _________________________________"},
		{"-", "Captured stdout call", "----------------------------- Captured stdout call -----------------------------"},
		{"!", "Interrupted: 1 error during collection", "!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!"},
		{"=", "", "================================================================================"},
		{"=", "a title far longer than the whole terminal is wide, which pytest still frames with one", "= a title far longer than the whole terminal is wide, which pytest still frames with one ="},
	}
	for _, tt := range tests {
		if got := sepLine(tt.char, tt.title, 80); got != tt.want {
			t.Errorf("sepLine(%q, %q):\n got %q\nwant %q", tt.char, tt.title, got, tt.want)
		}
	}
}
