package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/herd-run/herd/internal/result"
)

// maxPriorShown bounds the prior tests listed in a terminal crash section;
// the JSON and JUnit reports list them all.
const maxPriorShown = 10

// runFinished prints pytest's end-of-session output in pytest's order:
// errors, failures, warnings, passes, durations, the short test summary,
// the stop or interrupt line, and the closing line.
func (t *Terminal) runFinished(run *result.Run) {
	t.setDirs(&run.Info)
	// pytest's sessionfinish starts with an empty line() that ends the
	// progress line; when no test was reported, the blank line left after
	// the collected line is that line.
	if t.reported > 0 || !t.started {
		t.tw.line("")
	}
	if t.opts.TB != "no" {
		t.summaryErrors(run)
		t.summaryFailures(run)
	}
	t.summaryWarnings(run)
	t.summaryStalls(run)
	t.summaryMisses(run)
	if t.opts.TB != "no" && strings.ContainsRune(expandReportChars(t.opts.ReportChars), 'P') {
		t.summaryPasses(run)
	}
	if t.opts.JUnitXML != "" {
		t.tw.sep("-", "generated xml file: "+t.opts.JUnitXML)
	}
	t.summaryDurations(run)
	if run.Coverage != "" {
		// Where pytest-cov's terminal summary stands, in its framing.
		t.tw.write("\n" + run.Coverage + "\n")
	}
	t.shortTestSummary(run)
	if line := stopLine(run); line != "" {
		t.tw.sep("!", line, escRed)
	} else if line := interruptLine(run); line != "" {
		t.tw.sep("!", line)
	}
	// -qq leaves the closing line out; -q prints it without the frame.
	if t.opts.Verbosity >= -1 {
		t.tw.writeLine(ClosingLine(run, t.opts.Width, t.opts.Verbosity < 0, t.opts.TTY))
	}
}

// stopLine is the line pytest prints when -x or --maxfail stopped the run:
// "stopping after 2 failures".
func stopLine(run *result.Run) string {
	if !run.MaxfailReached {
		return ""
	}
	if run.InterruptReason != "" {
		return run.InterruptReason
	}
	n := 0
	for _, t := range run.Tests {
		if t.Outcome.IsFailure() {
			n++
		}
	}
	return fmt.Sprintf("stopping after %d failures", n)
}

// interruptLine is the line pytest prints when the run was interrupted:
// "Interrupted: 1 error during collection", or "KeyboardInterrupt".
func interruptLine(run *result.Run) string {
	if !run.Interrupted {
		return ""
	}
	reason := run.InterruptReason
	switch {
	case reason == "" && len(run.CollectionErrors) > 0:
		errs := len(run.CollectionErrors)
		return fmt.Sprintf("Interrupted: %s during collection", plural(errs, "error"))
	case reason == "":
		return "Interrupted"
	case strings.HasPrefix(reason, "Interrupted") || strings.HasPrefix(reason, "KeyboardInterrupt"):
		return reason
	}
	return "Interrupted: " + reason
}

// outrep prints a report's representation and its captured sections, as
// pytest's _outrep_summary does.
func (t *Terminal) outrep(longrepr string, sections []result.Section) {
	if lr := strings.TrimRight(longrepr, "\n"); lr != "" {
		t.tw.line(lr)
	}
	show := t.opts.ShowCapture
	if show == "no" {
		return
	}
	for _, s := range sections {
		if show != "all" && !strings.Contains(s.Title, show) {
			continue
		}
		t.tw.sep("-", s.Title)
		t.tw.line(strings.TrimSuffix(s.Content, "\n"))
	}
}

// summaryErrors prints the ERRORS section: collection errors, then the
// tests that errored and the extra setup or teardown errors of any test.
func (t *Terminal) summaryErrors(run *result.Run) {
	type entry struct {
		title, longrepr string
		sections        []result.Section
	}
	var entries []entry
	for _, ce := range run.CollectionErrors {
		entries = append(entries, entry{title: "ERROR collecting " + ce.Path, longrepr: ce.Message})
	}
	for _, test := range run.Tests {
		if test.Outcome == result.Error {
			entries = append(entries, entry{"ERROR at " + errorPhase(test) + " of " + headLine(test), test.Longrepr, test.Sections})
		}
		for _, p := range test.Extra {
			when := p.When
			if when == "" {
				when = "teardown"
			}
			entries = append(entries, entry{"ERROR at " + when + " of " + headLine(test), p.Longrepr, p.Sections})
		}
	}
	if len(entries) == 0 {
		return
	}
	t.tw.sep("=", "ERRORS")
	for _, e := range entries {
		t.tw.sep("_", e.title, escRed, escBold)
		t.outrep(e.longrepr, e.sections)
	}
}

