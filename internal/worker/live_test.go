package worker

import (
	"strings"
	"testing"
)

func TestDemux(t *testing.T) {
	const tok = "abc"
	m := func(id string) string { return "\x00herd:" + tok + ":" + id + "\x00" }
	tests := []struct {
		name   string
		stream string
		want   []string // "test|text", pieces of one test joined
	}{
		{"no markers", "hello\nworld\n", []string{"|hello\nworld\n"}},
		{"a test's lines", "boot\n" + m("a.py::t") + "in t\n" + m("") + "after\n",
			[]string{"|boot\n", "a.py::t|in t\n", "|after\n"}},
		{"a line cut by the next test", m("a.py::t1") + "partial" + m("a.py::t2") + "rest\n",
			[]string{"a.py::t1|partial", "a.py::t2|rest\n"}},
		{"a node id with colons", m("a.py::C::t[x:y]") + "x\n", []string{"a.py::C::t[x:y]|x\n"}},
		{"another token is output", "\x00herd:zzz:a.py::t\x00x\n", []string{"|\x00herd:zzz:a.py::t\x00x\n"}},
		{"a marker's start in output", "a \x00herd:ab b\n", []string{"|a \x00herd:ab b\n"}},
	}
	for _, tt := range tests {
		// Every way of cutting the stream in two reads gives the same.
		for cut := 0; cut <= len(tt.stream); cut++ {
			var got []string
			d := newDemux(tok, func(test string, p []byte) {
				if n := len(got); n > 0 && strings.HasPrefix(got[n-1], test+"|") {
					got[n-1] += string(p)
					return
				}
				got = append(got, test+"|"+string(p))
			})
			d.Write([]byte(tt.stream[:cut]))
			d.Write([]byte(tt.stream[cut:]))
			d.flush()
			if strings.Join(got, "\n--\n") != strings.Join(tt.want, "\n--\n") {
				t.Errorf("%s, cut at %d: got %q, want %q", tt.name, cut, got, tt.want)
			}
		}
	}
}

// An unterminated marker prefix followed by more than maxMarker bytes is
// output, not held forever.
func TestDemuxUnterminatedMarker(t *testing.T) {
	var n int
	d := newDemux("abc", func(test string, p []byte) { n += len(p) })
	big := "\x00herd:abc:" + strings.Repeat("x", maxMarker+10)
	d.Write([]byte(big))
	if n < maxMarker {
		t.Errorf("only %d of %d bytes handed out before the end", n, len(big))
	}
	d.flush()
	if n != len(big) {
		t.Errorf("%d of %d bytes handed out", n, len(big))
	}
}
