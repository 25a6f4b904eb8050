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
	Version     int    `json:"version"`
	HerdVersion string `json:"herd_version"`
	Collected   int    `json:"collected"`
	// Deselected counts the tests -k, -m, a plugin or --shard deselected.
	Deselected  int     `json:"deselected"`
	Duration    float64 `json:"duration"`
	Interrupted bool    `json:"interrupted"`
	// InterruptReason says why the run ended early, in pytest's words.
	InterruptReason string `json:"interrupt_reason"`
	// MaxfailReached says -x or --maxfail stopped the run.
	MaxfailReached bool `json:"maxfail_reached"`
	// Workers is the number of worker slots; WorkerDeaths how many worker
	// processes died.
	Workers      int `json:"workers"`
	WorkerDeaths int `json:"worker_deaths"`
	// Python is the interpreter's version, PythonPath its path.
	Python           string                   `json:"python"`
	PythonPath       string                   `json:"python_path"`
	Pytest           string                   `json:"pytest"`
	Rootdir          string                   `json:"rootdir"`
	Summary          map[result.Outcome]int   `json:"summary"`
	Tests            []jsonTest               `json:"tests"`
	CollectionErrors []result.CollectionError `json:"collection_errors"`
	Warnings         []jsonWarning            `json:"warnings"`
	// Stalls are the worker processes herd killed because they hung
	// outside any test (at session end, say), with their stacks.
	Stalls []jsonStall `json:"stalls"`
}

type jsonStall struct {
	Worker  string `json:"worker"`
	Process int    `json:"process"`
	// When is "collection", "between tests" or "session end".
	When     string `json:"when"`
	Cause    string `json:"cause"`
	LastTest string `json:"last_test"`
	// At is when herd gave up on the process, in seconds from the start.
	At         float64 `json:"at"`
	KillStage  string  `json:"kill_stage"`
	Exit       string  `json:"exit"`
	Stacks     string  `json:"stacks"`
	StderrTail string  `json:"stderr_tail"`
}

type jsonWarning struct {
	NodeID  string `json:"nodeid"`
	Message string `json:"message"`
}

type jsonTest struct {
	NodeID string `json:"nodeid"`
	// File and Line locate the test ("" and 0 when unknown).
	File     string         `json:"file"`
	Line     int            `json:"line"`
	Outcome  result.Outcome `json:"outcome"`
	Duration float64        `json:"duration"`
	Worker   string         `json:"worker"`
	// Process counts the processes of the worker's slot (1 for the first);
	// 0 when the test did not run.
	Process int `json:"process"`
	// Start and Stop are seconds from the start of the run.
	Start float64 `json:"start"`
	Stop  float64 `json:"stop"`
	// Policy is "", "exclusive", "group" or "isolated".
	Policy string `json:"policy"`
	// HeadLine is the title pytest prints above the test's failure.
	HeadLine string `json:"head_line"`
	// CrashLine is a failed test's one line under --tb=line.
	CrashLine string     `json:"crash_line,omitempty"`
	Longrepr  string     `json:"longrepr"`
	Message   string     `json:"message"`
	Reason    string     `json:"reason"`
	Crash     *jsonCrash `json:"crash"`
	// Diagnosis is what rerunning a crashed test alone found, or null.
	Diagnosis *jsonDiagnosis `json:"diagnosis"`
	// Leaks are the processes and threads the test left running.
	Leaks []string `json:"leaks"`
	// Sections is the test's captured output, as pytest titles it.
	Sections []result.Section `json:"sections"`
	// Extra are further errors of the test (a teardown error after a
	// failed call), which pytest reports as separate errors.
	Extra []jsonPhase `json:"extra"`
	// Attempts are the earlier tries of a retried test, oldest first.
	Attempts []jsonAttempt `json:"attempts"`
}

type jsonPhase struct {
	When     string           `json:"when"`
	Message  string           `json:"message"`
	Longrepr string           `json:"longrepr"`
	Sections []result.Section `json:"sections"`
}

