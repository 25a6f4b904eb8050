package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/herd-run/herd/internal/result"
)

// JSONVersion is the version of the JSON report's schema.
const JSONVersion = 1

// jsonReport is the JSON document; field order is the key order.
type jsonReport struct {
	Version          int                      `json:"version"`
	HerdVersion      string                   `json:"herd_version"`
	Collected        int                      `json:"collected"`
	Duration         float64                  `json:"duration"`
	Interrupted      bool                     `json:"interrupted"`
	Summary          map[result.Outcome]int   `json:"summary"`
	Tests            []jsonTest               `json:"tests"`
	CollectionErrors []result.CollectionError `json:"collection_errors"`
}

type jsonTest struct {
	NodeID   string         `json:"nodeid"`
	Outcome  result.Outcome `json:"outcome"`
	Duration float64        `json:"duration"`
	Worker   string         `json:"worker"`
	Longrepr string         `json:"longrepr"`
	Message  string         `json:"message"`
	Reason   string         `json:"reason"`
	Crash    *jsonCrash     `json:"crash"`
	// Diagnosis is what rerunning a crashed test alone found, or null.
	Diagnosis *jsonDiagnosis `json:"diagnosis"`
	// Leaks are the processes and threads the test left running.
	Leaks []string `json:"leaks"`
	// Sections is the test's captured output, as pytest titles it.
	Sections []result.Section `json:"sections"`
	// Attempts are the earlier tries of a retried test, oldest first.
	Attempts []jsonAttempt `json:"attempts"`
}

type jsonAttempt struct {
	Outcome  result.Outcome `json:"outcome"`
	Duration float64        `json:"duration"`
	Worker   string         `json:"worker"`
	Message  string         `json:"message"`
	Longrepr string         `json:"longrepr"`
	Crash    *jsonCrash     `json:"crash"`
}

type jsonDiagnosis struct {
	Rerun        result.Outcome `json:"rerun"`
	CrashedAlone bool           `json:"crashed_alone"`
	Cause        string         `json:"cause"`
	Marker       string         `json:"marker"`
	Summary      string         `json:"summary"`
}

type jsonCrash struct {
	Signal     string   `json:"signal"`
	ExitCode   *int     `json:"exit_code"`
	StderrTail string   `json:"stderr_tail"`
	KillStage  string   `json:"kill_stage"`
	Phase      string   `json:"phase"`
	PriorTests []string `json:"prior_tests"`
}

// WriteJSON writes run as one JSON document: the run's totals, a summary
// counting each outcome that occurred, every test once in run order, and the
// collection errors. Every test has the same keys; lists are [] rather than
// null when empty, and crash and diagnosis are null when there is none.
func WriteJSON(w io.Writer, run *result.Run) error {
	doc := jsonReport{
		Version:          JSONVersion,
		HerdVersion:      run.Info.Version,
		Collected:        run.Collected,
		Duration:         run.Duration.Seconds(),
		Interrupted:      run.Interrupted,
		Summary:          make(map[result.Outcome]int),
		Tests:            make([]jsonTest, 0, len(run.Tests)),
		CollectionErrors: make([]result.CollectionError, 0, len(run.CollectionErrors)),
	}
	for o, n := range run.Summary() {
		if n > 0 {
			doc.Summary[o] = n
		}
	}
	for _, t := range run.Tests {
		jt := jsonTest{
			NodeID:   t.NodeID,
			Outcome:  t.Outcome,
			Duration: t.Duration.Seconds(),
			Worker:   t.Worker,
			Longrepr: t.Longrepr,
			Message:  t.Message,
			Reason:   t.Reason,
			Leaks:    append([]string{}, t.Leaks...),
			Sections: append([]result.Section{}, t.Sections...),
			Attempts: jsonAttempts(t.Attempts),
		}
		if c := t.Crash; c != nil {
			jt.Crash = newJSONCrash(c)
		}
		if d := t.Diagnosis; d != nil {
			jt.Diagnosis = &jsonDiagnosis{
				Rerun:        d.Rerun,
				CrashedAlone: d.CrashedAlone,
				Cause:        d.Cause,
				Marker:       d.Marker,
				Summary:      d.Summary,
			}
		}
		doc.Tests = append(doc.Tests, jt)
	}
	doc.CollectionErrors = append(doc.CollectionErrors, run.CollectionErrors...)

	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

func jsonAttempts(in []result.Attempt) []jsonAttempt {
	out := make([]jsonAttempt, 0, len(in))
	for _, a := range in {
		ja := jsonAttempt{Outcome: a.Outcome, Duration: a.Duration.Seconds(), Worker: a.Worker, Message: a.Message, Longrepr: a.Longrepr}
		if a.Crash != nil {
			ja.Crash = newJSONCrash(a.Crash)
		}
		out = append(out, ja)
	}
	return out
}

func newJSONCrash(c *result.Crash) *jsonCrash {
	return &jsonCrash{
		Signal:     c.Signal,
		ExitCode:   c.ExitCode,
		StderrTail: c.StderrTail,
		KillStage:  c.KillStage,
		Phase:      c.Phase,
		PriorTests: append([]string{}, c.PriorTests...),
	}
}
