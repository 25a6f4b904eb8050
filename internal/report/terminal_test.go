package report

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

const herdLine = "herd 0.1.0: 2 workers, python /usr/bin/python3"

// herdify turns pytest's output into what herd prints for the same run:
// herd adds its own line after pytest's header, and its progress letters
// carry no file name because tests of many files finish interleaved; as
// under pytest-xdist, whose letters they are, no blank line follows them.
func herdify(t *testing.T, pytestOut, fileProgress, herdProgress string) string {
	t.Helper()
	out := pytestOut
	if i := strings.Index(out, "plugins: "); i >= 0 {
		end := i + strings.IndexByte(out[i:], '\n') + 1
		out = out[:end] + herdLine + "\n" + out[end:]
	}
	if fileProgress != "" {
		if !strings.Contains(out, fileProgress+"\n") {
			t.Fatalf("pytest output has no progress line %q", fileProgress)
		}
		if strings.Contains(out, fileProgress+"\n\n") {
			fileProgress += "\n"
		}
		out = strings.Replace(out, fileProgress+"\n", herdProgress+"\n", 1)
	}
	return out
}

// withRootdir returns run with its header naming another rootdir.
func withRootdir(run *result.Run, dir string) *result.Run {
	run.Info.HeaderLines = append([]string(nil), run.Info.HeaderLines...)
	run.Info.HeaderLines[1] = "rootdir: " + dir
	return run
}

// continueRun is test_b.py's three passes plus test_bad.py's collection
// error, run with --continue-on-collection-errors.
func continueRun() *result.Run {
	run := withRootdir(passedRun(), "/tmp/rep2")
	run.CollectionErrors = collectionErrorRun().CollectionErrors
	run.Duration = ms(30)
	return run
}

func TestTerminalMatchesPytest(t *testing.T) {
	opts := func(edit func(*TerminalOptions)) TerminalOptions {
		o := DefaultTerminalOptions()
		edit(&o)
		return o
	}
	tests := []struct {
		name         string
		run          *result.Run
		opts         TerminalOptions
		pytest       string
		fileProgress string
		herdProgress string
	}{
		{
			name:         "-rA --durations=3",
			run:          func() *result.Run { r := pytestRun(); r.Duration = ms(30); return r }(),
			opts:         opts(func(o *TerminalOptions) { o.ReportChars = "A"; o.Durations = 3 }),
			pytest:       refRA,
			fileProgress: "test_a.py .FEsxX.F                                                       [100%]",
			herdProgress: ".FEsxX.F                                                                 [100%]",
		},
		{
			name: "--tb=line",
			run: func() *result.Run {
				// What the worker reports under --tb=line: errors rendered
				// in that style, and pytest's crash line of each failure.
				r := pytestRun()
				r.Duration = ms(40)
				r.Tests[1].CrashLine = "/tmp/rep1/test_a.py:6: assert 1 == 2"
				r.Tests[2].Longrepr = "E   RuntimeError: boom"
				r.Tests[7].CrashLine = "/tmp/rep1/test_a.py:19: assert 0"
				return r
			}(),
			opts:         opts(func(o *TerminalOptions) { o.TB = "line" }),
			pytest:       refTBLine,
			fileProgress: "test_a.py .FEsxX.F                                                       [100%]",
			herdProgress: ".FEsxX.F                                                                 [100%]",
		},
		{
			name:   "-q --tb=no -rfEsxX",
			run:    func() *result.Run { r := pytestRun(); r.Duration = ms(10); return r }(),
			opts:   opts(func(o *TerminalOptions) { o.Verbosity = -1; o.TB = "no"; o.ReportChars = "fEsxX" }),
			pytest: refQuiet,
		},
		{
			name:   "collection error",
			run:    func() *result.Run { r := withRootdir(collectionErrorRun(), "/tmp/rep2"); r.Duration = ms(80); return r }(),
			opts:   DefaultTerminalOptions(),
			pytest: refCollection,
		},
		{
			name:   "collection error -q",
			run:    func() *result.Run { r := collectionErrorRun(); r.Duration = ms(40); return r }(),
			opts:   opts(func(o *TerminalOptions) { o.Verbosity = -1 }),
			pytest: refCollectionQuiet,
		},
		{
			name:         "--continue-on-collection-errors",
			run:          continueRun(),
			opts:         DefaultTerminalOptions(),
			pytest:       refContinue,
			fileProgress: "test_b.py ...                                                            [100%]",
			herdProgress: "...                                                                      [100%]",
		},
		{
			name: "deselected",
			run: func() *result.Run {
				r := withRootdir(passedRun(), "/tmp/rep2")
				r.Tests = r.Tests[:2]
				r.Collected = 2
				r.Deselected = 1
				return r
			}(),
			opts:         DefaultTerminalOptions(),
			pytest:       refDeselected,
			fileProgress: "test_b.py ..                                                             [100%]",
			herdProgress: "..                                                                       [100%]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.pytest
			if tt.opts.Verbosity >= 0 {
				want = herdify(t, tt.pytest, tt.fileProgress, tt.herdProgress)
			}
			got := render(t, tt.run, tt.opts)
			if got != want {
				t.Errorf("output differs from pytest's\n--- got ---\n%s\n--- want ---\n%s", got, want)
			}
		})
	}
}