// isFailure reports whether a test belongs in the FAILURES section.
func isFailure(o result.Outcome) bool {
	return o == result.Failed || o == result.Crashed || o == result.Timeout
}

// summaryFailures prints the FAILURES section for failed, crashed and
// timed-out tests; with --tb=line one line each.
func (t *Terminal) summaryFailures(run *result.Run) {
	var failed []*result.Test
	for _, test := range run.Tests {
		if isFailure(test.Outcome) {
			failed = append(failed, test)
		}
	}
	if len(failed) == 0 {
		return
	}
	t.tw.sep("=", "FAILURES")
	if t.opts.TB == "line" {
		for _, test := range failed {
			t.tw.writeLine(crashLine(test))
		}
		return
	}
	for _, test := range failed {
		t.tw.sep("_", headLine(test), escRed, escBold)
		t.outrep(test.Longrepr, test.Sections)
		if test.Outcome == result.Crashed || test.Outcome == result.Timeout {
			t.crashSection(test)
		}
	}
}

// crashSection prints how the worker running a crashed or timed-out test
// died, and the tail of its stderr.
func (t *Terminal) crashSection(test *result.Test) {
	title := "worker crash"
	if test.Outcome == result.Timeout {
		title = "timeout"
	}
	t.tw.sep("-", title)
	if test.Outcome == result.Timeout {
		t.tw.line(timeoutMessage(test))
	}
	for _, l := range crashDetails(test, maxPriorShown) {
		t.tw.line(l)
	}
	if test.Crash != nil && test.Crash.StderrTail != "" {
		t.tw.sep("-", "Captured stderr (worker)")
		t.tw.line(strings.TrimSuffix(test.Crash.StderrTail, "\n"))
	}
}

// crashHeadline is the one-line verdict on a crashed or timed-out test:
// "worker crashed: SIGSEGV" or "timeout after 5.00s".
func crashHeadline(test *result.Test) string {
	if test.Outcome == result.Timeout {
		return timeoutMessage(test)
	}
	msg := "worker crashed"
	if cause := crashCause(test.Crash); cause != "" {
		msg += ": " + cause
	}
	return msg
}

// crashLine is a failure's line for --tb=line: pytest's own
// ("/abs/path/test_x.py:12: AssertionError: message"), which the worker
// sends; for a report without it (an older JSON report), the longrepr when
// the worker rendered it in that style, else the location on the
// longrepr's last line and the test's message. Herd's crashes and timeouts
// show the nodeid and what happened.
func crashLine(test *result.Test) string {
	lr := strings.TrimSpace(test.Longrepr)
	if test.Outcome == result.Failed {
		if test.CrashLine != "" {
			return test.CrashLine
		}
		if lr != "" && !strings.Contains(lr, "\n") {
			return lr
		}
		last := lr[strings.LastIndexByte(lr, '\n')+1:]
		if path, line, _, ok := skipLocation(last); ok && test.Message != "" {
			return fmt.Sprintf("%s:%d: %s", path, line, test.Message)
		}
		if test.Message == "" {
			return test.NodeID
		}
		return test.NodeID + ": " + test.Message
	}
	return test.NodeID + ": " + crashHeadline(test)
}

// summaryStalls prints each worker process herd killed because it hung
// outside any test: the cause, the kill, and the stacks it dumped.
func (t *Terminal) summaryStalls(run *result.Run) {
	if len(run.Stalls) == 0 {
		return
	}
	t.tw.sep("=", "worker stalls", escYellow)
	for _, st := range run.Stalls {
		t.tw.sep("_", st.Worker+" at "+st.When, escYellow, escBold)
		for _, l := range StallLines(st) {
			t.tw.line(l)
		}
		if st.Stacks != "" {
			t.tw.sep("-", "stacks ("+st.Worker+")")
			t.tw.line(strings.TrimSuffix(st.Stacks, "\n"))
		} else if st.StderrTail != "" {
			t.tw.sep("-", "Captured stderr (worker)")
			t.tw.line(strings.TrimSuffix(st.StderrTail, "\n"))
		}
	}
}

