// Package result holds the outcomes of a herd run: one Test per collected
// test, the Run that contains them, and the Event model that every reporter
// reads. It is a leaf package: it imports nothing from herd.
package result

import (
	"sort"
	"time"
)

// Outcome is the single final state of one collected test.
type Outcome string

// The outcomes a test can end with. Every collected test ends with exactly one.
const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Error   Outcome = "error"
	Skipped Outcome = "skipped"
	XFailed Outcome = "xfailed"
	XPassed Outcome = "xpassed"
	Crashed Outcome = "crashed"
	Timeout Outcome = "timeout"
	NotRun  Outcome = "not_run"
	// Interrupted is a test that was running when Ctrl-C stopped the run
	// and had not finished when herd killed its worker (InterruptGrace
	// after the first Ctrl-C, at once after the second).
	Interrupted Outcome = "interrupted"
	// Flaky is a test that failed, was retried (--retries, or its flaky
	// marker) and then passed. Its failed tries are in Attempts.
	Flaky Outcome = "flaky"
)

// Outcomes lists every outcome in the order pytest's closing line names them
// (failures first), which is also the order reports use.
var Outcomes = []Outcome{Failed, Crashed, Timeout, Passed, Flaky, Skipped, XFailed, XPassed, Error, Interrupted, NotRun}

// IsFailure reports whether the outcome makes the run fail (exit code 1).
func (o Outcome) IsFailure() bool {
	switch o {
	case Failed, Error, Crashed, Timeout:
		return true
	}
	return false
}

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool {
	for _, k := range Outcomes {
		if o == k {
			return true
		}
	}
	return false
}

// Section is one titled block of captured output, as pytest names them
// ("Captured stdout call", "Captured log setup", ...).
type Section struct {
	Title   string `json:"title"`
	Content string `json:"content"`
}

// Crash describes how a worker died while it ran a test (outcome crashed) or
// how it was killed when the test ran too long (outcome timeout).
type Crash struct {
	// Death is how and why the worker ended: its signal or exit code, the
	// kill stage, the reason (crash or timeout).
	Death
	// StderrTail is the last part of the worker's stderr, which holds the
	// Python traceback faulthandler wrote at the moment of death.
	StderrTail string
	// Phase is where the worker was when it died: "setup", "call",
	// "teardown", or empty when unknown.
	Phase string
	// PriorTests are the tests that ran earlier on the same worker process,
	// oldest first.
	PriorTests []string
}

// Test is the result of one collected test.
type Test struct {
	NodeID string `json:"nodeid"`
	// File and Line locate the test (Line is 1-based; 0 when unknown).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`

	Outcome  Outcome       `json:"outcome"`
	Duration time.Duration `json:"-"`
	// Worker names the worker that ran the test ("gw0"), empty for not_run.
	Worker string `json:"worker"`
	// Process counts the processes of the worker's slot: 1 for the first,
	// 2 for its first replacement, and so on. Worker and Process together
	// name one worker process (one lane of a timeline).
	Process int `json:"process,omitempty"`
	// Policy is the test's scheduling policy: "", "exclusive", "group",
	// "isolated".
	Policy string `json:"policy,omitempty"`
	// Attempts are the earlier tries of a retried test, oldest first; the
	// fields above describe the last one.
	Attempts []Attempt `json:"attempts,omitempty"`
	// Longrepr is the failure or skip representation as pytest renders it
	// with the run's --tb style.
	Longrepr string `json:"longrepr"`
	// Message is the one-line reason used in the short test summary.
	Message string `json:"message,omitempty"`
	// HeadLine is the title pytest prints above a failure ("test_x").
	HeadLine string `json:"-"`
	// CrashLine is the failure in one line, as pytest prints it under
	// --tb=line: "/abs/path/test_x.py:12: AssertionError: message".
	CrashLine string `json:"-"`
	// Reason says why a test did not run (outcome not_run) or did not
	// finish (outcome interrupted).
	Reason string `json:"reason,omitempty"`
	// Sections is captured output, already filtered by --show-capture.
	Sections []Section `json:"sections,omitempty"`
	Crash    *Crash    `json:"crash"`
	// Start and Stop are offsets from the start of the run.
	Start time.Duration `json:"-"`
	Stop  time.Duration `json:"-"`
	// Markers are the names of the markers on the test.
	Markers []string `json:"-"`
	// Diagnosis says what a rerun alone found, for a crashed test.
	Diagnosis *Diagnosis `json:"diagnosis,omitempty"`
	// Leaks describes the processes and non-daemon threads the test left
	// running ("process 1234: sleep 100"); herd killed the processes.
	Leaks []string `json:"leaks,omitempty"`
	// Extra holds extra failure representations, such as a teardown error
	// after the call failed; pytest reports those as separate errors.
	Extra []Phase `json:"-"`
	// When is the phase whose report gave the outcome: "setup", "call" or
	// "teardown"; empty when no report did (crashed, timeout, not_run).
	When string `json:"-"`
	// PhaseDurations are the durations of setup, call and teardown, as
	// pytest's reports give them (JUnit's junit_duration_report).
	PhaseDurations [3]time.Duration `json:"-"`
	// Output is the captured output of all the test's phases, as its
	// teardown report holds it: what pytest's junitxml writes
	// (junit_logging). Nil when the teardown report held none.
	Output []Section `json:"-"`
	// Properties are what the test recorded with pytest's record_property
	// fixture, in order; JUnit writes them.
	Properties []Property `json:"-"`
}