// TestTerminalProgressWrap checks the progress letters' line wrapping
// against pytest -q on 150 passing tests.
func TestTerminalProgressWrap(t *testing.T) {
	run := &result.Run{Info: testInfo(), Collected: 150, Duration: ms(110)}
	for i := 0; i < 150; i++ {
		run.Tests = append(run.Tests, &result.Test{NodeID: fmt.Sprintf("test_d.py::test_p[%d]", i), Outcome: result.Passed, Worker: "gw0"})
	}
	want := "" +
		"........................................................................ [ 48%]\n" +
		"........................................................................ [ 96%]\n" +
		"......                                                                   [100%]\n" +
		"150 passed in 0.11s\n"
	o := DefaultTerminalOptions()
	o.Verbosity = -1
	if got := render(t, run, o); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestTerminalGolden(t *testing.T) {
	opts := func(edit func(*TerminalOptions)) TerminalOptions {
		o := DefaultTerminalOptions()
		edit(&o)
		return o
	}
	maxfail := func() *result.Run {
		r := pytestRun()
		for _, test := range r.Tests[3:] {
			*test = result.Test{NodeID: test.NodeID, Outcome: result.NotRun, Reason: "not run: stopped after 2 failures (--maxfail=2)"}
		}
		r.Warnings = nil
		r.MaxfailReached = true
		r.InterruptReason = "stopping after 2 failures"
		return r
	}
	interrupted := func() *result.Run {
		r := passedRun()
		r.Tests[1].Outcome = result.Interrupted
		r.Tests[1].Reason = "still running 2s after Ctrl-C, killed"
		r.Tests[2].Outcome = result.NotRun
		r.Tests[2].Worker = ""
		r.Tests[2].Reason = "not run: interrupted (Ctrl-C)"
		r.Interrupted = true
		r.InterruptReason = "KeyboardInterrupt"
		return r
	}
	tests := []struct {
		name string
		run  *result.Run
		opts TerminalOptions
	}{
		{"all_passed", passedRun(), DefaultTerminalOptions()},
		{"mixed", mixedRun(), DefaultTerminalOptions()},
		{"mixed_quiet", mixedRun(), opts(func(o *TerminalOptions) { o.Verbosity = -1 })},
		{"mixed_verbose", mixedRun(), opts(func(o *TerminalOptions) { o.Verbosity = 1 })},
		{"mixed_tb_line", mixedRun(), opts(func(o *TerminalOptions) { o.TB = "line" })},
		{"mixed_tb_no", mixedRun(), opts(func(o *TerminalOptions) { o.TB = "no" })},
		{"mixed_show_capture_stderr", mixedRun(), opts(func(o *TerminalOptions) { o.ShowCapture = "stderr" })},
		{"r_a", mixedRun(), opts(func(o *TerminalOptions) { o.ReportChars = "a"; o.TB = "no" })},
		{"r_A", mixedRun(), opts(func(o *TerminalOptions) { o.ReportChars = "A"; o.TB = "no" })},
		{"r_N", mixedRun(), opts(func(o *TerminalOptions) { o.ReportChars = "N"; o.TB = "no" })},
		{"r_sx", mixedRun(), opts(func(o *TerminalOptions) { o.ReportChars = "sx"; o.TB = "no" })},
		{"durations_5", mixedRun(), opts(func(o *TerminalOptions) { o.Durations = 5; o.TB = "no"; o.ReportChars = "N" })},
		{"durations_all", mixedRun(), opts(func(o *TerminalOptions) { o.Durations = 0; o.TB = "no"; o.ReportChars = "N" })},
		{"durations_vv", mixedRun(), opts(func(o *TerminalOptions) { o.Durations = 0; o.Verbosity = 2; o.TB = "no"; o.ReportChars = "N" })},
		{"collection_error", collectionErrorRun(), DefaultTerminalOptions()},
		{"maxfail", maxfail(), DefaultTerminalOptions()},
		{"maxfail_rn", maxfail(), opts(func(o *TerminalOptions) { o.ReportChars = "fEn" })},
		{"maxfail_ra", maxfail(), opts(func(o *TerminalOptions) { o.ReportChars = "a"; o.TB = "no" })},
		{"keyboard_interrupt", interrupted(), DefaultTerminalOptions()},
		{"keyboard_interrupt_rA", interrupted(), opts(func(o *TerminalOptions) { o.ReportChars = "A" })},
		{"stall", stalledRun(), DefaultTerminalOptions()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGolden(t, "terminal_"+tt.name, []byte(render(t, tt.run, tt.opts)))
		})
	}
}