// summaryMisses prints, under --affected --verify, each test --affected
// would have left out whose outcome changed.
func (t *Terminal) summaryMisses(run *result.Run) {
	a := run.Affected
	if a == nil || !a.Verify {
		return
	}
	if len(a.Misses) == 0 {
		t.tw.line(fmt.Sprintf("affected --verify: no misses: the %d tests --affected would have left out kept their outcomes", a.Total-a.Selected))
		return
	}
	t.tw.sep("=", "affected misses", escRed)
	for _, m := range a.Misses {
		t.tw.line(fmt.Sprintf("MISS %s - was %s, now %s; --affected would have left it out", m.NodeID, m.Was, m.Now))
	}
}

// StallLines says in a few lines why and how herd killed a stalled worker:
// the cause, its last test, and the kill.
func StallLines(st result.Stall) []string {
	lines := []string{st.Cause}
	if st.LastTest != "" {
		lines = append(lines, "its last test: "+st.LastTest)
	}
	kill := fmt.Sprintf("herd asked for its stacks (SIGUSR1) and killed it at %.1fs: kill stage %s, %s", st.At.Seconds(), st.KillStage, st.Exit)
	if st.KillStage == "" {
		kill = fmt.Sprintf("herd asked for its stacks (SIGUSR1) at %.1fs; it ended: %s", st.At.Seconds(), st.Exit)
	}
	lines = append(lines, kill)
	if st.Stacks == "" {
		lines = append(lines, "it wrote no stack dump: its faulthandler did not answer SIGUSR1 (a stopped process, or a handler of its own replaced herd's)")
	}
	return lines
}

// summaryWarnings prints the warnings summary, grouping warnings by
// message and collapsing ten or more locations into counts per file.
func (t *Terminal) summaryWarnings(run *result.Run) {
	if len(run.Warnings) == 0 {
		return
	}
	var order []string
	groups := make(map[string][]result.Warning)
	for _, w := range run.Warnings {
		if _, ok := groups[w.Message]; !ok {
			order = append(order, w.Message)
		}
		groups[w.Message] = append(groups[w.Message], w)
	}
	t.tw.sep("=", "warnings summary", escYellow)
	for _, msg := range order {
		var locations []string
		for _, w := range groups[msg] {
			if w.NodeID != "" {
				locations = append(locations, w.NodeID)
			}
		}
		if len(locations) >= 10 {
			var files []string
			perFile := make(map[string]int)
			for _, l := range locations {
				f, _, _ := strings.Cut(l, "::")
				if perFile[f] == 0 {
					files = append(files, f)
				}
				perFile[f]++
			}
			locations = locations[:0]
			for _, f := range files {
				s := ""
				if perFile[f] > 1 {
					s = "s"
				}
				locations = append(locations, fmt.Sprintf("%s: %d warning%s", f, perFile[f], s))
			}
		}
		if len(locations) > 0 {
			t.tw.line(strings.Join(locations, "\n"))
			lines := strings.Split(msg, "\n")
			for i, l := range lines {
				lines[i] = "  " + l
			}
			msg = strings.Join(lines, "\n")
		}
		t.tw.line(strings.TrimRight(msg, " \t\r\n"))
		t.tw.line("")
	}
	t.tw.line("-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html")
}

// summaryPasses prints the PASSES section (-rP): the captured output of
// passed tests that have any.
func (t *Terminal) summaryPasses(run *result.Run) {
	var passed []*result.Test
	for _, test := range run.Tests {
		if test.Outcome == result.Passed {
			passed = append(passed, test)
		}
	}
	if len(passed) == 0 {
		return
	}
	t.tw.sep("=", "PASSES")
	for _, test := range passed {
		if len(test.Sections) > 0 {
			t.tw.sep("_", headLine(test), escGreen, escBold)
			t.outrep(test.Longrepr, test.Sections)
		}
	}
}

