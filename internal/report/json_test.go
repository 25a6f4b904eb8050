package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// fullRun is mixedRun plus a collection error, kept going as with
// --continue-on-collection-errors.
func fullRun() *result.Run {
	run := mixedRun()
	run.CollectionErrors = collectionErrorRun().CollectionErrors
	run.Stalls = stalledRun().Stalls
	return run
}

// stalledRun is passedRun whose workers hung at session end until herd
// killed them: one dumped its stacks, the other wrote none.
func stalledRun() *result.Run {
	run := passedRun()
	run.WorkerDeaths = 2
	run.Stalls = []result.Stall{
		{
			Worker: "gw1", Process: 1, When: "session end",
			Cause:     "worker gw1 did not end within 60s of the shutdown request (the shutdown timeout)",
			LastTest:  "test_a.py::test_two",
			At:        61500 * time.Millisecond,
			KillStage: "SIGTERM", Exit: "killed by SIGTERM",
			Stacks: "Thread 0x00007f0000000001 (most recent call first):\n" +
				"  File \"/usr/lib/python3.11/threading.py\", line 320 in wait\n\n" +
				"Current thread 0x00007f0000000002 (most recent call first):\n" +
				"  File \"/usr/lib/python3.11/threading.py\", line 1119 in _wait_for_tstate_lock\n" +
				"  File \"/usr/lib/python3.11/threading.py\", line 1590 in _shutdown\n",
			StderrTail: "some warning\nThread 0x00007f0000000001 (most recent call first):\n" +
				"  File \"/usr/lib/python3.11/threading.py\", line 320 in wait\n\n" +
				"Current thread 0x00007f0000000002 (most recent call first):\n" +
				"  File \"/usr/lib/python3.11/threading.py\", line 1119 in _wait_for_tstate_lock\n" +
				"  File \"/usr/lib/python3.11/threading.py\", line 1590 in _shutdown\n",
		},
		{
			Worker: "gw0", Process: 2, When: "session end",
			Cause:     "worker gw0 did not end within 60s of the shutdown request (the shutdown timeout)",
			At:        62 * time.Second,
			KillStage: "SIGKILL", Exit: "killed by SIGKILL",
			StderrTail: "stopped\n",
		},
	}
	return run
}

func TestWriteJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, fullRun()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "report.json", b.Bytes())
}

// decodeJSON writes run as JSON and decodes it generically.
func decodeJSON(t *testing.T, run *result.Run) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, run); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, b.String())
	}
	return doc
}

func TestWriteJSONEveryTestOnceInOrder(t *testing.T) {
	run := fullRun()
	doc := decodeJSON(t, run)
	tests := doc["tests"].([]any)
	if len(tests) != len(run.Tests) {
		t.Fatalf("%d tests in report, want %d", len(tests), len(run.Tests))
	}
	for i, raw := range tests {
		jt := raw.(map[string]any)
		if jt["nodeid"] != run.Tests[i].NodeID || jt["outcome"] != string(run.Tests[i].Outcome) {
			t.Errorf("tests[%d] = %v %v, want %s %s", i, jt["nodeid"], jt["outcome"], run.Tests[i].NodeID, run.Tests[i].Outcome)
		}
		var keys []string
		for k := range jt {
			keys = append(keys, k)
		}
		if len(keys) != 20 {
			t.Errorf("tests[%d] has keys %v, want nodeid file line outcome duration worker process start stop policy head_line longrepr message reason crash diagnosis leaks sections extra attempts", i, keys)
		}
	}
	want := map[string]any{
		"failed": 2.0, "crashed": 2.0, "timeout": 1.0, "passed": 2.0, "skipped": 1.0,
		"xfailed": 1.0, "xpassed": 1.0, "error": 1.0, "not_run": 1.0,
	}
	if !reflect.DeepEqual(doc["summary"], want) {
		t.Errorf("summary = %v, want %v", doc["summary"], want)
	}
	if doc["collected"] != 12.0 || doc["duration"] != 75.12 || doc["interrupted"] != false || doc["herd_version"] != "0.1.0" || doc["version"] != 2.0 {
		t.Errorf("header fields wrong: collected=%v duration=%v interrupted=%v herd_version=%v version=%v",
			doc["collected"], doc["duration"], doc["interrupted"], doc["herd_version"], doc["version"])
	}
}

