package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// TerminalOptions are the pytest command-line options that shape terminal
// output. Start from DefaultTerminalOptions: the zero value of Durations
// asks for every duration, as pytest's --durations=0 does.
type TerminalOptions struct {
	// Verbosity is pytest's verbosity: -1 for -q, 0 by default, 1 for -v,
	// 2 for -vv; below -1 (-qq) the closing line is left out too.
	Verbosity int
	// TTY selects the interactive display: colour, and a redrawn status
	// line instead of progress letters.
	TTY bool
	// Width is the terminal width in columns; zero or less means 80.
	Width int
	// ReportChars is pytest's -r value; empty means the default "fE".
	ReportChars string
	// TB is the --tb style; "no" drops the ERRORS and FAILURES sections and
	// "line" prints one line per failure. Empty means "auto".
	TB string
	// Durations is the --durations value: -1 when not asked, 0 for all.
	Durations int
	// DurationsMin is --durations-min in seconds (pytest's default is
	// 0.005); durations below it are hidden unless Verbosity is 2 or more.
	DurationsMin float64
	// ShowCapture is the --show-capture value (no, stdout, stderr, log,
	// all); empty means "all".
	ShowCapture string
	// CI is set when running on CI (pytest checks $CI and $BUILD_NUMBER);
	// pytest then prints short-summary messages untrimmed.
	CI bool
	// JUnitXML is the absolute path of the --junitxml file, if any: the
	// summary says it was generated, as pytest's junitxml plugin does.
	JUnitXML string
}

// DefaultTerminalOptions returns the options pytest uses when given none.
func DefaultTerminalOptions() TerminalOptions {
	return TerminalOptions{
		Width:        80,
		ReportChars:  "fE",
		TB:           "auto",
		Durations:    -1,
		DurationsMin: 0.005,
		ShowCapture:  "all",
	}
}

// Terminal is the terminal reporter: it turns run events into output that
// reads like pytest's (with pytest-xdist's per-worker lines in -v mode).
// It implements result.Sink.
type Terminal struct {
	out  io.Writer
	opts TerminalOptions
	tw   termWriter
	err  error

	// total is the number of selected tests, the progress denominator.
	total    int
	reported int
	// started is set once the first test result has been shown.
	started bool
	counts  map[result.Outcome]int
	// running maps a worker to the test it runs now.
	running map[string]string
	// lastTime is the latest event time, for the status line's ETA.
	lastTime time.Duration
	// lastFlush is when output was last written; dirty says some waits.
	lastFlush time.Duration
	dirty     bool
	// collected is set once the Collected event came; the status line is
	// shown only from then on.
	collected bool
	// rootdir and invocationDir decide how nodeids are shown.
	rootdir, invocationDir string
	// statusShown is set while the TTY status line is on screen.
	statusShown bool
	finished    bool
}

// NewTerminal returns a Terminal writing to w. Zero Width, ReportChars, TB
// and ShowCapture take pytest's defaults.
func NewTerminal(w io.Writer, opts TerminalOptions) *Terminal {
	if opts.Width <= 0 {
		opts.Width = 80
	}
	if opts.ReportChars == "" {
		opts.ReportChars = "fE"
	}
	if opts.TB == "" {
		opts.TB = "auto"
	}
	if opts.ShowCapture == "" {
		opts.ShowCapture = "all"
	}
	return &Terminal{
		out:     w,
		opts:    opts,
		tw:      termWriter{width: opts.Width, color: opts.TTY},
		counts:  make(map[result.Outcome]int),
		running: make(map[string]string),
	}
}

// Err returns the first error met writing the output, if any.
func (t *Terminal) Err() error { return t.err }

