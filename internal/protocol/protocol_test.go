package protocol_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/herd-run/herd/internal/protocol"
)

// readAll reads lines until EOF and returns each line (as a string) or the
// error in its place, so a test can state the whole sequence it expects.
func readAll(t *testing.T, r *protocol.Reader) []string {
	t.Helper()
	var out []string
	for i := 0; i < 100; i++ {
		line, err := r.ReadLine()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			out = append(out, "ERR:"+err.Error())
			continue
		}
		out = append(out, string(line))
	}
	t.Fatal("reader did not reach EOF after 100 lines")
	return nil
}

func TestReaderReadLine(t *testing.T) {
	t.Parallel()
	const limit = 2 << 20 // 2 MiB: big enough for a > 1 MiB line, small enough to exceed cheaply
	big := strings.Repeat("a", 1<<20+12345)
	atLimit := strings.Repeat("b", limit)
	overLimit := strings.Repeat("c", limit+1)
	tooLong := "ERR:" + protocol.ErrLineTooLong.Error()

	type testCase struct {
		name  string
		input string
		want  []string
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		r := protocol.NewReader(strings.NewReader(tc.input), limit)
		got := readAll(t, r)
		if len(got) != len(tc.want) {
			t.Fatalf("got %d lines %v, want %d", len(got), abbrev(got), len(tc.want))
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("line %d = %q, want %q", i, abbrev1(got[i]), abbrev1(tc.want[i]))
			}
		}
	}
	for _, tc := range []testCase{
		{name: "simple lines", input: "one\ntwo\n", want: []string{"one", "two"}},
		{name: "empty line kept", input: "one\n\nthree\n", want: []string{"one", "", "three"}},
		{name: "last line without newline", input: "one\ntwo", want: []string{"one", "two"}},
		{name: "line over 1 MiB under the limit", input: big + "\nnext\n", want: []string{big, "next"}},
		{name: "line of exactly the limit", input: atLimit + "\nnext\n", want: []string{atLimit, "next"}},
		{name: "line over the limit then next line", input: "first\n" + overLimit + "\nnext\n", want: []string{"first", tooLong, "next"}},
		{name: "two over-limit lines in a row", input: overLimit + "\n" + overLimit + "\nok\n", want: []string{tooLong, tooLong, "ok"}},
		{name: "unterminated last line of exactly the limit", input: "x\n" + atLimit, want: []string{"x", atLimit}},
		{name: "unterminated last line over the limit", input: "x\n" + overLimit, want: []string{"x", tooLong}},
		{name: "unterminated last line far over the limit", input: "x\n" + overLimit + overLimit, want: []string{"x", tooLong}},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func abbrev1(s string) string {
	if len(s) > 40 {
		return s[:20] + "..." + s[len(s)-10:]
	}
	return s
}

func abbrev(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = abbrev1(s)
	}
	return out
}

