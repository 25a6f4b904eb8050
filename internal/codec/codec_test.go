package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

func intp(n int) *int { return &n }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// sampleTests are tests with every field the codec holds.
func sampleTests() []*result.Test {
	return []*result.Test{
		{NodeID: "a.py::test_ok", File: "a.py", Line: 3, Outcome: result.Passed, Duration: ms(10), Worker: "gw0", Process: 1,
			Start: ms(5), Stop: ms(15), Sections: []result.Section{{Title: "Captured stdout call", Content: "hi\n"}}},
		{NodeID: "a.py::test_segv", Outcome: result.Crashed, Duration: ms(200), Worker: "gw1", Process: 2,
			Longrepr: "worker gw1 crashed while running a.py::test_segv during call: killed by SIGSEGV",
			Message:  "worker gw1 crashed: killed by SIGSEGV", HeadLine: "test_segv",
			Crash: &result.Crash{Death: result.Death{Reason: result.DeathCrash, Signal: "SIGSEGV"},
				StderrTail: "Fatal Python error: Segmentation fault\n", Phase: "call", PriorTests: []string{"a.py::test_ok"}},
			Diagnosis: &result.Diagnosis{Rerun: result.Crashed, CrashedAlone: true, Summary: "crashes alone too"}},
		{NodeID: "a.py::test_hang", Outcome: result.Timeout, Duration: 2 * time.Second, Worker: "gw0", Process: 1,
			Message: "timeout after 2s",
			Crash: &result.Crash{Death: result.Death{Reason: result.DeathTimeout, Signal: "SIGTERM", KillStage: "SIGTERM",
				Limit: 2 * time.Second}, Phase: "call"}},
		{NodeID: "a.py::test_lost", Outcome: result.Crashed, Worker: "gw0",
			Crash: &result.Crash{Death: result.Death{Reason: result.DeathCrash, Error: "wait: no child processes"}}},
		{NodeID: "a.py::test_flaky", Outcome: result.Flaky, Worker: "gw0", Leaks: []string{"process 12: sleep 100"},
			Extra: []result.Phase{{When: "teardown", Message: "OSError", Longrepr: "E OSError"}},
			Attempts: []result.Attempt{{Outcome: result.Crashed, Worker: "gw0", Process: 1, Start: ms(1), Stop: ms(2), Duration: ms(1),
				Crash: &result.Crash{Death: result.Death{Reason: result.DeathCrash, ExitCode: intp(3)}, PriorTests: []string{"x"}}}}},
		{NodeID: "b.py::test_after", Outcome: result.NotRun, Reason: "not run: interrupted"},
	}
}