// Handle renders one event.
func (t *Terminal) Handle(ev result.Event) {
	if t.finished {
		return
	}
	if ev.Time > t.lastTime {
		t.lastTime = ev.Time
	}
	switch ev.Kind {
	case result.RunStarted:
		if ev.Info != nil {
			t.runStarted(ev.Info)
		}
	case result.Collected:
		if ev.Run != nil {
			t.collectedRun(ev.Run)
		}
	case result.WorkerDied:
		delete(t.running, ev.Worker)
		var w result.DeathText
		if ev.Death != nil {
			w = DeathWords(*ev.Death)
		}
		if w.Why != "" {
			// herd killed it (a timeout, Ctrl-C): say why, not how.
			t.tw.writeLine(workerPrefix(ev.Worker) + w.Why)
		} else {
			t.tw.writeLine(workerPrefix(ev.Worker) + "worker died: " + w.Message)
		}
	case result.TestStarted:
		if ev.Worker != "" {
			t.running[ev.Worker] = ev.NodeID
		}
	case result.TestFinished:
		if ev.Test != nil {
			t.testFinished(ev.Test, ev.Worker)
		}
	case result.RunFinished:
		if ev.Run != nil {
			t.finished = true
			t.runFinished(ev.Run)
		}
	}
	switch ev.Kind {
	case result.TestStarted, result.TestFinished:
		// Tests come and go by the thousand: their output is written at
		// most every flushEvery, and at the next tick at the latest.
		if ev.Time-t.lastFlush < flushEvery {
			t.dirty = true
			return
		}
	case result.Tick:
		if !t.dirty {
			return
		}
	}
	t.lastFlush = ev.Time
	t.dirty = false
	t.flush()
}

// flushEvery is how long the terminal holds back progress output: 50 ms is
// below what a reader notices, and a run of fast tests then costs one write
// per 50 ms, not one per test.
const flushEvery = 50 * time.Millisecond

// flush writes what the event produced. On a TTY the status line is
// erased first and redrawn under any new permanent output.
func (t *Terminal) flush() {
	var b strings.Builder
	if t.statusShown {
		b.WriteString("\r\x1b[K")
		t.statusShown = false
	}
	b.WriteString(t.tw.buf.String())
	t.tw.buf.Reset()
	if t.opts.TTY && t.collected && !t.finished {
		b.WriteString(t.statusLine())
		t.statusShown = true
	}
	if b.Len() == 0 || t.err != nil {
		return
	}
	if _, err := io.WriteString(t.out, b.String()); err != nil {
		t.err = fmt.Errorf("write terminal report: %w", err)
	}
}

// runStarted prints the session header.
func (t *Terminal) runStarted(info *result.Info) {
	t.setDirs(info)
	if t.opts.Verbosity < 0 {
		return
	}
	t.tw.sep("=", "test session starts", escBold)
	for _, l := range info.HeaderLines {
		t.tw.writeLine(l)
	}
	python := info.PythonPath
	if python == "" {
		python = info.Python
	}
	workers := "workers"
	if info.Workers == 1 {
		workers = "worker"
	}
	t.tw.writeLine(fmt.Sprintf("herd %s: %d %s, python %s", info.Version, info.Workers, workers, python))
}

// CollectedLine returns pytest's line after collection, such as
// "collected 3 items / 1 error / 1 deselected / 1 skipped / 2 selected".
// run.Collected counts the selected tests, so the items pytest names are
// those plus the deselected ones.
func CollectedLine(run *result.Run) string {
	n := run.Collected + run.Deselected + run.Unaffected
	line := fmt.Sprintf("collected %d item", n)
	if n != 1 {
		line += "s"
	}
	if errs := len(run.CollectionErrors); errs > 0 {
		line += " / " + plural(errs, "error")
	}
	if run.Deselected > 0 {
		line += fmt.Sprintf(" / %d deselected", run.Deselected)
	}
	if run.Unaffected > 0 {
		line += fmt.Sprintf(" / %d deselected (unaffected)", run.Unaffected)
	}
	if skips := collectionSkips(run); skips > 0 {
		line += fmt.Sprintf(" / %d skipped", skips)
	}
	if run.Deselected > 0 || run.Unaffected > 0 {
		line += fmt.Sprintf(" / %d selected", run.Collected)
	}
	return line
}