// visible makes escape sequences and carriage returns readable in a golden.
func visible(s string) string {
	return strings.NewReplacer("\x1b", `\e`, "\r", `\r`).Replace(s)
}

func TestTerminalTTYGolden(t *testing.T) {
	o := DefaultTerminalOptions()
	o.TTY = true
	checkGolden(t, "terminal_tty", []byte(visible(render(t, mixedRun(), o))))
}

func TestTerminalTTY(t *testing.T) {
	var b strings.Builder
	o := DefaultTerminalOptions()
	o.TTY = true
	term := NewTerminal(&b, o)
	run := pytestRun()
	info := run.Info
	term.Handle(result.Event{Kind: result.RunStarted, Info: &info})
	term.Handle(result.Event{Kind: result.Collected, Run: run})
	term.Handle(result.Event{Kind: result.TestStarted, Worker: "gw0", NodeID: "test_a.py::test_pass"})
	term.Handle(result.Event{Kind: result.TestStarted, Worker: "gw1", NodeID: "test_a.py::test_fail"})
	b.Reset()
	term.Handle(result.Event{Kind: result.TestFinished, Time: 2 * time.Second, Worker: "gw0", Test: run.Tests[0]})
	// 1 of 8 done in 2s: 7 left at the same pace is 14s.
	if want := "\r\x1b[K[1/8] 1 passed | ETA 14s | running: gw1 test_a.py::test_fail"; b.String() != want {
		t.Errorf("status after a pass:\n got %q\nwant %q", b.String(), want)
	}
	b.Reset()
	term.Handle(result.Event{Kind: result.TestFinished, Time: 4 * time.Second, Worker: "gw1", Test: run.Tests[1]})
	// The blank line pytest leaves before the first result came with the
	// collected line.
	want := "\r\x1b[K" +
		"[gw1]\x1b[36m [ 25%] \x1b[0m\x1b[31mFAILED\x1b[0m test_a.py::test_fail\n" +
		"[2/8] 1 passed, 1 failed | ETA 12s"
	if b.String() != want {
		t.Errorf("a failure is printed above the status line:\n got %q\nwant %q", b.String(), want)
	}
	b.Reset()
	term.Handle(result.Event{Kind: result.WorkerDied, Worker: "gw1", Death: &result.Death{Reason: result.DeathCrash, Signal: "SIGKILL"}})
	if want := "\r\x1b[K[gw1] worker died: killed by SIGKILL\n[2/8] 1 passed, 1 failed | ETA 12s"; b.String() != want {
		t.Errorf("worker death:\n got %q\nwant %q", b.String(), want)
	}
	b.Reset()
	term.Handle(result.Event{Kind: result.RunFinished, Run: run})
	out := b.String()
	if !strings.HasPrefix(out, "\r\x1b[K\n") {
		t.Errorf("final output does not start by clearing the status line: %q", out[:min(len(out), 20)])
	}
	if strings.Contains(out, "[2/8]") {
		t.Errorf("status line redrawn after the run finished: %q", out)
	}
	if !strings.HasSuffix(out, "\x1b[31m in 0.04s\x1b[0m\x1b[31m =\x1b[0m\n") {
		t.Errorf("closing line is not coloured red: %q", out[max(0, len(out)-80):])
	}
}