func TestWriteJSONCrash(t *testing.T) {
	doc := decodeJSON(t, mixedRun())
	byID := make(map[string]map[string]any)
	for _, raw := range doc["tests"].([]any) {
		jt := raw.(map[string]any)
		byID[jt["nodeid"].(string)] = jt
	}
	segv := byID["test_native.py::test_segv"]["crash"].(map[string]any)
	wantSegv := map[string]any{
		"signal":      "SIGSEGV",
		"exit_code":   nil,
		"stderr_tail": mixedRun().Tests[8].Crash.StderrTail,
		"kill_stage":  "",
		"phase":       "call",
		"prior_tests": []any{"test_a.py::test_err", "test_a.py::test_skip"},
		"reason":      "crash",
	}
	if !reflect.DeepEqual(segv, wantSegv) {
		t.Errorf("crash by signal = %v, want %v", segv, wantSegv)
	}
	wantDiag := map[string]any{
		"rerun": "passed", "crashed_alone": false, "cause": "parallel-unsafe",
		"marker": "@pytest.mark.parallel_unsafe", "summary": mixedRun().Tests[8].Diagnosis.Summary,
	}
	if d := byID["test_native.py::test_segv"]["diagnosis"]; !reflect.DeepEqual(d, wantDiag) {
		t.Errorf("diagnosis = %v, want %v", d, wantDiag)
	}
	if d, ok := byID["test_native.py::test_exit"]["diagnosis"]; !ok || d != nil {
		t.Errorf("diagnosis without a rerun = %v (present %v), want null", d, ok)
	}
	exit := byID["test_native.py::test_exit"]["crash"].(map[string]any)
	if exit["exit_code"] != 3.0 || exit["signal"] != "" || !reflect.DeepEqual(exit["prior_tests"], []any{}) {
		t.Errorf("crash by exit = %v, want exit_code 3, empty signal, prior_tests []", exit)
	}
	if c, ok := byID["test_a.py::test_pass"]["crash"]; !ok || c != nil {
		t.Errorf("passed test crash = %v (present %v), want null", c, ok)
	}
	if r := byID["test_slow.py::test_after"]["reason"]; r != "not run: interrupted" {
		t.Errorf("not_run reason = %v", r)
	}
}

func TestWriteJSONEmptyListsAreArrays(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, &result.Run{}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 2,
  "herd_version": "",
  "collected": 0,
  "deselected": 0,
  "duration": 0,
  "interrupted": false,
  "interrupt_reason": "",
  "maxfail_reached": false,
  "workers": 0,
  "worker_deaths": 0,
  "python": "",
  "python_path": "",
  "pytest": "",
  "rootdir": "",
  "summary": {},
  "tests": [],
  "collection_errors": [],
  "warnings": [],
  "stalls": []
}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteJSONKeepsHTMLCharacters(t *testing.T) {
	run := &result.Run{Tests: []*result.Test{{NodeID: "t.py::test[<a&b>]", Outcome: result.Failed, Longrepr: "assert 1 < 2 & 3 > 2"}}}
	var b bytes.Buffer
	if err := WriteJSON(&b, run); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"longrepr": "assert 1 < 2 & 3 > 2"`) {
		t.Errorf("longrepr escaped for HTML:\n%s", b.String())
	}
}

func TestWriteJSONWriteError(t *testing.T) {
	err := WriteJSON(failingWriter{}, passedRun())
	if err == nil || !strings.HasPrefix(err.Error(), "write json report: ") || errors.Unwrap(err) == nil {
		t.Errorf("err = %v, want a wrapped write error", err)
	}
}