type jsonAttempt struct {
	Outcome  result.Outcome   `json:"outcome"`
	Duration float64          `json:"duration"`
	Worker   string           `json:"worker"`
	Process  int              `json:"process"`
	Start    float64          `json:"start"`
	Stop     float64          `json:"stop"`
	Message  string           `json:"message"`
	Longrepr string           `json:"longrepr"`
	Sections []result.Section `json:"sections"`
	Crash    *jsonCrash       `json:"crash"`
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
// counting each outcome that occurred, every test once in run order, the
// collection errors, the warnings and the workers that stalled. ReadJSON reads it back. Every test has the same keys; lists are [] rather than
// null when empty, and crash and diagnosis are null when there is none.
func WriteJSON(w io.Writer, run *result.Run) error {
	doc := jsonReport{
		Version:          JSONVersion,
		HerdVersion:      run.Info.Version,
		Collected:        run.Collected,
		Deselected:       run.Deselected,
		Duration:         run.Duration.Seconds(),
		Interrupted:      run.Interrupted,
		InterruptReason:  run.InterruptReason,
		MaxfailReached:   run.MaxfailReached,
		Workers:          run.Info.Workers,
		WorkerDeaths:     run.WorkerDeaths,
		Python:           run.Info.Python,
		PythonPath:       run.Info.PythonPath,
		Pytest:           run.Info.Pytest,
		Rootdir:          run.Info.Rootdir,
		Summary:          make(map[result.Outcome]int),
		Tests:            make([]jsonTest, 0, len(run.Tests)),
		CollectionErrors: make([]result.CollectionError, 0, len(run.CollectionErrors)),
		Warnings:         make([]jsonWarning, 0, len(run.Warnings)),
		Stalls:           make([]jsonStall, 0, len(run.Stalls)),
	}
	for _, st := range run.Stalls {
		doc.Stalls = append(doc.Stalls, jsonStall{
			Worker: st.Worker, Process: st.Process, When: st.When, Cause: st.Cause,
			LastTest: st.LastTest, At: st.At.Seconds(), KillStage: st.KillStage,
			Exit: st.Exit, Stacks: st.Stacks, StderrTail: st.StderrTail,
		})
	}
	for _, w := range run.Warnings {
		doc.Warnings = append(doc.Warnings, jsonWarning{NodeID: w.NodeID, Message: w.Message})
	}
	for o, n := range run.Summary() {
		if n > 0 {
			doc.Summary[o] = n
		}
	}
	for _, t := range run.Tests {
		jt := jsonTest{
			NodeID:    t.NodeID,
			File:      t.File,
			Line:      t.Line,
			Outcome:   t.Outcome,
			Duration:  t.Duration.Seconds(),
			Worker:    t.Worker,
			Process:   t.Process,
			Start:     t.Start.Seconds(),
			Stop:      t.Stop.Seconds(),
			Policy:    t.Policy,
			HeadLine:  t.HeadLine,
			CrashLine: t.CrashLine,
			Longrepr:  t.Longrepr,
			Message:   t.Message,
			Reason:    t.Reason,
			Leaks:     append([]string{}, t.Leaks...),
			Sections:  append([]result.Section{}, t.Sections...),
			Extra:     make([]jsonPhase, 0, len(t.Extra)),
			Attempts:  jsonAttempts(t.Attempts),
		}
		for _, x := range t.Extra {
			jt.Extra = append(jt.Extra, jsonPhase{When: x.When, Message: x.Message, Longrepr: x.Longrepr,
				Sections: append([]result.Section{}, x.Sections...)})
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
		ja := jsonAttempt{Outcome: a.Outcome, Duration: a.Duration.Seconds(), Worker: a.Worker, Process: a.Process,
			Start: a.Start.Seconds(), Stop: a.Stop.Seconds(), Message: a.Message, Longrepr: a.Longrepr,
			Sections: append([]result.Section{}, a.Sections...)}
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
