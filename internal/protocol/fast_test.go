package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
)

var fastCorpus = []string{
	`{"t":"start","id":"test_a.py::test_x"}`,
	`{"t":"done","id":"test_a.py::test_x","dur":0.0012345678901234,"pp":"sct","pd":[1.5e-05,0.000812,3e-06]}`,
	`{"t":"done","id":"t.py::C::test[1-2]","dur":0,"spawned":true}`,
	`{"t":"done","id":"t.py::t","dur":1,"spawned":false,"pp":"","pd":[]}`,
	`{"t":"done", "id" : "t.py::t" , "dur": -2.5E+3 }`,
	`{"t":"done","id":"t.py::t","id":"t.py::u"}`,
	// The slow way: escapes, non-ASCII, other keys, nested values, bad
	// numbers, broken JSON.
	`{"t":"start","id":"t.py::test[\u00fc]"}`,
	`{"t":"start","id":"t.py::test[a\"b]"}`,
	`{"t":"start","id":"t.py::test[` + "\xc3\xbc" + `]"}`,
	`{"t":"done","id":"t.py::t","leaks":[{"kind":"process","pid":3}]}`,
	`{"t":"done","id":"t.py::t","pd":null}`,
	`{"t":"done","id":"t.py::t","dur":01}`,
	`{"t":"done","id":"t.py::t","dur":.5}`,
	`{"t":"done","id":"t.py::t","dur":1.}`,
	`{"t":"done","id":"t.py::t","dur":+1}`,
	`{"t":"done","id":"t.py::t","dur":1e999}`,
	`{"t":"done","id":"t.py::t",}`,
	`{"t":"done","id":"t.py::t"} x`,
	`{"t":"done","id":"t.py::t","spawned":truex}`,
	`{"t":"report","id":"t.py::t","report":{"when":"call"}}`,
	`{"t":"start"`,
}

// TestDecodeFast: for every line it accepts, the fast decoder gives what
// encoding/json gives; the lines it refuses are valid JSON it leaves to
// encoding/json, or lines encoding/json refuses too.
func TestDecodeFast(t *testing.T) {
	accepted := 0
	for _, line := range fastCorpus {
		checkFast(t, []byte(line))
		if _, ok := decodeFast([]byte(line)); ok {
			accepted++
		}
	}
	if accepted != 6 {
		t.Errorf("the fast path took %d corpus lines, want the 6 plain ones", accepted)
	}
}

func checkFast(t *testing.T, line []byte) {
	t.Helper()
	fast, ok := decodeFast(line)
	var want Message
	err := json.Unmarshal(line, &want)
	if !ok {
		return
	}
	if err != nil {
		t.Fatalf("decodeFast accepted %q, which encoding/json refuses: %v", line, err)
	}
	if !reflect.DeepEqual(*fast, want) {
		t.Fatalf("decodeFast(%q) = %+v, encoding/json gives %+v", line, *fast, want)
	}
}

// FuzzDecodeFast checks the same on any input.
func FuzzDecodeFast(f *testing.F) {
	for _, line := range fastCorpus {
		f.Add([]byte(line))
	}
	f.Fuzz(func(t *testing.T, line []byte) { checkFast(t, line) })
}
