package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// roundTripRun is htmlRun (timeline, crashes, a retried test) with every
// other field the JSON report holds set as well.
func roundTripRun() *result.Run {
	run := htmlRun()
	run.Deselected = 4
	run.MaxfailReached = true
	run.Interrupted = true
	run.InterruptReason = "stopping after 3 failures"
	run.Info.InvocationDir = "/tmp/rep1/sub"
	run.Warnings = append(run.Warnings, result.Warning{Message: "config warning without a test"})
	run.Stalls = stalledRun().Stalls
	ts := run.Tests
	ts[0].File, ts[0].Line = "test_a.py", 3
	ts[0].Markers = []string{"slow"}
	ts[1].Extra = append(ts[1].Extra, result.Phase{When: "setup", Message: "m", Longrepr: "l",
		Sections: []result.Section{{Title: "Captured log setup", Content: "x\n"}}})
	ts[1].Attempts[0].Sections = []result.Section{{Title: "Captured stdout call", Content: "try 1\n"}}
	ts[1].Outcome = result.Flaky
	ts[2].Policy = "group"
	ts[8].Attempts = []result.Attempt{{Outcome: result.Crashed, Worker: "gw1", Process: 1, Start: ms(1), Stop: ms(2),
		Duration: ms(1), Crash: &result.Crash{Death: result.Death{Reason: result.DeathCrash, Signal: "SIGABRT"}, PriorTests: []string{"a"}}}}
	ts[10].Duration = 1234567891 * time.Nanosecond
	return run
}

// withoutUnkept is run with only what the JSON report holds: a fresh Run
// with those fields copied, so fields added to result.Run later read as
// zero on both sides.
func withoutUnkept(run *result.Run) *result.Run {
	c := &result.Run{
		Info: result.Info{
			Version:    run.Info.Version,
			Python:     run.Info.Python,
			PythonPath: run.Info.PythonPath,
			Pytest:     run.Info.Pytest,
			Rootdir:    run.Info.Rootdir,
			Workers:    run.Info.Workers,
		},
		Collected:        run.Collected,
		Deselected:       run.Deselected,
		Duration:         run.Duration,
		CollectionErrors: run.CollectionErrors,
		Warnings:         run.Warnings,
		Interrupted:      run.Interrupted,
		InterruptReason:  run.InterruptReason,
		MaxfailReached:   run.MaxfailReached,
		WorkerDeaths:     run.WorkerDeaths,
		Stalls:           run.Stalls,
	}
	for _, t := range run.Tests {
		c.Tests = append(c.Tests, &result.Test{
			NodeID: t.NodeID, File: t.File, Line: t.Line, Outcome: t.Outcome, Duration: t.Duration,
			Worker: t.Worker, Process: t.Process, Policy: t.Policy, Attempts: t.Attempts,
			Longrepr: t.Longrepr, Message: t.Message, HeadLine: t.HeadLine, Reason: t.Reason,
			Sections: t.Sections, Crash: t.Crash, Start: t.Start, Stop: t.Stop,
			Diagnosis: t.Diagnosis, Leaks: t.Leaks, Extra: t.Extra,
		})
	}
	return c
}

func readBack(t *testing.T, run *result.Run) (*result.Run, []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, run); err != nil {
		t.Fatal(err)
	}
	out, err := ReadJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("ReadJSON: %v\n%s", err, b.String())
	}
	return out, b.Bytes()
}

func TestReadJSONRoundTrip(t *testing.T) {
	for name, run := range map[string]*result.Run{
		"full":             roundTripRun(),
		"passed":           passedRun(),
		"collection error": collectionErrorRun(),
		"empty":            {},
	} {
		got, first := readBack(t, run)
		want := withoutUnkept(run)
		if !reflect.DeepEqual(got, want) {
			for i := range want.Tests {
				if i < len(got.Tests) && !reflect.DeepEqual(got.Tests[i], want.Tests[i]) {
					t.Errorf("%s: tests[%d] read back as\n%+v\nwant\n%+v", name, i, *got.Tests[i], *want.Tests[i])
				}
			}
			got.Tests, want.Tests = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: run read back as\n%+v\nwant\n%+v", name, *got, *want)
			}
		}
		// Writing what was read gives the same bytes.
		var again bytes.Buffer
		if err := WriteJSON(&again, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), first) {
			t.Errorf("%s: written, read and written again differs from the first write", name)
		}
	}
}

// TestReadJSONKeepsTheTimeline: the HTML report of a run read back from
// JSON is the HTML report of the run.
func TestReadJSONKeepsTheTimeline(t *testing.T) {
	run := roundTripRun()
	got, _ := readBack(t, run)
	opts := HTMLOptions{Title: "t", Generated: htmlTime}
	if a, b := writeHTMLString(t, run, opts), writeHTMLString(t, got, opts); a != b {
		t.Errorf("the HTML report of the run read back from JSON differs from the run's")
	}
}

func TestReadJSONErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`nope`, "read json report: "},
		{`{"tests": []}`, "not a herd JSON report"},
		{`{"version": 99, "tests": []}`, "version 99 is newer"},
		{`{"version": 1, "tests": [{"nodeid": "a.py::t", "outcome": "meh"}]}`, `a.py::t has unknown outcome "meh"`},
		{`{"version": 1, "tests": [{"outcome": "passed"}]}`, "tests[0] has no nodeid"},
	} {
		_, err := ReadJSON(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadJSON(%s) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}

// TestReadJSONOlderReport: a report without the keys herd added later
// reads with zero values there.
func TestReadJSONOlderReport(t *testing.T) {
	in := `{"version": 1, "herd_version": "0.0.9", "collected": 1, "duration": 0.5, "interrupted": false,
  "summary": {"failed": 1},
  "tests": [{"nodeid": "a.py::t", "outcome": "failed", "duration": 0.25, "worker": "gw0", "longrepr": "E boom",
    "message": "boom", "reason": "", "crash": null, "diagnosis": null, "leaks": [], "sections": [], "attempts": []}],
  "collection_errors": []}`
	run, err := ReadJSON(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &result.Run{Info: result.Info{Version: "0.0.9"}, Collected: 1, Duration: 500 * time.Millisecond,
		Tests: []*result.Test{{NodeID: "a.py::t", Outcome: result.Failed, Duration: 250 * time.Millisecond, Worker: "gw0",
			Longrepr: "E boom", Message: "boom"}}}
	if !reflect.DeepEqual(run, want) {
		t.Errorf("got %+v\nwant %+v", run, want)
	}
}