// summaryDurations prints the slowest durations section (--durations).
func (t *Terminal) summaryDurations(run *result.Run) {
	if t.opts.Durations < 0 {
		return
	}
	tests := run.Slowest(0)
	if len(tests) == 0 {
		return
	}
	if t.opts.Durations == 0 {
		t.tw.sep("=", "slowest durations")
	} else {
		t.tw.sep("=", fmt.Sprintf("slowest %d durations", t.opts.Durations))
		if len(tests) > t.opts.Durations {
			tests = tests[:t.opts.Durations]
		}
	}
	limit := t.opts.DurationsMin
	for i, test := range tests {
		secs := test.Duration.Seconds()
		if t.opts.Verbosity < 2 && secs < limit {
			t.tw.writeLine("")
			t.tw.writeLine(fmt.Sprintf("(%d durations < %ss hidden.  Use -vv to show these durations.)",
				len(tests)-i, strconv.FormatFloat(limit, 'g', 6, 64)))
			break
		}
		// herd measures one duration per test; pytest's "when" column
		// shows it as the call.
		t.tw.writeLine(fmt.Sprintf("%.2fs %-8s %s", secs, "call", test.NodeID))
	}
}

// expandReportChars resolves pytest's -r value into the report characters
// in effect, as pytest's getreportopt does: "a" means "sxXEf", "A" means
// "PpsxXEf", "N" clears, "F" and "S" are old spellings of "f" and "s". herd's
// own "n" (tests not run) is part of "a" and "A".
func expandReportChars(chars string) string {
	var opts []rune
	for _, c := range chars {
		switch c {
		case 'F':
			c = 'f'
		case 'S':
			c = 's'
		}
		switch c {
		case 'a':
			opts = []rune("sxXEfn")
		case 'A':
			opts = []rune("PpsxXEfn")
		case 'N':
			opts = nil
		default:
			if !strings.ContainsRune(string(opts), c) {
				opts = append(opts, c)
			}
		}
	}
	return string(opts)
}

// summaryLine formats one short-summary line, "WORD nodeid - message",
// trimming the message to the terminal width as pytest does off CI.
func (t *Terminal) summaryLine(word, color, nodeid, msg string) string {
	plain := word + " " + t.rel(nodeid)
	marked := t.tw.markup(word, colorCode(color)) + " " + t.markNodeID(nodeid)
	if msg == "" {
		return marked
	}
	if t.opts.CI {
		return marked + " - " + msg
	}
	trimmed, ok := formatTrimmed(" - ", msg, t.opts.Width-textWidth(plain))
	if !ok {
		return marked
	}
	return marked + trimmed
}

// markNodeID shows a nodeid relative to the invocation directory, with the
// part after its path in bold.
func (t *Terminal) markNodeID(nodeid string) string {
	nodeid = t.rel(nodeid)
	path, rest, ok := strings.Cut(nodeid, "::")
	if !ok {
		return nodeid
	}
	return path + "::" + t.tw.markup(rest, escBold)
}

// formatTrimmed returns prefix+msg using only msg's first line and cutting
// it with "..." to fit width columns; ok is false when not even the prefix
// and the ellipsis fit (pytest's _format_trimmed).
func formatTrimmed(prefix, msg string, width int) (string, bool) {
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	const ellipsis = "..."
	pw := textWidth(prefix)
	if pw+len(ellipsis) > width {
		return "", false
	}
	if pw+textWidth(msg) > width {
		width -= len(ellipsis)
		msg = truncateWidth(msg, width-pw)
		msg += ellipsis
	}
	return prefix + msg, true
}

// skipLocation splits a one-line "path:line: text" location, the shape of
// a skip's longrepr and of a traceback's last line.
func skipLocation(s string) (path string, line int, reason string, ok bool) {
	if strings.Contains(s, "\n") {
		return "", 0, "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		rest := s[i+1:]
		num, after, found := strings.Cut(rest, ": ")
		if !found {
			return "", 0, "", false
		}
		if n, err := strconv.Atoi(num); err == nil && n > 0 && i > 0 {
			return s[:i], n, after, true
		}
	}
	return "", 0, "", false
}