func TestTestRoundTrip(t *testing.T) {
	for _, want := range sampleTests() {
		t.Run(want.NodeID, func(t *testing.T) {
			raw, err := MarshalTest(want)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.ContainsAny(raw, "\n") {
				t.Errorf("MarshalTest is not compact: %s", raw)
			}
			got, err := UnmarshalTest(raw, Version)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestRunRoundTrip(t *testing.T) {
	want := &result.Run{
		Info:      result.Info{Version: "0.1.0", Python: "3.11.2", PythonPath: "/usr/bin/python3", Pytest: "7.2.1", Rootdir: "/src", Workers: 2},
		Collected: 6, Deselected: 1, Duration: 3 * time.Second, Interrupted: true, InterruptReason: "KeyboardInterrupt",
		WorkerDeaths: 3, Tests: sampleTests(),
		CollectionErrors: []result.CollectionError{{Path: "c.py", Message: "ImportError"}},
		Warnings:         []result.Warning{{NodeID: "a.py::test_ok", Message: "DeprecationWarning: x"}},
		Stalls: []result.Stall{{Worker: "gw1", Process: 1, When: "session end", Cause: "worker gw1 did not end", At: ms(61500),
			KillStage: "SIGTERM", Exit: "killed by SIGTERM", Stacks: "Thread 1\n", StderrTail: "Thread 1\n"}},
	}
	var b bytes.Buffer
	if err := WriteRun(&b, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRun(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// TestVersion1 reads what herd wrote before deaths were typed: a crash
// without a reason gets the one its outcome implies, and a timeout its
// limit from the message.
func TestVersion1(t *testing.T) {
	tests := []struct {
		name string
		test string
		want *result.Crash
	}{
		{
			name: "crash",
			test: `{"nodeid":"a.py::t","outcome":"crashed","message":"worker gw0 crashed: killed by SIGSEGV",` +
				`"crash":{"signal":"SIGSEGV","exit_code":null,"stderr_tail":"","kill_stage":"","phase":"call","prior_tests":[]}}`,
			want: &result.Crash{Death: result.Death{Reason: result.DeathCrash, Signal: "SIGSEGV"}, Phase: "call"},
		},
		{
			name: "timeout",
			test: `{"nodeid":"a.py::t","outcome":"timeout","message":"timeout after 0.5s",` +
				`"crash":{"signal":"SIGKILL","exit_code":null,"stderr_tail":"","kill_stage":"SIGKILL","phase":"call","prior_tests":[]}}`,
			want: &result.Crash{Death: result.Death{Reason: result.DeathTimeout, Signal: "SIGKILL", KillStage: "SIGKILL",
				Limit: 500 * time.Millisecond}, Phase: "call"},
		},
		{
			name: "timeout of unknown limit",
			test: `{"nodeid":"a.py::t","outcome":"timeout","message":"it ran longer than its timeout",` +
				`"crash":{"signal":"SIGKILL","exit_code":null,"stderr_tail":"","kill_stage":"SIGKILL","phase":"","prior_tests":[]}}`,
			want: &result.Crash{Death: result.Death{Reason: result.DeathTimeout, Signal: "SIGKILL", KillStage: "SIGKILL"}},
		},
		{
			name: "no crash",
			test: `{"nodeid":"a.py::t","outcome":"passed","crash":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnmarshalTest(json.RawMessage(tt.test), 1)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Crash, tt.want) {
				t.Errorf("crash %+v, want %+v", got.Crash, tt.want)
			}
			run, err := ReadRun(strings.NewReader(`{"version":1,"tests":[` + tt.test + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(run.Tests[0], got) {
				t.Errorf("in a report: %+v, alone: %+v", run.Tests[0], got)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not json", `nope`, "read json report: "},
		{"no version", `{"tests": []}`, "not a herd JSON report"},
		{"newer", `{"version": 3, "tests": []}`, "version 3 is newer than this herd reads (2)"},
		{"outcome", `{"version": 2, "tests": [{"nodeid": "a.py::t", "outcome": "meh"}]}`, `a.py::t has unknown outcome "meh"`},
		{"nodeid", `{"version": 2, "tests": [{"outcome": "passed"}]}`, "tests[0] has no nodeid"},
		{"reason", `{"version": 2, "tests": [{"nodeid": "a.py::t", "outcome": "crashed", "crash": {"reason": "gremlins"}}]}`,
			`a.py::t has a crash with unknown reason "gremlins"`},
		{"attempt", `{"version": 2, "tests": [{"nodeid": "a.py::t", "outcome": "flaky", "attempts": [{"outcome": "meh"}]}]}`,
			`a.py::t has an attempt with unknown outcome "meh"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadRun(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadRun(%s) = %v, want an error with %q", tt.in, err, tt.want)
			}
		})
	}
	for _, in := range []string{`nope`, `{"outcome": "passed"}`, `{"nodeid": "a.py::t", "outcome": "meh"}`} {
		if _, err := UnmarshalTest(json.RawMessage(in), Version); err == nil || !strings.HasPrefix(err.Error(), "decode a test: ") {
			t.Errorf("UnmarshalTest(%s) = %v, want a decode error", in, err)
		}
	}
	if _, err := UnmarshalTest(json.RawMessage(`{"nodeid": "a.py::t", "outcome": "passed"}`), Version+1); err == nil {
		t.Error("UnmarshalTest read a newer version")
	}
}

func TestDeathRoundTrip(t *testing.T) {
	deaths := []result.Death{
		{Reason: result.DeathCrash, Signal: "SIGSEGV", NodeID: "a.py::t"},
		{Reason: result.DeathTimeout, Signal: "SIGTERM", KillStage: "SIGTERM", Limit: ms(150), NodeID: "a.py::t"},
		{Reason: result.DeathCollectTimeout, ExitCode: intp(0), KillStage: "stacks", Limit: 10 * time.Minute},
		{Reason: result.DeathStuck, Signal: "SIGKILL", KillStage: "SIGKILL", Limit: time.Minute},
		{Reason: result.DeathShutdown, Signal: "SIGTERM", KillStage: "SIGTERM", Limit: time.Minute},
		{Reason: result.DeathInterrupt, Signal: "SIGKILL", KillStage: "SIGKILL"},
		{Reason: result.DeathHandshake, ExitCode: intp(1), Detail: "worker handshake failed: first message was \"x\", not hello"},
		{Reason: result.DeathCrash, Error: "wait: no child processes"},
	}
	for _, want := range deaths {
		b, err := json.Marshal(EncodeDeath(want))
		if err != nil {
			t.Fatal(err)
		}
		var d Death
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeDeath(d)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("round trip of %+v via %s: %+v, %v", want, b, got, err)
		}
	}
	if _, err := DecodeDeath(Death{Reason: "gremlins"}); err == nil {
		t.Error("DecodeDeath read an unknown reason")
	}
}