// Property is one name and value a test recorded with record_property.
type Property struct {
	Name, Value string
}

// Diagnosis is the result of rerunning a crashed test alone: in a fresh
// worker, with nothing else running. The test's first outcome stands; this
// only explains it.
type Diagnosis struct {
	// Rerun is the outcome of the rerun; crashed when it crashed again.
	Rerun Outcome `json:"rerun"`
	// CrashedAlone says the test crashes even alone.
	CrashedAlone bool `json:"crashed_alone"`
	// Cause names the likely cause when the test crashed only beside other
	// tests (parallel-unsafe), empty otherwise.
	Cause string `json:"cause,omitempty"`
	// Marker is the marker line to add to the test, when one would help.
	Marker string `json:"marker,omitempty"`
	// Summary says all of it in one sentence.
	Summary string `json:"summary"`
}

// Phase is one extra failure representation of a test (a setup or teardown
// error that pytest would print as a separate ERROR entry).
type Phase struct {
	When     string
	Longrepr string
	Message  string
	Sections []Section
}

// Attempt is one earlier try of a retried test.
type Attempt struct {
	Outcome  Outcome
	Duration time.Duration
	Worker   string
	Process  int
	Start    time.Duration
	Stop     time.Duration
	Longrepr string
	Message  string
	Sections []Section
	Crash    *Crash
}

// CollectionError is a file or node that failed to collect.
type CollectionError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Warning is one warning recorded while running the suite.
type Warning struct {
	NodeID  string
	Message string
}

// Stall is a worker process that hung outside any test (in collection,
// between tests, or at session end after the controller asked it to shut
// down) until herd dumped its stacks and killed it.
type Stall struct {
	// Worker names the worker ("gw1"); Process counts its slot's processes
	// (1 for the first).
	Worker  string
	Process int
	// When is where it hung: "collection", "between tests" or
	// "session end".
	When string
	// Cause says what herd waited for and how long, in a sentence: "worker
	// gw1 did not end within 60s of the shutdown request".
	Cause string
	// LastTest is the last test the process ran, empty when none.
	LastTest string
	// At is when herd gave up on it, from the start of the run.
	At time.Duration
	// KillStage names the last stage of the kill escalation that fired
	// ("stacks", "SIGTERM", "SIGKILL"); Exit says how the process ended
	// ("killed by SIGTERM").
	KillStage string
	Exit      string
	// Stacks is the stack dump faulthandler wrote on herd's SIGUSR1, empty
	// when none came; StderrTail is the end of the worker's stderr.
	Stacks     string
	StderrTail string
}

// Info describes the environment of a run; it is known once the first worker
// has started.
type Info struct {
	Version     string
	Python      string
	PythonPath  string
	Pytest      string
	HeaderLines []string
	Rootdir     string
	// CacheDir is pytest's cache directory; empty when the cache plugin is
	// disabled (-p no:cacheprovider).
	CacheDir string
	// InvocationDir is the directory herd was started in. pytest shows
	// nodeids relative to it when it differs from Rootdir.
	InvocationDir string
	Workers       int
	// Options are the pytest options the workers parsed (command line and
	// ini addopts) that reports follow.
	Options Options
	// Cov is pytest-cov's options as JSON when coverage is on.
	Cov []byte
}

// Options are the effective pytest options that shape reports.
type Options struct {
	Verbose     int
	ReportChars string
	TBStyle     string
	ShowCapture string
	// Durations is --durations: -1 when not given, 0 for all.
	Durations    int
	DurationsMin float64
	JUnitXML     string
	// JUnit is pytest's junitxml settings; the zero value is pytest's
	// defaults.
	JUnit JUnit
}

// JUnit is pytest's junitxml settings (ini options and --junit-prefix).
// Each zero value stands for pytest's default.
type JUnit struct {
	// SuiteName is junit_suite_name ("" for "pytest").
	SuiteName string
	// Logging is junit_logging: no, log, system-out, system-err, out-err
	// or all ("" for "no").
	Logging string
	// NoLogPassing is junit_log_passing_tests = false.
	NoLogPassing bool
	// DurationReport is junit_duration_report: total or call ("" for
	// "total").
	DurationReport string
	// Family is junit_family: xunit1, legacy or xunit2 ("" for "xunit2").
	Family string
	// Prefix is --junit-prefix, put before every classname.
	Prefix string
}