func TestTerminalTTYStatusFitsWidth(t *testing.T) {
	var b strings.Builder
	o := DefaultTerminalOptions()
	o.TTY = true
	o.Width = 40
	term := NewTerminal(&b, o)
	run := pytestRun()
	term.Handle(result.Event{Kind: result.Collected, Run: run})
	b.Reset()
	term.Handle(result.Event{Kind: result.TestStarted, Worker: "gw0", NodeID: "test_a.py::test_with_a_rather_long_name"})
	term.Handle(result.Event{Kind: result.Tick})
	status := strings.TrimPrefix(b.String(), "\r\x1b[K")
	if want := "[0/8] | running: gw0 test_a.py::test_wi"; status != want {
		t.Errorf("status = %q, want %q (39 columns)", status, want)
	}
}

func TestTerminalNonTTYHasNoEscapes(t *testing.T) {
	for _, v := range []int{-1, 0, 1} {
		o := DefaultTerminalOptions()
		o.Verbosity = v
		o.ReportChars = "A"
		out := render(t, mixedRun(), o)
		if strings.ContainsAny(out, "\x1b\r") {
			t.Errorf("verbosity %d: non-TTY output holds escapes or carriage returns", v)
		}
	}
}

func TestTerminalWorkerDiedBetweenLetters(t *testing.T) {
	var b strings.Builder
	o := DefaultTerminalOptions()
	term := NewTerminal(&b, o)
	run := passedRun()
	term.Handle(result.Event{Kind: result.Collected, Run: run})
	term.Handle(result.Event{Kind: result.TestFinished, Worker: "gw0", Test: run.Tests[0]})
	term.Handle(result.Event{Kind: result.WorkerDied, Worker: "gw1", Death: &result.Death{Reason: result.DeathCrash, ExitCode: intp(1)}})
	term.Handle(result.Event{Kind: result.TestFinished, Worker: "gw0", Test: run.Tests[1]})
	term.Handle(result.Event{Kind: result.TestFinished, Worker: "gw0", Test: run.Tests[2]})
	term.Handle(result.Event{Kind: result.Tick})
	want := "collected 3 items\n" +
		"\n" +
		".\n" +
		"[gw1] worker died: exit code 1\n" +
		"..                                                                       [100%]"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestTerminalShortSummaryTrimsToWidth(t *testing.T) {
	run := &result.Run{Collected: 1, Duration: ms(10), Tests: []*result.Test{{
		NodeID:  "test_long.py::test_x",
		Outcome: result.Failed,
		Message: "AssertionError: " + strings.Repeat("x", 100) + "\nsecond line",
	}}}
	tests := []struct {
		name string
		ci   bool
		want string
	}{
		// pytest 7.2.1 printed exactly these lines for the same failure.
		{"terminal", false, "FAILED test_long.py::test_x - AssertionError: " + strings.Repeat("x", 31) + "...\n"},
		{"ci", true, "FAILED test_long.py::test_x - AssertionError: " + strings.Repeat("x", 100) + "\nsecond line\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultTerminalOptions()
			o.TB = "no"
			o.CI = tt.ci
			out := render(t, run, o)
			if !strings.Contains(out, "short test summary info ============================\n"+tt.want) {
				t.Errorf("short summary line missing, want %q in\n%s", tt.want, out)
			}
		})
	}
}

func TestTerminalWarningsCollapsePerFile(t *testing.T) {
	run := &result.Run{Collected: 12, Duration: ms(50)}
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("test_c.py::test_w[%d]", i)
		run.Tests = append(run.Tests, &result.Test{NodeID: id, Outcome: result.Passed})
		run.Warnings = append(run.Warnings, result.Warning{NodeID: id,
			Message: "/tmp/rep3/test_c.py:4: UserWarning: same\n  warnings.warn(UserWarning(\"same\"))\n"})
	}
	// As pytest 7.2.1 printed it for the same twelve warnings.
	want := "" +
		"=============================== warnings summary ===============================\n" +
		"test_c.py: 12 warnings\n" +
		"  /tmp/rep3/test_c.py:4: UserWarning: same\n" +
		"    warnings.warn(UserWarning(\"same\"))\n" +
		"\n" +
		"-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html\n" +
		"======================= 12 passed, 12 warnings in 0.05s ========================\n"
	out := render(t, run, DefaultTerminalOptions())
	if !strings.HasSuffix(out, want) {
		t.Errorf("got\n%s\nwant it to end with\n%s", out, want)
	}
}

