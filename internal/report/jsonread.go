package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// ReadJSON reads a report WriteJSON wrote back into a run: its totals,
// tests (outcomes, durations, workers and processes, start and stop times,
// failure and skip texts, crashes, diagnoses, leaks, captured output, extra
// errors, earlier attempts), collection errors, warnings and stalls. What the JSON
// does not hold stays zero: the session header lines, the pytest options
// (verbosity, -r, --tb), the tests' markers, --flaky-fails. Keys it does not
// know are ignored, and keys a report of an older herd lacks read as zero.
// Empty lists read as nil.
func ReadJSON(r io.Reader) (*result.Run, error) {
	var doc jsonReport
	dec := json.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("read json report: %w", err)
	}
	switch {
	case doc.Version == 0:
		return nil, fmt.Errorf("read json report: not a herd JSON report (it has no version)")
	case doc.Version > JSONVersion:
		return nil, fmt.Errorf("read json report: version %d is newer than this herd reads (%d)", doc.Version, JSONVersion)
	}
	run := &result.Run{
		Info: result.Info{
			Version:    doc.HerdVersion,
			Python:     doc.Python,
			PythonPath: doc.PythonPath,
			Pytest:     doc.Pytest,
			Rootdir:    doc.Rootdir,
			Workers:    doc.Workers,
		},
		Collected:       doc.Collected,
		Deselected:      doc.Deselected,
		Duration:        fromSeconds(doc.Duration),
		Interrupted:     doc.Interrupted,
		InterruptReason: doc.InterruptReason,
		MaxfailReached:  doc.MaxfailReached,
		WorkerDeaths:    doc.WorkerDeaths,
	}
	for _, st := range doc.Stalls {
		run.Stalls = append(run.Stalls, result.Stall{
			Worker: st.Worker, Process: st.Process, When: st.When, Cause: st.Cause,
			LastTest: st.LastTest, At: fromSeconds(st.At), KillStage: st.KillStage,
			Exit: st.Exit, Stacks: st.Stacks, StderrTail: st.StderrTail,
		})
	}
	for i, jt := range doc.Tests {
		if jt.NodeID == "" {
			return nil, fmt.Errorf("read json report: tests[%d] has no nodeid", i)
		}
		if !jt.Outcome.Valid() {
			return nil, fmt.Errorf("read json report: %s has unknown outcome %q", jt.NodeID, jt.Outcome)
		}
		t := &result.Test{
			NodeID:    jt.NodeID,
			File:      jt.File,
			Line:      jt.Line,
			Outcome:   jt.Outcome,
			Duration:  fromSeconds(jt.Duration),
			Worker:    jt.Worker,
			Process:   jt.Process,
			Start:     fromSeconds(jt.Start),
			Stop:      fromSeconds(jt.Stop),
			Policy:    jt.Policy,
			HeadLine:  jt.HeadLine,
			CrashLine: jt.CrashLine,
			Longrepr:  jt.Longrepr,
			Message:   jt.Message,
			Reason:    jt.Reason,
			Crash:     readCrash(jt.Crash),
			Leaks:     nonEmpty(jt.Leaks),
			Sections:  nonEmpty(jt.Sections),
		}
		if d := jt.Diagnosis; d != nil {
			t.Diagnosis = &result.Diagnosis{Rerun: d.Rerun, CrashedAlone: d.CrashedAlone, Cause: d.Cause, Marker: d.Marker, Summary: d.Summary}
		}
		for _, x := range jt.Extra {
			t.Extra = append(t.Extra, result.Phase{When: x.When, Message: x.Message, Longrepr: x.Longrepr, Sections: nonEmpty(x.Sections)})
		}
		for _, a := range jt.Attempts {
			if !a.Outcome.Valid() {
				return nil, fmt.Errorf("read json report: %s has an attempt with unknown outcome %q", jt.NodeID, a.Outcome)
			}
			t.Attempts = append(t.Attempts, result.Attempt{
				Outcome:  a.Outcome,
				Duration: fromSeconds(a.Duration),
				Worker:   a.Worker,
				Process:  a.Process,
				Start:    fromSeconds(a.Start),
				Stop:     fromSeconds(a.Stop),
				Longrepr: a.Longrepr,
				Message:  a.Message,
				Sections: nonEmpty(a.Sections),
				Crash:    readCrash(a.Crash),
			})
		}
		run.Tests = append(run.Tests, t)
	}
	run.CollectionErrors = nonEmpty(doc.CollectionErrors)
	for _, w := range doc.Warnings {
		run.Warnings = append(run.Warnings, result.Warning{NodeID: w.NodeID, Message: w.Message})
	}
	return run, nil
}

func readCrash(c *jsonCrash) *result.Crash {
	if c == nil {
		return nil
	}
	return &result.Crash{
		Signal:     c.Signal,
		ExitCode:   c.ExitCode,
		StderrTail: c.StderrTail,
		KillStage:  c.KillStage,
		Phase:      c.Phase,
		PriorTests: nonEmpty(c.PriorTests),
	}
}

// fromSeconds inverts time.Duration.Seconds exactly for durations under
// about a hundred days.
func fromSeconds(s float64) time.Duration {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return 0
	}
	return time.Duration(math.Round(s * float64(time.Second)))
}

func nonEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
