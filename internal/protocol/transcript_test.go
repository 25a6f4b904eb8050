package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The transcript is a session recorded from the real Python worker
// (internal/pyworker's TestTranscriptPython replays it against the worker;
// go test ./internal/pyworker -update records it anew). Here the Go side
// decodes it: a field renamed on either side makes one of the two fail.

type transcriptLine struct {
	Session string          `json:"session"`
	Dir     string          `json:"dir"`
	Line    json.RawMessage `json:"line"`
}

func readTranscript(t *testing.T) []transcriptLine {
	t.Helper()
	data, err := os.ReadFile("testdata/transcript.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out []transcriptLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxLine)
	for sc.Scan() {
		var l transcriptLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("transcript: %v", err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeStrict decodes line into v, refusing a key v has no field for.
func decodeStrict(line []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// zero reports whether a decoded JSON value is what omitempty leaves out.
func zero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return false
	}
	return false
}

// compareKeys checks that encoding kept every key of the original with a
// value (a key with a zero value may go: omitempty), and added none.
func compareKeys(t *testing.T, where string, orig, again any) {
	t.Helper()
	switch o := orig.(type) {
	case map[string]any:
		a, ok := again.(map[string]any)
		if !ok {
			t.Errorf("%s: re-encoded as %T", where, again)
			return
		}
		for k, v := range o {
			av, ok := a[k]
			if !ok {
				if !zero(v) {
					t.Errorf("%s: %q lost in decoding", where, k)
				}
				continue
			}
			compareKeys(t, where+"."+k, v, av)
		}
		for k := range a {
			if _, ok := o[k]; !ok {
				t.Errorf("%s: the Go side sends %q, which the worker does not", where, k)
			}
		}
	case []any:
		a, ok := again.([]any)
		if !ok || len(a) != len(o) {
			t.Errorf("%s: %d values re-encoded as %v", where, len(o), again)
			return
		}
		for i := range o {
			compareKeys(t, where, o[i], a[i])
		}
	}
}

// seenKeys records, per Go type, the JSON keys the transcript gives it.
func seenKeys(typ reflect.Type, v any, seen map[string]bool) {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array {
		if list, ok := v.([]any); ok {
			for _, e := range list {
				seenKeys(typ.Elem(), e, seen)
			}
			return
		}
		typ = typ.Elem()
	}
	obj, ok := v.(map[string]any)
	if typ.Kind() != reflect.Struct || !ok {
		return
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if val, ok := obj[name]; ok {
			seen[typ.Name()+"."+name] = true
			seenKeys(f.Type, val, seen)
		}
	}
}

// allKeys lists every JSON key of typ and the struct types it holds.
func allKeys(typ reflect.Type, out map[string]bool) {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || typ == reflect.TypeOf(json.RawMessage{}) {
		return
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[typ.Name()+"."+name] = true
		allKeys(f.Type, out)
	}
}

func TestTranscriptGo(t *testing.T) {
	lines := readTranscript(t)
	seen := map[string]bool{}
	types := map[string]bool{}
	for n, l := range lines {
		if l.Session != "" {
			continue
		}
		var orig map[string]any
		if err := json.Unmarshal(l.Line, &orig); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		switch l.Dir {
		case "msg":
			var m Message
			if err := decodeStrict(l.Line, &m); err != nil {
				t.Errorf("line %d: %v: %s", n+1, err, l.Line)
				continue
			}
			// The reader the controller uses (and its fast path for start
			// and done) gives the same message.
			got, err := NewReader(bytes.NewReader(append(l.Line, '\n')), MaxLine).Read()
			if err != nil {
				t.Errorf("line %d: Read: %v", n+1, err)
			} else if !reflect.DeepEqual(*got, m) {
				t.Errorf("line %d: Read gives %+v, encoding/json %+v", n+1, *got, m)
			}
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var again map[string]any
			if err := json.Unmarshal(b, &again); err != nil {
				t.Fatal(err)
			}
			compareKeys(t, m.Type, orig, again)
			seenKeys(reflect.TypeOf(m), orig, seen)
			types["msg "+m.Type] = true
		case "cmd":
			var c Command
			if err := decodeStrict(l.Line, &c); err != nil {
				t.Errorf("line %d: %v: %s", n+1, err, l.Line)
				continue
			}
			// The command as the controller encodes it is the one the
			// worker obeyed.
			var again map[string]any
			if err := json.Unmarshal(Encode(c), &again); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, orig) {
				t.Errorf("line %d: Encode gives %v, the worker got %v", n+1, again, orig)
			}
			seenKeys(reflect.TypeOf(c), orig, seen)
			types["cmd "+c.Type] = true
		default:
			t.Fatalf("line %d: direction %q", n+1, l.Dir)
		}
	}
	// Every field and every type of the Go side is in the transcript, so
	// none is renamed without the worker's side.
	want := map[string]bool{}
	allKeys(reflect.TypeOf(Message{}), want)
	allKeys(reflect.TypeOf(Command{}), want)
	var missing []string
	for k := range want {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	for _, typ := range []string{
		TypeHello, TypeSession, TypeCollected, TypeFiles, TypeCollecting, TypeWant, TypeStart,
		TypeReport, TypeDone, TypeWarning, TypeDropped, TypeMissing, TypeAsk, TypeNodeIn,
		TypeWorkerOutput, TypeFingerprint, TypeDeps, TypeBye,
	} {
		if !types["msg "+typ] {
			missing = append(missing, "message "+typ)
		}
	}
	for _, typ := range []string{CmdRun, CmdNone, CmdStop, CmdGo, CmdShutdown, CmdCollect, CmdRevoke, CmdWorkerInput} {
		if !types["cmd "+typ] {
			missing = append(missing, "command "+typ)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		t.Errorf("not in the transcript: %s", k)
	}
}
