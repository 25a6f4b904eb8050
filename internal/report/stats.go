package report

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herd-run/herd/internal/result"
)

// FormatDuration formats a session duration as pytest's closing line does:
// "4.21s" below a minute, "75.12s (0:01:15)" from a minute on.
func FormatDuration(d time.Duration) string {
	secs := d.Seconds()
	if secs < 60 {
		return fmt.Sprintf("%.2fs", secs)
	}
	whole := int64(secs)
	days := whole / 86400
	rest := whole % 86400
	clock := fmt.Sprintf("%d:%02d:%02d", rest/3600, rest%3600/60, rest%60)
	switch {
	case days == 1:
		clock = "1 day, " + clock
	case days > 1:
		clock = fmt.Sprintf("%d days, %s", days, clock)
	}
	return fmt.Sprintf("%.2fs (%s)", secs, clock)
}

// StatPart is one piece of the closing line, such as "2 failed", with the
// colour pytest gives it ("red", "green" or "yellow").
type StatPart struct {
	Text  string
	Color string
}

// errorCount counts what pytest would report as errors: tests that errored,
// extra setup or teardown errors of any test, and collection errors.
func errorCount(run *result.Run) int {
	n := len(run.CollectionErrors)
	for _, t := range run.Tests {
		if t.Outcome == result.Error {
			n++
		}
		n += len(t.Extra)
	}
	return n
}

// plural returns "N noun" with an "s" added when count is not one, for the
// nouns pytest pluralizes (error, warning).
func plural(count int, noun string) string {
	if count == 1 {
		return fmt.Sprintf("%d %s", count, noun)
	}
	return fmt.Sprintf("%d %ss", count, noun)
}

// SummaryStats returns the parts of pytest's closing line for run in
// pytest's order (failed, passed, skipped, deselected, xfailed, xpassed,
// warnings, error), with herd's crashed and timed out right after failed, and
// interrupted and not run last, plus the main colour of the line. A run where nothing
// happened yields the single part "no tests ran".
func SummaryStats(run *result.Run) (parts []StatPart, main string) {
	counts := run.Summary()
	errs := errorCount(run)
	warns := len(run.Warnings)

	switch {
	case counts[result.Failed] > 0 || counts[result.Crashed] > 0 || counts[result.Timeout] > 0 || errs > 0:
		main = "red"
	case warns > 0 || counts[result.XPassed] > 0 || counts[result.NotRun] > 0 || counts[result.Flaky] > 0 || counts[result.Interrupted] > 0:
		main = "yellow"
	case counts[result.Passed] > 0:
		main = "green"
	default:
		main = "yellow"
	}

	add := func(n int, text, color string) {
		if n > 0 {
			parts = append(parts, StatPart{Text: text, Color: color})
		}
	}
	add(counts[result.Failed], fmt.Sprintf("%d failed", counts[result.Failed]), "red")
	add(counts[result.Crashed], fmt.Sprintf("%d crashed", counts[result.Crashed]), "red")
	add(counts[result.Timeout], fmt.Sprintf("%d timed out", counts[result.Timeout]), "red")
	add(counts[result.Passed], fmt.Sprintf("%d passed", counts[result.Passed]), "green")
	add(counts[result.Flaky], fmt.Sprintf("%d flaky", counts[result.Flaky]), "yellow")
	add(counts[result.Skipped], fmt.Sprintf("%d skipped", counts[result.Skipped]), "yellow")
	add(run.Deselected, fmt.Sprintf("%d deselected", run.Deselected), "yellow")
	add(run.Unaffected, fmt.Sprintf("%d deselected (unaffected)", run.Unaffected), "yellow")
	if a := run.Affected; a != nil && a.Verify {
		word := "misses"
		if len(a.Misses) == 1 {
			word = "miss"
		}
		add(len(a.Misses), fmt.Sprintf("%d %s", len(a.Misses), word), "red")
	}
	add(counts[result.XFailed], fmt.Sprintf("%d xfailed", counts[result.XFailed]), "yellow")
	add(counts[result.XPassed], fmt.Sprintf("%d xpassed", counts[result.XPassed]), "yellow")
	add(warns, plural(warns, "warning"), "yellow")
	add(errs, plural(errs, "error"), "red")
	add(counts[result.Interrupted], fmt.Sprintf("%d interrupted", counts[result.Interrupted]), "yellow")
	add(counts[result.NotRun], fmt.Sprintf("%d not run", counts[result.NotRun]), "yellow")
	if len(parts) == 0 {
		parts = []StatPart{{Text: "no tests ran", Color: "yellow"}}
	}
	return parts, main
}

// ClosingText returns pytest's closing line for run without separators or
// colour, such as "2 failed, 130 passed, 1 error in 4.21s".
func ClosingText(run *result.Run) string {
	parts, _ := SummaryStats(run)
	texts := make([]string, len(parts))
	for i, p := range parts {
		texts[i] = p.Text
	}
	return strings.Join(texts, ", ") + " in " + FormatDuration(run.Duration)
}

// ClosingLine returns the closing line as pytest prints it in a terminal
// width columns wide: framed by "=" unless quiet (verbosity -1), and in
// pytest's colours when color is set. It has no trailing newline.
func ClosingLine(run *result.Run, width int, quiet, color bool) string {
	parts, main := SummaryStats(run)
	w := &termWriter{width: width, color: color}
	plain := make([]string, len(parts))
	marked := make([]string, len(parts))
	for i, p := range parts {
		plain[i] = p.Text
		codes := []string{colorCode(p.Color)}
		if p.Color == main {
			codes = append(codes, escBold)
		}
		marked[i] = w.markup(p.Text, codes...)
	}
	duration := " in " + FormatDuration(run.Duration)
	plainMsg := strings.Join(plain, ", ") + duration
	msg := strings.Join(marked, ", ") + w.markup(duration, colorCode(main))
	if quiet {
		return w.markup(msg, colorCode(main))
	}
	if color {
		// pytest re-opens the main colour so the right-hand fill is coloured.
		msg += colorCode(main)
	}
	return w.markup(sepLineWidth("=", msg, utf8.RuneCountInString(plainMsg), width), colorCode(main))
}
