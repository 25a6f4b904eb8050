package queue

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/codec"
	"github.com/herd-run/herd/internal/result"
)

// TestResultRecords: a result record names its machine and its codec
// version and reads back with the machine's workers; a record of version 1
// (no "v", a crash without a reason) still reads.
func TestResultRecords(t *testing.T) {
	timeout := &result.Test{NodeID: "t.py::test_hang", Outcome: result.Timeout, Worker: "gw0", Process: 1,
		Duration: 2 * time.Second, Message: "timeout after 2s",
		Crash: &result.Crash{Death: result.Death{Reason: result.DeathTimeout, Signal: "SIGTERM", KillStage: "SIGTERM",
			Limit: 2 * time.Second}, Phase: "call"}}
	s, err := encodeResult("runner-1", timeout)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, `{"v":2,"m":"runner-1","t":{`) {
		t.Errorf("record %s, want the codec's version and the machine first", s)
	}
	want := *timeout
	want.Worker = "runner-1:gw0"
	tests := []struct {
		name   string
		record string
		want   *result.Test
	}{
		{"current", s, &want},
		{"version 1", `{"m":"runner-1","t":{"nodeid":"t.py::test_hang","outcome":"timeout","duration":2,"worker":"runner-1:gw0",` +
			`"process":1,"message":"timeout after 2s","crash":{"signal":"SIGTERM","exit_code":null,"stderr_tail":"",` +
			`"kill_stage":"SIGTERM","phase":"call","prior_tests":[]}}}`, &want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, got, err := decodeResult(tt.record)
			if err != nil {
				t.Fatal(err)
			}
			if m != "runner-1" || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decodeResult = %q, %+v\nwant runner-1, %+v", m, got, tt.want)
			}
		})
	}
	if _, _, err := decodeResult(`{"v":99,"m":"x","t":{"nodeid":"a","outcome":"passed"}}`); err == nil {
		t.Error("decodeResult read a record of a newer codec")
	}
	if recordVersion(0) != 1 || recordVersion(codec.Version) != codec.Version {
		t.Error("recordVersion")
	}
}