// collectionSkips counts the modules skipped while collecting, which a run
// holds as skipped entries named by a path rather than a test's nodeid.
func collectionSkips(run *result.Run) int {
	n := 0
	for _, t := range run.Tests {
		if t.Outcome == result.Skipped && t.Worker == "" && !strings.Contains(t.NodeID, "::") {
			n++
		}
	}
	return n
}

// collectedRun notes the number of selected tests and prints the
// collected line, and below it what plugins add there (--lf's
// "run-last-failure: ..."), as pytest does.
func (t *Terminal) collectedRun(run *result.Run) {
	t.collected = true
	t.total = run.Collected
	if t.opts.Verbosity >= 0 {
		line := CollectedLine(run)
		if t.opts.Verbosity >= 1 && !t.opts.TTY {
			// pytest -v writes "collecting ... " when collection starts
			// and the collected line after it, on the same line.
			line = "collecting ... " + line
		}
		t.tw.writeLine(line, escBold)
	}
	for _, l := range run.CollectionLines {
		t.tw.writeLine(l)
	}
	if run.Collected > 0 && t.opts.Verbosity >= 0 {
		// pytest leaves the blank line before the first test's output
		// (its letters, or what it prints under -s) when it starts: what
		// herd prints about workers, and live output, comes below it.
		t.firstResult()
	}
}

// firstResult leaves the blank line pytest prints before the first result,
// once.
func (t *Terminal) firstResult() {
	if t.started {
		return
	}
	t.started = true
	if t.opts.Verbosity >= 0 {
		t.tw.ensureNewline()
		t.tw.write("\n")
	}
}

// progress is pytest's " [ 42%]" progress indicator.
func (t *Terminal) progress() string {
	if t.total <= 0 {
		return " [100%]"
	}
	return fmt.Sprintf(" [%3d%%]", t.reported*100/t.total)
}

// testFinished shows one result: a progress letter, a -v line, or on a TTY
// a permanent line for failures above the status line.
func (t *Terminal) testFinished(test *result.Test, worker string) {
	t.reported++
	t.counts[test.Outcome]++
	if worker == "" {
		worker = test.Worker
	}
	if t.running[worker] == test.NodeID {
		delete(t.running, worker)
	}
	v := t.opts.Verbosity
	if t.opts.TTY {
		if v >= 1 || test.Outcome.IsFailure() {
			t.firstResult()
			t.verboseLine(test, worker)
			t.tw.write("\n")
		}
		return
	}
	if v >= 1 {
		t.firstResult()
		t.tw.ensureNewline()
		t.verboseLine(test, worker)
		t.tw.pendingNL = true
		return
	}
	t.firstResult()
	// herd's letters are pytest-xdist's: no file path before them, so no
	// blank line after them before the summary (serial pytest's comes from
	// the file path's line).
	t.tw.write(outcomeLetter(test.Outcome))
	if t.reported == t.total {
		fill := t.opts.Width - textWidth(t.tw.curLine) - 1
		t.tw.write(fmt.Sprintf("%*s", fill, t.progress()))
	} else if textWidth(t.tw.curLine)+len(" [100%]")+1 >= t.opts.Width {
		t.tw.write(t.progress() + "\n")
	}
}

// verboseLine writes pytest-xdist's -v line for a test, without newline:
// "[gw0] [ 50%] PASSED test_a.py::test_x".
func (t *Terminal) verboseLine(test *result.Test, worker string) {
	word, color := outcomeWord(test.Outcome)
	if worker != "" {
		t.tw.write("[" + worker + "]")
		t.tw.writeMarked(t.progress()+" ", escCyan)
	} else {
		t.tw.writeMarked(strings.TrimPrefix(t.progress(), " ")+" ", escCyan)
	}
	t.tw.writeMarked(word, colorCode(color))
	t.tw.write(" " + t.rel(test.NodeID))
}

// setDirs notes the rootdir and invocation directory from info.
func (t *Terminal) setDirs(info *result.Info) {
	if info.Rootdir != "" {
		t.rootdir = info.Rootdir
	}
	if info.InvocationDir != "" {
		t.invocationDir = info.InvocationDir
	}
}