// Run is everything a report needs about a finished run.
type Run struct {
	Info      Info
	Collected int
	// Deselected counts the tests that -k, -m or a plugin deselected.
	Deselected int
	Duration   time.Duration
	// Tests holds one entry per collected test, in collection order.
	Tests            []*Test
	CollectionErrors []CollectionError
	// CollectionLines are what plugins print after pytest's collected
	// line, such as --lf's "run-last-failure: rerun previous 3 failures".
	CollectionLines []string
	Warnings        []Warning
	// Interrupted is set when the run ended early (Ctrl-C, collection
	// errors); InterruptReason says why in pytest's words.
	Interrupted     bool
	InterruptReason string
	// MaxfailReached is set when -x or --maxfail stopped scheduling.
	MaxfailReached bool
	// WorkerDeaths counts the workers that died during the run.
	WorkerDeaths int
	// Stalls are the worker processes herd killed because they hung
	// outside any test, in the order they ended.
	Stalls []Stall
	// FlakyFails makes flaky tests fail the run (--flaky-fails).
	FlakyFails bool
	// Coverage is pytest-cov's report for the terminal, empty without
	// --cov; CoverageFailed says --cov-fail-under was not reached.
	Coverage       string
	CoverageFailed bool
	// Affected is what --affected chose; nil without it. Its unselected
	// tests are counted in Unaffected, not in Deselected (without
	// --verify, which runs them).
	Affected   *Affected
	Unaffected int
}

// Affected is what --affected chose for a run.
type Affected struct {
	// Rev is the revision the changes were taken since; "" when there is
	// no git repository and only the records count.
	Rev string
	// All says every test ran because of Why (a change no record maps,
	// or no records yet).
	All bool
	Why string
	// Changed are the files that changed, sorted.
	Changed []string
	// Selected counts the tests chosen, Total those collected.
	Selected, Total int
	// Verify is --verify: every test ran; Misses are the tests whose
	// outcome changed although --affected would have left them out.
	Verify bool
	Misses []Miss
}

// Miss is a test --affected would have left out whose outcome changed:
// Was is the outcome recorded for it, Now the one it had.
type Miss struct {
	NodeID string
	Was    Outcome
	Now    Outcome
}

// Summary counts the tests of each outcome.
func (r *Run) Summary() map[Outcome]int {
	m := make(map[Outcome]int)
	for _, t := range r.Tests {
		m[t.Outcome]++
	}
	return m
}

// Failed reports whether any test has a failing outcome.
func (r *Run) Failed() bool {
	for _, t := range r.Tests {
		if t.Outcome.IsFailure() || (r.FlakyFails && t.Outcome == Flaky) {
			return true
		}
	}
	return false
}

// Slowest returns up to n tests that ran, longest first; n <= 0 means all.
func (r *Run) Slowest(n int) []*Test {
	var ts []*Test
	for _, t := range r.Tests {
		if t.Outcome != NotRun && t.Outcome != Interrupted {
			ts = append(ts, t)
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Duration > ts[j].Duration })
	if n > 0 && len(ts) > n {
		ts = ts[:n]
	}
	return ts
}

// EventKind names what happened in an Event.
type EventKind string

// The kinds of events a run emits, in the order they usually come.
const (
	RunStarted    EventKind = "run_started"
	Collected     EventKind = "collected"
	WorkerStarted EventKind = "worker_started"
	WorkerDied    EventKind = "worker_died"
	TestStarted   EventKind = "test_started"
	TestFinished  EventKind = "test_finished"
	RunFinished   EventKind = "run_finished"
	// Tick comes about every 100 ms while the run goes on, and says only
	// that time passed: a reporter that holds output back writes it then.
	// The event stream leaves it out.
	Tick EventKind = "tick"
)

// Event is one thing that happened during a run. Every reporter reads the same
// events; the dispatcher emits them from one goroutine, in order.
type Event struct {
	Kind EventKind
	// Time is the offset from the start of the run.
	Time time.Duration
	// Worker names the worker involved ("gw0"), if any.
	Worker string
	// NodeID names the test involved, for TestStarted.
	NodeID string
	// Test is the finished test, for TestFinished.
	Test *Test
	// Run is the run so far: set for Collected and RunFinished.
	Run *Run
	// Info is set for RunStarted.
	Info *Info
	// Death is how and why the worker ended, for WorkerDied.
	Death *Death
	// Process is the worker's process number in its slot (see
	// Test.Process), for worker events.
	Process int
	// PID is the worker's process id, for WorkerStarted.
	PID int
}

// Sink receives the events of a run. Handle is called from one goroutine.
type Sink interface {
	Handle(Event)
}