func TestReaderRead(t *testing.T) {
	t.Parallel()
	type step struct {
		msg     *protocol.Message
		errPart string // substring of the error, "" for no error
	}
	type testCase struct {
		name  string
		input string
		want  []step
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		r := protocol.NewReader(strings.NewReader(tc.input), 1<<10)
		for i, w := range tc.want {
			m, err := r.Read()
			if w.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), w.errPart) {
					t.Fatalf("step %d: err = %v, want one containing %q", i, err, w.errPart)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: unexpected error %v", i, err)
			}
			if !reflect.DeepEqual(m, w.msg) {
				t.Fatalf("step %d: got %+v, want %+v", i, m, w.msg)
			}
		}
		if m, err := r.Read(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the last step: got %+v, %v; want io.EOF", m, err)
		}
	}
	for _, tc := range []testCase{
		{
			name:  "hello",
			input: `{"t":"hello","v":1,"pid":42,"python":"3.12.1"}` + "\n",
			want:  []step{{msg: &protocol.Message{Type: "hello", Protocol: 1, PID: 42, Python: "3.12.1"}}},
		},
		{
			name:  "garbage then a valid message",
			input: "this is not json\n" + `{"t":"want","idle":true}` + "\n",
			want:  []step{{errPart: "decode message"}, {msg: &protocol.Message{Type: "want", Idle: true}}},
		},
		{
			name:  "truncated json",
			input: `{"t":"start","id":"a.py::t` + "\n",
			want:  []step{{errPart: "decode message"}},
		},
		{
			name:  "object without a type",
			input: `{"id":"a.py::t"}` + "\n",
			want:  []step{{errPart: "no type"}},
		},
		{
			name:  "over-long line then a valid message",
			input: `{"t":"warning","warning":{"nodeid":"","message":"` + strings.Repeat("w", 2000) + `"}}` + "\n" + `{"t":"done","id":"a.py::t","dur":0.5}` + "\n",
			want:  []step{{errPart: protocol.ErrLineTooLong.Error()}, {msg: &protocol.Message{Type: "done", ID: "a.py::t", Duration: 0.5}}},
		},
		{
			name: "report with sections",
			input: `{"t":"report","id":"a.py::t","report":{"when":"call","outcome":"failed","category":"failed","dur":0.25,` +
				`"longrepr":"E assert 1 == 2","sections":[{"title":"Captured stdout call","content":"hi\n"}]}}` + "\n",
			want: []step{{msg: &protocol.Message{Type: "report", ID: "a.py::t", Report: &protocol.Report{
				When: "call", Outcome: "failed", Category: "failed", Duration: 0.25, Longrepr: "E assert 1 == 2",
				Sections: []protocol.Section{{Title: "Captured stdout call", Content: "hi\n"}},
			}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestReaderOverLimitErrorIsErrLineTooLong(t *testing.T) {
	t.Parallel()
	r := protocol.NewReader(strings.NewReader(strings.Repeat("x", 100)+"\n"), 10)
	_, err := r.Read()
	if !errors.Is(err, protocol.ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
}

func TestCheckHello(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name    string
		msg     protocol.Message
		wantErr string // substring; "" means success
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		err := protocol.CheckHello(&tc.msg)
		if tc.wantErr == "" {
			if err != nil {
				t.Fatalf("CheckHello = %v, want nil", err)
			}
			return
		}
		if !errors.Is(err, protocol.ErrHandshake) {
			t.Fatalf("CheckHello = %v, want an error wrapping ErrHandshake", err)
		}
		if !strings.Contains(err.Error(), tc.wantErr) {
			t.Fatalf("CheckHello = %q, want it to mention %q", err, tc.wantErr)
		}
	}
	for _, tc := range []testCase{
		{name: "current version", msg: protocol.Message{Type: protocol.TypeHello, Protocol: protocol.Version}},
		{name: "newer worker", msg: protocol.Message{Type: protocol.TypeHello, Protocol: protocol.Version + 1}, wantErr: "protocol 2"},
		{name: "no version", msg: protocol.Message{Type: protocol.TypeHello}, wantErr: "protocol 0"},
		{name: "not a hello", msg: protocol.Message{Type: protocol.TypeCollected, Protocol: protocol.Version}, wantErr: `"collected"`},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name string
		cmd  protocol.Command
		wire string
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		b := protocol.Encode(tc.cmd)
		if !bytes.HasSuffix(b, []byte("\n")) || bytes.Count(b, []byte("\n")) != 1 {
			t.Fatalf("Encode = %q, want exactly one trailing newline", b)
		}
		if string(b) != tc.wire {
			t.Errorf("Encode = %q, want %q", b, tc.wire)
		}
		var back protocol.Command
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
		if !reflect.DeepEqual(back, tc.cmd) {
			t.Errorf("round trip = %+v, want %+v", back, tc.cmd)
		}
	}
	for _, tc := range []testCase{
		{name: "run", cmd: protocol.Command{Type: protocol.CmdRun, IDs: []string{"a.py::t1", "a.py::t[x\ny]"}},
			wire: `{"t":"run","ids":["a.py::t1","a.py::t[x\ny]"]}` + "\n"},
		{name: "none", cmd: protocol.Command{Type: protocol.CmdNone}, wire: `{"t":"none"}` + "\n"},
		{name: "stop", cmd: protocol.Command{Type: protocol.CmdStop}, wire: `{"t":"stop"}` + "\n"},
		{name: "shutdown", cmd: protocol.Command{Type: protocol.CmdShutdown}, wire: `{"t":"shutdown"}` + "\n"},
		{name: "unicode id", cmd: protocol.Command{Type: protocol.CmdRun, IDs: []string{"t.py::test[é-\u2028]"}},
			wire: "{\"t\":\"run\",\"ids\":[\"t.py::test[é-\\u2028]\"]}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// TestParseBoard: the board's bytes as the worker packs them
// (struct.pack("<I12s", seq, phase)) decode to its sequence number and
// phase; anything else is the zero Board.
func TestParseBoard(t *testing.T) {
	pack := func(seq uint32, phase string) []byte {
		b := make([]byte, protocol.BoardSize)
		b[0], b[1], b[2], b[3] = byte(seq), byte(seq>>8), byte(seq>>16), byte(seq>>24)
		copy(b[4:], phase)
		return b
	}
	tests := []struct {
		in   []byte
		want protocol.Board
	}{
		{pack(1, "setup"), protocol.Board{Seq: 1, Phase: "setup"}},
		{pack(70000, "teardown"), protocol.Board{Seq: 70000, Phase: "teardown"}},
		{pack(5, "call"), protocol.Board{Seq: 5, Phase: "call"}},
		{make([]byte, protocol.BoardSize), protocol.Board{}},
		{pack(2, "bogus"), protocol.Board{}},
		{[]byte{1, 0, 0}, protocol.Board{}},
	}
	for _, tc := range tests {
		if got := protocol.ParseBoard(tc.in); got != tc.want {
			t.Errorf("ParseBoard(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestReaderHasLine: HasLine says whether the next Read can return without
// waiting: a whole line is buffered, not just part of one.
func TestReaderHasLine(t *testing.T) {
	pr, pw := io.Pipe()
	r := protocol.NewReader(pr, 1024)
	go func() {
		pw.Write([]byte("{\"t\":\"start\",\"id\":\"a\"}\n{\"t\":\"done\",\"id\":\"a\"}\n{\"t\":\"sta"))
	}()
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	if !r.HasLine() {
		t.Fatal("HasLine = false with a whole line buffered")
	}
	if m, err := r.Read(); err != nil || m.Type != "done" {
		t.Fatalf("Read = %+v, %v", m, err)
	}
	if r.HasLine() {
		t.Fatal("HasLine = true with only part of a line buffered")
	}
	pw.Close()
}