func TestTerminalQuietQuietDropsClosingLine(t *testing.T) {
	o := DefaultTerminalOptions()
	o.Verbosity = -2
	if got, want := render(t, passedRun(), o), "...                                                                      [100%]\n"; got != want {
		t.Errorf("-qq output = %q, want %q", got, want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestTerminalErr(t *testing.T) {
	term := NewTerminal(failingWriter{}, DefaultTerminalOptions())
	replay(term, passedRun())
	if err := term.Err(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Err() = %v, want the write error", err)
	}
}

func TestExpandReportChars(t *testing.T) {
	// Expected values follow pytest's getreportopt, without its "w", and
	// with herd's own "n" (not run) in "a" and "A".
	tests := map[string]string{
		"fE":  "fE",
		"a":   "sxXEfn",
		"A":   "PpsxXEfn",
		"fn":  "fn",
		"Nn":  "n",
		"N":   "",
		"fN":  "",
		"Nf":  "f",
		"FS":  "fs",
		"ffs": "fs",
		"af":  "sxXEfn",
		"pa":  "sxXEfn",
	}
	for in, want := range tests {
		if got := expandReportChars(in); got != want {
			t.Errorf("expandReportChars(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTerminalPassesAndFoldedSkips(t *testing.T) {
	run := &result.Run{Collected: 4, Deselected: 12, Duration: ms(30), Tests: []*result.Test{
		{NodeID: "test_c.py::test_s1", Outcome: result.Skipped, Longrepr: "test_c.py:5: Skipped: why", Message: "why"},
		{NodeID: "test_c.py::test_s2", Outcome: result.Skipped, Longrepr: "test_c.py:6: Skipped: why", Message: "why"},
		{NodeID: "test_c.py::test_out", Outcome: result.Passed,
			Sections: []result.Section{{Title: "Captured stdout call", Content: "out!\n"}}},
		{NodeID: "test_c.py::test_slow", Outcome: result.Passed},
	}}
	// pytest 7.2.1's output for: pytest -q -rPs -k "out or s1 or s2 or slow".
	want := "" +
		"ss..                                                                     [100%]\n" +
		"==================================== PASSES ====================================\n" +
		"___________________________________ test_out ___________________________________\n" +
		"----------------------------- Captured stdout call -----------------------------\n" +
		"out!\n" +
		"=========================== short test summary info ============================\n" +
		"SKIPPED [1] test_c.py:5: why\n" +
		"SKIPPED [1] test_c.py:6: why\n" +
		"2 passed, 2 skipped, 12 deselected in 0.03s\n"
	o := DefaultTerminalOptions()
	o.Verbosity = -1
	o.ReportChars = "Ps"
	if got := render(t, run, o); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestTerminalFoldsSkipsWithoutLongrepr(t *testing.T) {
	run := &result.Run{Collected: 3, Tests: []*result.Test{
		{NodeID: "test_k.py::test_a", File: "test_k.py", Line: 3, Outcome: result.Skipped, Message: "Skipped: no db"},
		{NodeID: "test_k.py::test_a", File: "test_k.py", Line: 3, Outcome: result.Skipped, Message: "Skipped: no db"},
		{NodeID: "test_k.py::test_b", Outcome: result.Skipped, Message: "no net"},
	}}
	o := DefaultTerminalOptions()
	o.Verbosity = -1
	o.ReportChars = "s"
	want := "SKIPPED [2] test_k.py:3: no db\nSKIPPED [1] test_k.py: no net\n"
	if out := render(t, run, o); !strings.Contains(out, want) {
		t.Errorf("want %q in\n%s", want, out)
	}
}

func TestStopAndInterruptLines(t *testing.T) {
	tests := []struct {
		name              string
		run               *result.Run
		wantStop, wantInt string
	}{
		{"normal run", &result.Run{}, "", ""},
		{"maxfail with reason", &result.Run{MaxfailReached: true, InterruptReason: "stopping after 1 failures"}, "stopping after 1 failures", ""},
		{"maxfail without reason", &result.Run{MaxfailReached: true, Tests: []*result.Test{
			{Outcome: result.Failed}, {Outcome: result.Crashed}, {Outcome: result.Passed}}}, "stopping after 2 failures", ""},
		{"collection", &result.Run{Interrupted: true, InterruptReason: "1 error during collection"}, "", "Interrupted: 1 error during collection"},
		{"collection in pytest's words", &result.Run{Interrupted: true, InterruptReason: "Interrupted: 2 errors during collection"}, "", "Interrupted: 2 errors during collection"},
		{"collection without reason", &result.Run{Interrupted: true, CollectionErrors: make([]result.CollectionError, 2)}, "", "Interrupted: 2 errors during collection"},
		{"keyboard interrupt", &result.Run{Interrupted: true, InterruptReason: "KeyboardInterrupt"}, "", "KeyboardInterrupt"},
		{"no reason", &result.Run{Interrupted: true}, "", "Interrupted"},
	}
	for _, tt := range tests {
		if got := stopLine(tt.run); got != tt.wantStop {
			t.Errorf("%s: stopLine = %q, want %q", tt.name, got, tt.wantStop)
		}
		if got := interruptLine(tt.run); got != tt.wantInt {
			t.Errorf("%s: interruptLine = %q, want %q", tt.name, got, tt.wantInt)
		}
	}
}

func TestNewTerminalDefaults(t *testing.T) {
	// The zero options behave as pytest with no options, except that
	// Durations 0 asks for every duration.
	o := TerminalOptions{Durations: -1}
	got := render(t, pytestRun(), o)
	want := render(t, pytestRun(), DefaultTerminalOptions())
	if got != want {
		t.Errorf("zero options differ from the defaults:\n%s\n---\n%s", got, want)
	}
	if !strings.Contains(got, "short test summary info") || len(strings.Split(got, "\n")[0]) != 80 {
		t.Errorf("defaults lack the fE summary or the 80-column width:\n%s", got)
	}
}

func TestTextWidth(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"abc", 3},
		{"héllo", 5},
		{"日本語", 6},
		{"e\u0301", 1},
		{"🙂!", 3},
	}
	for _, tt := range tests {
		if got := textWidth(tt.s); got != tt.want {
			t.Errorf("textWidth(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
	// pytest's sep counts code points even for wide characters.
	if got, want := sepLine("_", "test_日本", 20), "_____ test_日本 ______"; got != want {
		t.Errorf("sepLine = %q, want %q", got, want)
	}
}

func TestTerminalErrorPhase(t *testing.T) {
	run := &result.Run{Collected: 2, Duration: ms(10), Tests: []*result.Test{
		{NodeID: "test_p.py::test_setup", Outcome: result.Error, Longrepr: "E   RuntimeError: s", Message: "RuntimeError: s",
			Sections: []result.Section{{Title: "Captured stdout setup", Content: "s\n"}}},
		// A passing call followed by a failing teardown: the call's output
		// shows that setup passed.
		{NodeID: "test_p.py::test_teardown", Outcome: result.Error, Longrepr: "E   RuntimeError: t", Message: "RuntimeError: t",
			Sections: []result.Section{{Title: "Captured stdout call", Content: "c\n"}}},
	}}
	out := render(t, run, DefaultTerminalOptions())
	// The separators are pytest's TerminalWriter.sep output for the titles.
	for _, want := range []string{
		"_________________________ ERROR at setup of test_setup _________________________\n",
		"______________________ ERROR at teardown of test_teardown ______________________\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	suite, _ := decodeJUnit(t, run, JUnitOptions{})
	if got := suite.Cases[1].Error.Message; got != `failed on teardown with "RuntimeError: t"` {
		t.Errorf("junit message = %q", got)
	}
}

func TestTerminalCollectionSkip(t *testing.T) {
	run := &result.Run{Info: testInfo(), Collected: 1, Duration: ms(10), Tests: []*result.Test{
		{NodeID: "test_ok.py::test_ok", Outcome: result.Passed, Worker: "gw0"},
		{NodeID: "test_skipmod.py", Outcome: result.Skipped, Longrepr: "test_skipmod.py:2: no db", Message: "no db"},
	}}
	run.Info.HeaderLines = nil
	o := DefaultTerminalOptions()
	o.ReportChars = "s"
	// pytest 7.2.1's output for a module skipped with allow_module_level,
	// run with -rs, below its header, with xdist's progress line (no file
	// name, no blank line after it).
	want := "collected 1 item / 1 skipped\n" +
		"\n" +
		".                                                                        [100%]\n" +
		"=========================== short test summary info ============================\n" +
		"SKIPPED [1] test_skipmod.py:2: no db\n" +
		"========================= 1 passed, 1 skipped in 0.01s =========================\n"
	out := render(t, run, o)
	if !strings.HasSuffix(out, want) {
		t.Errorf("got\n%s\nwant it to end with\n%s", out, want)
	}
}

func TestRelNodeID(t *testing.T) {
	tests := []struct {
		nodeid, rootdir, dir, want string
	}{
		{"tests/test_r.py::test_a", "/tmp/rep7", "/tmp/rep7", "tests/test_r.py::test_a"},
		{"tests/test_r.py::test_a", "/tmp/rep7", "/tmp/rep7/tests", "test_r.py::test_a"},
		{"tests/test_r.py::test_a[x/y]", "/tmp/rep7", "/tmp/rep7/tests", "test_r.py::test_a[x/y]"},
		{"a/test_r.py::test_a", "/tmp/rep7", "/tmp/rep7/b", "../a/test_r.py::test_a"},
		{"test_r.py::test_a", "/tmp/rep7", "/tmp", "rep7/test_r.py::test_a"},
		{"test_r.py::test_a", "", "/tmp", "test_r.py::test_a"},
	}
	for _, tt := range tests {
		if got := relNodeID(tt.nodeid, tt.rootdir, tt.dir); got != tt.want {
			t.Errorf("relNodeID(%q, %q, %q) = %q, want %q", tt.nodeid, tt.rootdir, tt.dir, got, tt.want)
		}
	}
}

func TestTerminalNodeIDsRelativeToInvocationDir(t *testing.T) {
	run := &result.Run{Collected: 2, Duration: ms(30), Tests: []*result.Test{
		{NodeID: "tests/test_r.py::test_a", Outcome: result.Failed, Worker: "gw0", Message: "assert 0", Longrepr: "E   assert 0"},
		{NodeID: "tests/test_r.py::test_w", Outcome: result.Passed, Worker: "gw1", Duration: ms(10)},
	}, Warnings: []result.Warning{{NodeID: "tests/test_r.py::test_w", Message: "/tmp/rep7/tests/test_r.py:3: UserWarning: x\n"}}}
	run.Info = result.Info{Rootdir: "/tmp/rep7", InvocationDir: "/tmp/rep7/tests"}
	o := DefaultTerminalOptions()
	o.Verbosity = 1
	o.ReportChars = "A"
	o.Durations = 2
	out := render(t, run, o)
	// As pytest 7.2.1 prints them when started in rootdir/tests: -v lines
	// and the short summary are relative, warnings and durations are not.
	for _, want := range []string{
		"[gw0] [ 50%] FAILED test_r.py::test_a\n",
		"\ntests/test_r.py::test_w\n  /tmp/rep7/tests/test_r.py:3: UserWarning: x\n",
		"\n0.01s call     tests/test_r.py::test_w\n",
		"\nPASSED test_r.py::test_w\nFAILED test_r.py::test_a - assert 0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

// A worker herd killed itself is reported by its cause, not as a death.
func TestTerminalHerdKillSaysCause(t *testing.T) {
	var b strings.Builder
	term := NewTerminal(&b, DefaultTerminalOptions())
	run := passedRun()
	term.Handle(result.Event{Kind: result.Collected, Run: run})
	term.Handle(result.Event{Kind: result.TestFinished, Worker: "gw0", Test: run.Tests[0]})
	term.Handle(result.Event{Kind: result.WorkerDied, Worker: "gw1", Death: &result.Death{Reason: result.DeathTimeout,
		Signal: "SIGTERM", KillStage: "SIGTERM", Limit: 2 * time.Second, NodeID: "test_b.py::test_2"}})
	term.Handle(result.Event{Kind: result.Tick})
	want := "collected 3 items\n" +
		"\n" +
		".\n" +
		"[gw1] test_b.py::test_2 timed out after 2s: worker killed (SIGTERM after stack dump)\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}
