package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/herd-run/herd/internal/codec"
	"github.com/herd-run/herd/internal/result"
)

// EventsVersion is the version of the event stream's format: the "v" of
// every line. It changes only when a key changes meaning or goes away; new
// keys and new event kinds may appear in the same version.
const EventsVersion = 1

// EventWriter is a result.Sink that writes each event as it happens, one
// JSON object per line (NDJSON). Every line has "v", "event" and "time"
// (seconds since the run started) and then the keys of its kind; see the
// README's "Event stream" section.
type EventWriter struct {
	w   io.Writer
	err error
}

// NewEventWriter returns an EventWriter that writes to w. Each event is one
// Write call of one whole line.
func NewEventWriter(w io.Writer) *EventWriter {
	return &EventWriter{w: w}
}

// Err returns the first error writing to the stream; after it, the writer
// drops events.
func (e *EventWriter) Err() error { return e.err }

// eventHead is the part every line has, in this key order.
type eventHead struct {
	V     int              `json:"v"`
	Event result.EventKind `json:"event"`
	Time  float64          `json:"time"`
}

type runStartedEvent struct {
	eventHead
	HerdVersion string `json:"herd_version"`
	Python      string `json:"python"`
	PythonPath  string `json:"python_path"`
	Pytest      string `json:"pytest"`
	Rootdir     string `json:"rootdir"`
	Workers     int    `json:"workers"`
}

type collectedEvent struct {
	eventHead
	Collected        int                      `json:"collected"`
	Deselected       int                      `json:"deselected"`
	CollectionErrors []result.CollectionError `json:"collection_errors"`
}

type workerStartedEvent struct {
	eventHead
	Worker  string `json:"worker"`
	Process int    `json:"process"`
	PID     int    `json:"pid"`
}

type workerDiedEvent struct {
	eventHead
	Worker  string `json:"worker"`
	Process int    `json:"process"`
	Message string `json:"message"`
	// Cause is why herd killed the worker itself, when it did.
	Cause string `json:"cause,omitempty"`
	// The death's typed keys: reason, signal, exit_code, kill_stage...
	codec.Death
}

type testStartedEvent struct {
	eventHead
	Worker string `json:"worker"`
	NodeID string `json:"nodeid"`
}

type testFinishedEvent struct {
	eventHead
	Worker   string         `json:"worker"`
	Process  int            `json:"process"`
	NodeID   string         `json:"nodeid"`
	Outcome  result.Outcome `json:"outcome"`
	Duration float64        `json:"duration"`
	Message  string         `json:"message"`
	Crash    *codec.Crash   `json:"crash"`
	Attempts int            `json:"attempts"`
}

type runFinishedEvent struct {
	eventHead
	Summary    map[result.Outcome]int `json:"summary"`
	Duration   float64                `json:"duration"`
	ExitStatus string                 `json:"exit_status"`
}

// Handle writes ev as one line. Events of unknown kinds are written with
// the common keys only.
func (e *EventWriter) Handle(ev result.Event) {
	if e.err != nil || ev.Kind == result.Tick {
		return
	}
	head := eventHead{V: EventsVersion, Event: ev.Kind, Time: seconds(ev.Time)}
	var line any = head
	switch ev.Kind {
	case result.RunStarted:
		var info result.Info
		if ev.Info != nil {
			info = *ev.Info
		}
		line = runStartedEvent{head, info.Version, info.Python, info.PythonPath, info.Pytest, info.Rootdir, info.Workers}
	case result.Collected:
		c := collectedEvent{eventHead: head, CollectionErrors: []result.CollectionError{}}
		if r := ev.Run; r != nil {
			c.Collected = r.Collected
			c.Deselected = r.Deselected
			c.CollectionErrors = append(c.CollectionErrors, r.CollectionErrors...)
		}
		line = c
	case result.WorkerStarted:
		line = workerStartedEvent{head, ev.Worker, ev.Process, ev.PID}
	case result.WorkerDied:
		died := workerDiedEvent{eventHead: head, Worker: ev.Worker, Process: ev.Process}
		if d := ev.Death; d != nil {
			w := DeathWords(*d)
			died.Message, died.Cause, died.Death = w.Message, w.Why, codec.EncodeDeath(*d)
		}
		line = died
	case result.TestStarted:
		line = testStartedEvent{head, ev.Worker, ev.NodeID}
	case result.TestFinished:
		f := testFinishedEvent{eventHead: head, Worker: ev.Worker, NodeID: ev.NodeID}
		if t := ev.Test; t != nil {
			if t.Worker != "" {
				f.Worker = t.Worker
			}
			f.NodeID = t.NodeID
			f.Process = t.Process
			f.Outcome = t.Outcome
			f.Duration = seconds(t.Duration)
			f.Message = failureMessage(t)
			f.Attempts = len(t.Attempts)
			f.Crash = codec.EncodeCrash(t.Crash)
		}
		line = f
	case result.RunFinished:
		f := runFinishedEvent{eventHead: head, Summary: map[result.Outcome]int{}, ExitStatus: "passed"}
		if r := ev.Run; r != nil {
			for o, n := range r.Summary() {
				if n > 0 {
					f.Summary[o] = n
				}
			}
			f.Duration = seconds(r.Duration)
			f.ExitStatus = ExitStatus(r)
		}
		line = f
	}
	b, err := json.Marshal(line)
	if err != nil {
		e.err = fmt.Errorf("write event stream: %w", err)
		return
	}
	b = append(b, '\n')
	if _, err := e.w.Write(b); err != nil {
		e.err = fmt.Errorf("write event stream: %w", err)
	}
}

// Status is how a finished run ends, as herd's exit code says it.
type Status string

// The statuses of a finished run, with herd's exit code for each.
const (
	StatusPassed      Status = "passed"      // 0
	StatusFailed      Status = "failed"      // 1
	StatusInterrupted Status = "interrupted" // 2
	StatusNoTests     Status = "no_tests"    // 5
)

// RunStatus is how a finished run ends: interrupted, failed, no tests, or
// passed.
func RunStatus(r *result.Run) Status {
	switch {
	case r.Interrupted && !r.MaxfailReached:
		return StatusInterrupted
	case r.Failed(), r.CoverageFailed, r.Summary()[result.NotRun] > 0, len(r.CollectionErrors) > 0:
		// Tests that could not run (their workers kept dying) are no
		// success either, even when nothing failed.
		return StatusFailed
	case r.Affected != nil && len(r.Affected.Misses) > 0:
		// --verify caught a test --affected would have missed.
		return StatusFailed
	case r.Collected == 0 && r.Unaffected == 0:
		// A change that breaks nothing is a success under --affected.
		return StatusNoTests
	}
	return StatusPassed
}

// ExitStatus names how a finished run ends, as herd's exit code says it:
// "interrupted" (2), "failed" (1), "no_tests" (5) or "passed" (0).
func ExitStatus(r *result.Run) string { return string(RunStatus(r)) }

// seconds is d in seconds, rounded to the microsecond so that streams and
// reports do not carry float noise.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1e6) / 1e6
}
