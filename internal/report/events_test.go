package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// eventSequence is what a run of mixedRun's tests on two workers could
// emit: workers start before the session, gw1 dies on test_segv and comes
// back as process 2, and gw0 is killed when test_hang times out.
func eventSequence() []result.Event {
	run := fullRun()
	byID := map[string]*result.Test{}
	for _, t := range run.Tests {
		byID[t.NodeID] = t
	}
	segv := byID["test_native.py::test_segv"]
	segv.Process = 1
	hang := byID["test_slow.py::test_hang"]
	hang.Process = 2
	fail := byID["test_a.py::test_fail"]
	fail.Process = 1
	fail.Attempts = []result.Attempt{{Outcome: result.Failed, Worker: "gw0", Process: 1}}
	info := run.Info
	return []result.Event{
		{Kind: result.WorkerStarted, Time: ms(3), Worker: "gw0", Process: 1, PID: 4100},
		{Kind: result.WorkerStarted, Time: ms(4), Worker: "gw1", Process: 1, PID: 4101},
		{Kind: result.RunStarted, Time: ms(250), Info: &info},
		{Kind: result.Collected, Time: ms(400), Run: run},
		{Kind: result.TestStarted, Time: ms(401), Worker: "gw0", NodeID: fail.NodeID},
		{Kind: result.TestStarted, Time: ms(401), Worker: "gw1", NodeID: segv.NodeID},
		{Kind: result.TestFinished, Time: ms(412), Worker: "gw0", NodeID: fail.NodeID, Test: fail},
		{Kind: result.WorkerDied, Time: ms(521), Worker: "gw1", Process: 1,
			Death: &result.Death{Reason: result.DeathCrash, Signal: "SIGSEGV", NodeID: segv.NodeID}},
		{Kind: result.TestFinished, Time: ms(521), Worker: "gw1", NodeID: segv.NodeID, Test: segv},
		{Kind: result.WorkerStarted, Time: ms(530), Worker: "gw1", Process: 2, PID: 4102},
		{Kind: result.TestStarted, Time: ms(1000), Worker: "gw0", NodeID: hang.NodeID},
		{Kind: result.WorkerDied, Time: ms(6000), Worker: "gw0", Process: 2,
			Death: &result.Death{Reason: result.DeathTimeout, Signal: "SIGKILL", KillStage: "SIGKILL", Limit: 5 * time.Second,
				NodeID: hang.NodeID}},
		{Kind: result.TestFinished, Time: ms(6000), Worker: "gw0", NodeID: hang.NodeID, Test: hang},
		{Kind: result.TestFinished, Time: ms(6001), NodeID: "test_slow.py::test_after", Test: byID["test_slow.py::test_after"]},
		{Kind: result.RunFinished, Time: 75*time.Second + ms(120), Run: run},
	}
}

func TestEventStreamGolden(t *testing.T) {
	var b bytes.Buffer
	w := NewEventWriter(&b)
	for _, ev := range eventSequence() {
		w.Handle(ev)
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "events.ndjson", b.Bytes())
}

// TestEventStreamLines checks what every consumer relies on: one JSON
// object per line, each with v, event and time first.
func TestEventStreamLines(t *testing.T) {
	var b bytes.Buffer
	w := NewEventWriter(&b)
	evs := eventSequence()
	for _, ev := range evs {
		w.Handle(ev)
	}
	sc := bufio.NewScanner(&b)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, `{"v":1,"event":"`+string(evs[n].Kind)+`","time":`) {
			t.Errorf("line %d does not start with v, event %s, time: %s", n+1, evs[n].Kind, line)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("line %d is not JSON: %v: %s", n+1, err, line)
		}
		if got, want := m["time"], evs[n].Time.Seconds(); got != want {
			t.Errorf("line %d time = %v, want %v", n+1, got, want)
		}
		n++
	}
	if n != len(evs) {
		t.Errorf("%d lines, want %d", n, len(evs))
	}
}

func TestEventStreamTestFinished(t *testing.T) {
	var b bytes.Buffer
	w := NewEventWriter(&b)
	crashed := &result.Test{NodeID: "t.py::test_x[</script>]", Outcome: result.Crashed, Worker: "gw3", Process: 2,
		Duration: 1500 * time.Millisecond,
		Crash:    &result.Crash{Death: result.Death{Reason: result.DeathCrash, ExitCode: intp(3)}, Phase: "setup"}}
	w.Handle(result.Event{Kind: result.TestFinished, Time: 2 * time.Second, Worker: "gw3", NodeID: crashed.NodeID, Test: crashed})
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"v": 1.0, "event": "test_finished", "time": 2.0, "worker": "gw3", "process": 2.0,
		"nodeid": "t.py::test_x[</script>]", "outcome": "crashed", "duration": 1.5,
		"message": "exit code 3 on gw3 during setup", "attempts": 0.0,
		"crash": map[string]any{"signal": "", "exit_code": 3.0, "phase": "setup", "kill_stage": "",
			"stderr_tail": "", "prior_tests": []any{}, "reason": "crash"},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got  %v\nwant %v", m, want)
	}
	if !strings.Contains(b.String(), `"nodeid":"t.py::test_x[\u003c/script\u003e]"`) {
		t.Errorf("nodeid not escaped as JSON does for HTML: %s", b.String())
	}
}

func TestExitStatus(t *testing.T) {
	interrupted := collectionErrorRun()
	maxfail := mixedRun()
	maxfail.Interrupted, maxfail.MaxfailReached = true, true
	notRun := passedRun()
	notRun.Tests[0].Outcome = result.NotRun
	for _, tc := range []struct {
		name string
		run  *result.Run
		want string
	}{
		{"passed", passedRun(), "passed"},
		{"failed", mixedRun(), "failed"},
		{"interrupted", interrupted, "interrupted"},
		{"maxfail is failed", maxfail, "failed"},
		{"not run is failed", notRun, "failed"},
		{"no tests", &result.Run{}, "no_tests"},
	} {
		if got := ExitStatus(tc.run); got != tc.want {
			t.Errorf("%s: ExitStatus = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEventStreamWriteError(t *testing.T) {
	w := NewEventWriter(failingWriter{})
	w.Handle(result.Event{Kind: result.TestStarted, Worker: "gw0", NodeID: "t.py::a"})
	if err := w.Err(); err == nil || errors.Unwrap(err) == nil || !strings.HasPrefix(err.Error(), "write event stream: ") {
		t.Errorf("Err() = %v, want a wrapped write error", err)
	}
}
