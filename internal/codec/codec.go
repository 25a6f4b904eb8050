// Package codec is herd's one JSON encoding of test results and of runs:
// the JSON report (--report-json) is a Run, herd report merge reads it
// back, the event stream writes its crashes and worker deaths with it, and
// the queue stores each test's result as a Test. It imports only result, so
// report and queue can both use it.
package codec

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// Version is the version of the encoding. Version 2 added the typed death
// of a crash (its reason, limit and error); Decode reads version 1 too, and
// gives its crashes the reason their outcome implies.
const Version = 2

// Run is the JSON report: one document for a whole run. Field order is the
// key order.
type Run struct {
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
	Tests            []Test                   `json:"tests"`
	CollectionErrors []result.CollectionError `json:"collection_errors"`
	Warnings         []Warning                `json:"warnings"`
	// Stalls are the worker processes herd killed because they hung
	// outside any test (at session end, say), with their stacks.
	Stalls []Stall `json:"stalls"`
	// Unaffected counts the tests --affected left out; Affected says what
	// it chose and why (absent without --affected).
	Unaffected int       `json:"unaffected,omitempty"`
	Affected   *Affected `json:"affected,omitempty"`
}

// Affected is what --affected chose (result.Affected).
type Affected struct {
	Rev      string   `json:"rev"`
	All      bool     `json:"all"`
	Why      string   `json:"why,omitempty"`
	Changed  []string `json:"changed"`
	Selected int      `json:"selected"`
	Total    int      `json:"total"`
	Verify   bool     `json:"verify"`
	// Misses are, under --verify, the tests --affected would have left
	// out whose outcome changed.
	Misses []Miss `json:"misses,omitempty"`
}

// Miss is one test --verify caught.
type Miss struct {
	NodeID string         `json:"nodeid"`
	Was    result.Outcome `json:"was"`
	Now    result.Outcome `json:"now"`
}