// rel shows a nodeid relative to the invocation directory, as pytest does
// in -v lines and the short test summary.
func (t *Terminal) rel(nodeid string) string {
	return relNodeID(nodeid, t.rootdir, t.invocationDir)
}

// workerPrefix is "[gw0] ", or nothing when no worker is named.
func workerPrefix(worker string) string {
	if worker == "" {
		return ""
	}
	return "[" + worker + "] "
}

// outcomeStyles gives each outcome its progress letter, the word pytest
// prints for it in -v lines and the short test summary, and its colour.
var outcomeStyles = map[result.Outcome]struct{ letter, word, color string }{
	result.Passed:      {".", "PASSED", "green"},
	result.Failed:      {"F", "FAILED", "red"},
	result.Error:       {"E", "ERROR", "red"},
	result.Skipped:     {"s", "SKIPPED", "yellow"},
	result.XFailed:     {"x", "XFAIL", "yellow"},
	result.XPassed:     {"X", "XPASS", "yellow"},
	result.Crashed:     {"C", "CRASHED", "red"},
	result.Timeout:     {"T", "TIMEOUT", "red"},
	result.NotRun:      {"n", "NOT RUN", "yellow"},
	result.Interrupted: {"I", "INTERRUPTED", "yellow"},
	result.Flaky:       {"R", "FLAKY", "yellow"},
}

// outcomeLetter is the progress letter of an outcome.
func outcomeLetter(o result.Outcome) string {
	if st, ok := outcomeStyles[o]; ok {
		return st.letter
	}
	return "?"
}

// outcomeWord is the word pytest prints for an outcome in -v lines and the
// short test summary, and its colour.
func outcomeWord(o result.Outcome) (word, color string) {
	if st, ok := outcomeStyles[o]; ok {
		return st.word, st.color
	}
	return strings.ToUpper(string(o)), "yellow"
}

// statusLine is the TTY's transient line: progress, counts so far, an
// estimate of the time left and the tests running now, cut to the width.
func (t *Terminal) statusLine() string {
	c := t.counts
	head := fmt.Sprintf("[%d/%d]", t.reported, t.total)
	var counts []string
	add := func(n int, word string) {
		if n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, word))
		}
	}
	add(c[result.Passed]+c[result.XPassed]+c[result.Flaky], "passed")
	add(c[result.Failed]+c[result.Crashed]+c[result.Timeout], "failed")
	add(c[result.Error], "error")
	add(c[result.Skipped]+c[result.XFailed], "skipped")
	add(c[result.Interrupted], "interrupted")
	add(c[result.NotRun], "not run")
	if len(counts) > 0 {
		head += " " + strings.Join(counts, ", ")
	}
	parts := []string{head}
	if eta, ok := t.eta(); ok {
		parts = append(parts, "ETA "+eta)
	}
	if len(t.running) > 0 {
		workers := make([]string, 0, len(t.running))
		for w := range t.running {
			workers = append(workers, w)
		}
		sort.Strings(workers)
		run := make([]string, len(workers))
		for i, w := range workers {
			run[i] = w + " " + t.running[w]
		}
		parts = append(parts, "running: "+strings.Join(run, ", "))
	}
	return truncateWidth(strings.Join(parts, " | "), t.opts.Width-1)
}

// eta estimates the time left from the pace so far.
func (t *Terminal) eta() (string, bool) {
	if t.reported == 0 || t.reported >= t.total || t.lastTime <= 0 {
		return "", false
	}
	left := time.Duration(float64(t.lastTime) / float64(t.reported) * float64(t.total-t.reported))
	secs := int(left.Round(time.Second).Seconds())
	if secs < 60 {
		return fmt.Sprintf("%ds", secs), true
	}
	if secs < 3600 {
		return fmt.Sprintf("%d:%02d", secs/60, secs%60), true
	}
	return fmt.Sprintf("%d:%02d:%02d", secs/3600, secs%3600/60, secs%60), true
}