// shortTestSummary prints the short test summary for the -r characters, in
// their order.
func (t *Terminal) shortTestSummary(run *result.Run) {
	chars := expandReportChars(t.opts.ReportChars)
	var lines []string
	for _, c := range chars {
		switch c {
		case 'f':
			for _, test := range run.Tests {
				if isFailure(test.Outcome) {
					word, color := outcomeWord(test.Outcome)
					lines = append(lines, t.summaryLine(word, color, test.NodeID, failureMessage(test)))
				}
			}
			for _, test := range run.Tests {
				if test.Outcome == result.Flaky && len(test.Attempts) > 0 {
					// A flaky test passed in the end; its first failure says
					// what to look at.
					first := test.Attempts[0]
					msg := fmt.Sprintf("passed on try %d; first %s: %s", len(test.Attempts)+1, first.Outcome, first.Message)
					lines = append(lines, t.summaryLine("FLAKY", "yellow", test.NodeID, msg))
				}
			}
			for _, test := range run.Tests {
				if test.Outcome == result.Interrupted {
					// Cut short by Ctrl-C: pytest names where it stopped too.
					lines = append(lines, t.summaryLine("INTERRUPTED", "yellow", test.NodeID, failureMessage(test)))
				}
			}
		case 'n':
			// herd's own letter: the tests that never started (-x,
			// --maxfail, Ctrl-C), one line each. -ra and -rA include it.
			for _, test := range run.Tests {
				if test.Outcome == result.NotRun {
					lines = append(lines, t.summaryLine("NOT RUN", "yellow", test.NodeID, failureMessage(test)))
				}
			}
		case 'E':
			for _, ce := range run.CollectionErrors {
				lines = append(lines, t.tw.markup("ERROR", escRed)+" "+t.markNodeID(ce.Path))
			}
			for _, test := range run.Tests {
				if test.Outcome == result.Error {
					lines = append(lines, t.summaryLine("ERROR", "red", test.NodeID, test.Message))
				}
				for _, p := range test.Extra {
					lines = append(lines, t.summaryLine("ERROR", "red", test.NodeID, p.Message))
				}
			}
		case 'p':
			for _, test := range run.Tests {
				if test.Outcome == result.Passed {
					lines = append(lines, t.summaryLine("PASSED", "green", test.NodeID, ""))
				}
			}
		case 'x':
			for _, test := range run.Tests {
				if test.Outcome == result.XFailed {
					line := t.tw.markup("XFAIL", escYellow) + " " + t.markNodeID(test.NodeID)
					if test.Message != "" {
						line += " - " + test.Message
					}
					lines = append(lines, line)
				}
			}
		case 'X':
			for _, test := range run.Tests {
				if test.Outcome == result.XPassed {
					line := t.tw.markup("XPASS", escYellow) + " " + t.markNodeID(test.NodeID)
					if test.Message != "" {
						line += " " + test.Message
					}
					lines = append(lines, line)
				}
			}
		case 's':
			lines = append(lines, t.foldedSkips(run)...)
		}
	}
	if len(lines) == 0 {
		return
	}
	t.tw.sep("=", "short test summary info", escCyan, escBold)
	for _, l := range lines {
		t.tw.writeLine(l)
	}
}

// foldedSkips groups skipped tests by location and reason, as pytest's
// "SKIPPED [2] test_a.py:11: reason" lines do. The location comes from a
// "path:line: reason" longrepr, else from the test's own file and line.
func (t *Terminal) foldedSkips(run *result.Run) []string {
	type key struct {
		path   string
		line   int
		reason string
	}
	var order []key
	count := make(map[key]int)
	for _, test := range run.Tests {
		if test.Outcome != result.Skipped {
			continue
		}
		k := key{reason: test.Message}
		if path, line, reason, ok := skipLocation(strings.TrimSpace(test.Longrepr)); ok {
			k.path, k.line = path, line
			if k.reason == "" {
				k.reason = reason
			}
		} else {
			k.path, k.line = test.File, test.Line
			if k.path == "" {
				k.path, _, _ = strings.Cut(test.NodeID, "::")
			}
		}
		k.reason = strings.TrimPrefix(k.reason, "Skipped: ")
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	lines := make([]string, 0, len(order))
	word := t.tw.markup("SKIPPED", escYellow)
	for _, k := range order {
		if k.line > 0 {
			lines = append(lines, fmt.Sprintf("%s [%d] %s:%d: %s", word, count[k], k.path, k.line, k.reason))
		} else {
			lines = append(lines, fmt.Sprintf("%s [%d] %s: %s", word, count[k], k.path, k.reason))
		}
	}
	return lines
}