// Stall is a worker process herd killed because it hung outside any test.
type Stall struct {
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

// Warning is one warning of the run.
type Warning struct {
	NodeID  string `json:"nodeid"`
	Message string `json:"message"`
}

// Test is the result of one test. Every test has the same keys; lists are
// [] rather than null when empty, and crash and diagnosis are null when
// there is none.
type Test struct {
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
	CrashLine string `json:"crash_line,omitempty"`
	Longrepr  string `json:"longrepr"`
	Message   string `json:"message"`
	Reason    string `json:"reason"`
	Crash     *Crash `json:"crash"`
	// Diagnosis is what rerunning a crashed test alone found, or null.
	Diagnosis *Diagnosis `json:"diagnosis"`
	// Leaks are the processes and threads the test left running.
	Leaks []string `json:"leaks"`
	// Sections is the test's captured output, as pytest titles it.
	Sections []result.Section `json:"sections"`
	// Extra are further errors of the test (a teardown error after a
	// failed call), which pytest reports as separate errors.
	Extra []Phase `json:"extra"`
	// Attempts are the earlier tries of a retried test, oldest first.
	Attempts []Attempt `json:"attempts"`
}

// Phase is one further error of a test.
type Phase struct {
	When     string           `json:"when"`
	Message  string           `json:"message"`
	Longrepr string           `json:"longrepr"`
	Sections []result.Section `json:"sections"`
}

// Attempt is one earlier try of a retried test.
type Attempt struct {
	Outcome  result.Outcome   `json:"outcome"`
	Duration float64          `json:"duration"`
	Worker   string           `json:"worker"`
	Process  int              `json:"process"`
	Start    float64          `json:"start"`
	Stop     float64          `json:"stop"`
	Message  string           `json:"message"`
	Longrepr string           `json:"longrepr"`
	Sections []result.Section `json:"sections"`
	Crash    *Crash           `json:"crash"`
}

// Diagnosis is what rerunning a crashed test alone found.
type Diagnosis struct {
	Rerun        result.Outcome `json:"rerun"`
	CrashedAlone bool           `json:"crashed_alone"`
	Cause        string         `json:"cause"`
	Marker       string         `json:"marker"`
	Summary      string         `json:"summary"`
}

// Crash is how the worker running a crashed or timed-out test ended. The
// keys of version 1 come first, in their order; Reason, Limit and Error
// are the rest of its typed death.
type Crash struct {
	Signal     string   `json:"signal"`
	ExitCode   *int     `json:"exit_code"`
	StderrTail string   `json:"stderr_tail"`
	KillStage  string   `json:"kill_stage"`
	Phase      string   `json:"phase"`
	PriorTests []string `json:"prior_tests"`
	// Reason is "crash" or "timeout" (see Death).
	Reason result.DeathReason `json:"reason"`
	// Limit is the timeout the test ran past, in seconds (0: none).
	Limit float64 `json:"limit,omitempty"`
	// Error says why herd could not tell how the worker ended.
	Error string `json:"error,omitempty"`
}

// Death is how and why one worker process ended, as the event stream's
// worker_died lines carry it.
type Death struct {
	// Reason is one of crash, timeout, collect_timeout, stuck, shutdown,
	// interrupt, handshake.
	Reason    result.DeathReason `json:"reason"`
	Signal    string             `json:"signal"`
	ExitCode  *int               `json:"exit_code"`
	KillStage string             `json:"kill_stage"`
	// Limit is the deadline the worker missed, in seconds (0: none).
	Limit float64 `json:"limit,omitempty"`
	// NodeID is the test it was running.
	NodeID string `json:"nodeid,omitempty"`
	// Error says why herd could not tell how it ended; Detail how its
	// handshake failed.
	Error  string `json:"error,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// EncodeRun is run as the JSON report holds it.
func EncodeRun(run *result.Run) Run {
	doc := Run{
		Version:          Version,
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
		Tests:            make([]Test, 0, len(run.Tests)),
		CollectionErrors: append(make([]result.CollectionError, 0, len(run.CollectionErrors)), run.CollectionErrors...),
		Warnings:         make([]Warning, 0, len(run.Warnings)),
		Stalls:           make([]Stall, 0, len(run.Stalls)),
		Unaffected:       run.Unaffected,
	}
	if a := run.Affected; a != nil {
		doc.Affected = &Affected{Rev: a.Rev, All: a.All, Why: a.Why, Changed: append([]string{}, a.Changed...),
			Selected: a.Selected, Total: a.Total, Verify: a.Verify}
		for _, m := range a.Misses {
			doc.Affected.Misses = append(doc.Affected.Misses, Miss{NodeID: m.NodeID, Was: m.Was, Now: m.Now})
		}
	}
	for _, st := range run.Stalls {
		doc.Stalls = append(doc.Stalls, Stall{
			Worker: st.Worker, Process: st.Process, When: st.When, Cause: st.Cause,
			LastTest: st.LastTest, At: st.At.Seconds(), KillStage: st.KillStage,
			Exit: st.Exit, Stacks: st.Stacks, StderrTail: st.StderrTail,
		})
	}
	for _, w := range run.Warnings {
		doc.Warnings = append(doc.Warnings, Warning{NodeID: w.NodeID, Message: w.Message})
	}
	for o, n := range run.Summary() {
		if n > 0 {
			doc.Summary[o] = n
		}
	}
	for _, t := range run.Tests {
		doc.Tests = append(doc.Tests, EncodeTest(t))
	}
	return doc
}

// EncodeTest is t as the JSON report's "tests" hold it.
func EncodeTest(t *result.Test) Test {
	jt := Test{
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
		Crash:     EncodeCrash(t.Crash),
		Leaks:     append([]string{}, t.Leaks...),
		Sections:  append([]result.Section{}, t.Sections...),
		Extra:     make([]Phase, 0, len(t.Extra)),
		Attempts:  make([]Attempt, 0, len(t.Attempts)),
	}
	for _, x := range t.Extra {
		jt.Extra = append(jt.Extra, Phase{When: x.When, Message: x.Message, Longrepr: x.Longrepr,
			Sections: append([]result.Section{}, x.Sections...)})
	}
	for _, a := range t.Attempts {
		jt.Attempts = append(jt.Attempts, Attempt{Outcome: a.Outcome, Duration: a.Duration.Seconds(), Worker: a.Worker,
			Process: a.Process, Start: a.Start.Seconds(), Stop: a.Stop.Seconds(), Message: a.Message,
			Longrepr: a.Longrepr, Sections: append([]result.Section{}, a.Sections...), Crash: EncodeCrash(a.Crash)})
	}
	if d := t.Diagnosis; d != nil {
		jt.Diagnosis = &Diagnosis{Rerun: d.Rerun, CrashedAlone: d.CrashedAlone, Cause: d.Cause, Marker: d.Marker, Summary: d.Summary}
	}
	return jt
}

// EncodeCrash is c as a test's "crash" holds it; nil for nil.
func EncodeCrash(c *result.Crash) *Crash {
	if c == nil {
		return nil
	}
	return &Crash{
		Signal:     c.Signal,
		ExitCode:   c.ExitCode,
		StderrTail: c.StderrTail,
		KillStage:  c.KillStage,
		Phase:      c.Phase,
		PriorTests: append([]string{}, c.PriorTests...),
		Reason:     c.Reason,
		Limit:      c.Limit.Seconds(),
		Error:      c.Error,
	}
}

// EncodeDeath is d as a worker_died line carries it.
func EncodeDeath(d result.Death) Death {
	return Death{Reason: d.Reason, Signal: d.Signal, ExitCode: d.ExitCode, KillStage: d.KillStage,
		Limit: d.Limit.Seconds(), NodeID: d.NodeID, Error: d.Error, Detail: d.Detail}
}

// DecodeDeath reads what EncodeDeath wrote.
func DecodeDeath(d Death) (result.Death, error) {
	if !d.Reason.Valid() {
		return result.Death{}, fmt.Errorf("unknown death reason %q", d.Reason)
	}
	return result.Death{Reason: d.Reason, Signal: d.Signal, ExitCode: d.ExitCode, KillStage: d.KillStage,
		Limit: FromSeconds(d.Limit), NodeID: d.NodeID, Error: d.Error, Detail: d.Detail}, nil
}

// WriteRun writes run as the JSON report: one indented document, in which
// <, > and & stay as they are.
func WriteRun(w io.Writer, run *result.Run) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(EncodeRun(run)); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

// ReadRun reads a JSON report back into a run (see DecodeRun).
func ReadRun(r io.Reader) (*result.Run, error) {
	var doc Run
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("read json report: %w", err)
	}
	run, err := DecodeRun(&doc)
	if err != nil {
		return nil, fmt.Errorf("read json report: %w", err)
	}
	return run, nil
}

// checkVersion accepts the versions Decode reads: 1 to Version.
func checkVersion(v int) error {
	switch {
	case v == 0:
		return fmt.Errorf("not a herd JSON report (it has no version)")
	case v > Version:
		return fmt.Errorf("version %d is newer than this herd reads (%d)", v, Version)
	}
	return nil
}

// DecodeRun is the run doc holds: its totals, tests (outcomes, durations,
// workers and processes, start and stop times, failure and skip texts,
// crashes, diagnoses, leaks, captured output, extra errors, earlier
// attempts), collection errors, warnings and stalls. What the JSON does not
// hold stays zero: the session header lines, the pytest options
// (verbosity, -r, --tb), the tests' markers, --flaky-fails. Keys a document
// of an older herd lacks read as zero, and empty lists as nil.
func DecodeRun(doc *Run) (*result.Run, error) {
	if err := checkVersion(doc.Version); err != nil {
		return nil, err
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
		Duration:        FromSeconds(doc.Duration),
		Interrupted:     doc.Interrupted,
		InterruptReason: doc.InterruptReason,
		MaxfailReached:  doc.MaxfailReached,
		WorkerDeaths:    doc.WorkerDeaths,
		Unaffected:      doc.Unaffected,
	}
	if a := doc.Affected; a != nil {
		run.Affected = &result.Affected{Rev: a.Rev, All: a.All, Why: a.Why, Changed: a.Changed,
			Selected: a.Selected, Total: a.Total, Verify: a.Verify}
		for _, m := range a.Misses {
			run.Affected.Misses = append(run.Affected.Misses, result.Miss{NodeID: m.NodeID, Was: m.Was, Now: m.Now})
		}
	}
	for _, st := range doc.Stalls {
		run.Stalls = append(run.Stalls, result.Stall{
			Worker: st.Worker, Process: st.Process, When: st.When, Cause: st.Cause,
			LastTest: st.LastTest, At: FromSeconds(st.At), KillStage: st.KillStage,
			Exit: st.Exit, Stacks: st.Stacks, StderrTail: st.StderrTail,
		})
	}
	for i := range doc.Tests {
		if doc.Tests[i].NodeID == "" {
			return nil, fmt.Errorf("tests[%d] has no nodeid", i)
		}
		t, err := DecodeTest(&doc.Tests[i], doc.Version)
		if err != nil {
			return nil, err
		}
		run.Tests = append(run.Tests, t)
	}
	run.CollectionErrors = nonEmpty(doc.CollectionErrors)
	for _, w := range doc.Warnings {
		run.Warnings = append(run.Warnings, result.Warning{NodeID: w.NodeID, Message: w.Message})
	}
	return run, nil
}

// DecodeTest is the test jt holds, written in the given version of the
// encoding.
func DecodeTest(jt *Test, version int) (*result.Test, error) {
	if err := checkVersion(version); err != nil {
		return nil, err
	}
	if !jt.Outcome.Valid() {
		return nil, fmt.Errorf("%s has unknown outcome %q", jt.NodeID, jt.Outcome)
	}
	t := &result.Test{
		NodeID:    jt.NodeID,
		File:      jt.File,
		Line:      jt.Line,
		Outcome:   jt.Outcome,
		Duration:  FromSeconds(jt.Duration),
		Worker:    jt.Worker,
		Process:   jt.Process,
		Start:     FromSeconds(jt.Start),
		Stop:      FromSeconds(jt.Stop),
		Policy:    jt.Policy,
		HeadLine:  jt.HeadLine,
		CrashLine: jt.CrashLine,
		Longrepr:  jt.Longrepr,
		Message:   jt.Message,
		Reason:    jt.Reason,
		Leaks:     nonEmpty(jt.Leaks),
		Sections:  nonEmpty(jt.Sections),
	}
	var err error
	if t.Crash, err = decodeCrash(jt.Crash, jt.NodeID, jt.Outcome, jt.Message); err != nil {
		return nil, err
	}
	if d := jt.Diagnosis; d != nil {
		t.Diagnosis = &result.Diagnosis{Rerun: d.Rerun, CrashedAlone: d.CrashedAlone, Cause: d.Cause, Marker: d.Marker, Summary: d.Summary}
	}
	for _, x := range jt.Extra {
		t.Extra = append(t.Extra, result.Phase{When: x.When, Message: x.Message, Longrepr: x.Longrepr, Sections: nonEmpty(x.Sections)})
	}
	for _, a := range jt.Attempts {
		if !a.Outcome.Valid() {
			return nil, fmt.Errorf("%s has an attempt with unknown outcome %q", jt.NodeID, a.Outcome)
		}
		c, err := decodeCrash(a.Crash, jt.NodeID, a.Outcome, a.Message)
		if err != nil {
			return nil, err
		}
		t.Attempts = append(t.Attempts, result.Attempt{
			Outcome:  a.Outcome,
			Duration: FromSeconds(a.Duration),
			Worker:   a.Worker,
			Process:  a.Process,
			Start:    FromSeconds(a.Start),
			Stop:     FromSeconds(a.Stop),
			Longrepr: a.Longrepr,
			Message:  a.Message,
			Sections: nonEmpty(a.Sections),
			Crash:    c,
		})
	}
	return t, nil
}

// decodeCrash is the crash c holds, of test nodeid whose outcome and
// message are given. A crash without a reason (version 1) gets the one its
// outcome implies, and a timeout its limit from the message herd wrote
// then ("timeout after 2s").
func decodeCrash(c *Crash, nodeid string, o result.Outcome, message string) (*result.Crash, error) {
	if c == nil {
		return nil, nil
	}
	d := result.Death{Reason: c.Reason, Signal: c.Signal, ExitCode: c.ExitCode, KillStage: c.KillStage,
		Limit: FromSeconds(c.Limit), Error: c.Error}
	switch {
	case d.Reason == "" && o == result.Timeout:
		d.Reason = result.DeathTimeout
		if s, ok := strings.CutPrefix(message, "timeout after "); ok {
			if secs, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64); err == nil {
				d.Limit = FromSeconds(secs)
			}
		}
	case d.Reason == "":
		d.Reason = result.DeathCrash
	case !d.Reason.Valid():
		return nil, fmt.Errorf("%s has a crash with unknown reason %q", nodeid, d.Reason)
	}
	return &result.Crash{Death: d, StderrTail: c.StderrTail, Phase: c.Phase, PriorTests: nonEmpty(c.PriorTests)}, nil
}

// MarshalTest is t as one compact JSON object: how the queue stores a
// result. UnmarshalTest reads it back, given the Version it was written in.
func MarshalTest(t *result.Test) (json.RawMessage, error) {
	b, err := json.Marshal(EncodeTest(t))
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t.NodeID, err)
	}
	return b, nil
}

// UnmarshalTest reads what MarshalTest wrote, in the given version of the
// encoding.
func UnmarshalTest(raw json.RawMessage, version int) (*result.Test, error) {
	var jt Test
	if err := json.Unmarshal(raw, &jt); err != nil {
		return nil, fmt.Errorf("decode a test: %w", err)
	}
	if jt.NodeID == "" {
		return nil, fmt.Errorf("decode a test: it has no nodeid")
	}
	t, err := DecodeTest(&jt, version)
	if err != nil {
		return nil, fmt.Errorf("decode a test: %w", err)
	}
	return t, nil
}

// FromSeconds inverts time.Duration.Seconds exactly for durations under
// about a hundred days.
func FromSeconds(s float64) time.Duration {
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
