package run

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

func skipReason(longrepr string) string {
	// "path:line: reason" -> "reason"
	parts := strings.SplitN(longrepr, ": ", 2)
	if len(parts) == 2 {
		return parts[1]
	}
	return longrepr
}

func fmtSeconds(d time.Duration) string {
	return fmt.Sprintf("%gs", d.Seconds())
}

// withPassed adds to reports those that done message m stands for (phases
// that passed plainly), in phase order.
func withPassed(reports []protocol.Report, m *protocol.Message) []protocol.Report {
	if m.PassedPhases == "" {
		return reports
	}
	all := append(m.PassedReports(), reports...)
	if len(reports) > 0 {
		sort.SliceStable(all, func(a, b int) bool { return phaseRank(all[a].When) < phaseRank(all[b].When) })
	}
	return all
}

// phaseRank orders a test's phases: setup, call, teardown.
func phaseRank(when string) int {
	switch when {
	case "setup":
		return 0
	case "call":
		return 1
	}
	return 2
}

// phaseOf says in which phase the running test ended: the worker's phase
// board says so when it is about this test (the worker's starts-th), else
// the reports received tell.
func phaseOf(reports []protocol.Report, board protocol.Board, starts uint32) string {
	if board.Phase != "" && board.Seq == starts {
		return board.Phase
	}
	phase := "setup"
	for _, r := range reports {
		switch r.When {
		case "setup":
			phase = "call"
		case "call":
			phase = "teardown"
		}
	}
	return phase
}

func headLine(id string) string {
	if i := strings.Index(id, "::"); i >= 0 {
		return strings.ReplaceAll(id[i+2:], "::", ".")
	}
	return id
}

// finalize turns a test's phase reports into its one outcome, following
// pytest's own classification of each phase.
func finalize(res *result.Test, reports []protocol.Report) {
	var dur float64
	var setup, call, teardown *protocol.Report
	res.PhaseDurations = [3]time.Duration{}
	for k := range reports {
		r := &reports[k]
		dur += r.Duration
		switch r.When {
		case "setup":
			setup = r
		case "call":
			call = r
		case "teardown":
			teardown = r
		}
		res.PhaseDurations[phaseRank(r.When)] += time.Duration(r.Duration * float64(time.Second))
	}
	res.Duration = time.Duration(dur * float64(time.Second))
	res.When, res.Output = "", nil
	if teardown != nil {
		res.Output = toSections(teardown.Sections)
	}
	var main *protocol.Report
	switch {
	case setup != nil && setup.Outcome != "passed":
		main = setup
	case call != nil:
		main = call
	case setup != nil:
		main = setup
	}
	if main == nil {
		res.Outcome = result.Error
		res.Longrepr = "herd: the worker sent no report for this test"
		res.Message = "no report"
		return
	}
	res.Outcome = outcomeOf(main)
	res.When = main.When
	res.Longrepr = main.Longrepr
	res.Message = main.Message
	res.HeadLine = main.HeadLine
	res.CrashLine = main.CrashLine
	res.Sections = toSections(main.Sections)
	if res.Outcome == result.XFailed || res.Outcome == result.XPassed {
		// pytest's summary gives the xfail reason, not the exception.
		res.Message = main.WasXfail
	}
	if teardown != nil && teardown.Outcome == "failed" {
		extra := result.Phase{When: "teardown", Longrepr: teardown.Longrepr, Message: teardown.Message, Sections: toSections(teardown.Sections)}
		if res.Outcome == result.Failed || res.Outcome == result.Error {
			res.Extra = append(res.Extra, extra)
		} else {
			res.Outcome = result.Error
			res.When = "teardown"
			res.Longrepr = teardown.Longrepr
			res.Message = teardown.Message
			if teardown.HeadLine != "" {
				res.HeadLine = teardown.HeadLine
			}
			res.Sections = extra.Sections
		}
	} else if teardown != nil && res.Outcome.IsFailure() {
		// pytest shows a failed test's teardown output below its failure;
		// the teardown report repeats the earlier sections, so only the
		// teardown ones are new.
		for _, sec := range teardown.Sections {
			if strings.Contains(sec.Title, "teardown") {
				res.Sections = append(res.Sections, result.Section{Title: sec.Title, Content: sec.Content})
			}
		}
	}
	if res.HeadLine == "" {
		res.HeadLine = headLine(res.NodeID)
	}
}

func outcomeOf(r *protocol.Report) result.Outcome {
	switch r.Category {
	case "passed":
		return result.Passed
	case "failed":
		if r.When != "call" {
			return result.Error
		}
		return result.Failed
	case "error":
		return result.Error
	case "skipped":
		return result.Skipped
	case "xfailed":
		return result.XFailed
	case "xpassed":
		return result.XPassed
	}
	switch r.Outcome {
	case "passed":
		return result.Passed
	case "skipped":
		return result.Skipped
	}
	if r.When != "call" {
		return result.Error
	}
	return result.Failed
}

// toProperties turns record_property's name/value pairs into the result's.
func toProperties(in [][2]string) []result.Property {
	if len(in) == 0 {
		return nil
	}
	out := make([]result.Property, len(in))
	for i, p := range in {
		out[i] = result.Property{Name: p[0], Value: p[1]}
	}
	return out
}

func toSections(in []protocol.Section) []result.Section {
	if len(in) == 0 {
		return nil
	}
	out := make([]result.Section, len(in))
	for i, s := range in {
		out[i] = result.Section{Title: s.Title, Content: s.Content}
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
