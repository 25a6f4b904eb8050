package report

import (
	"strings"
	"testing"
)

func TestLiveOutput(t *testing.T) {
	type piece struct {
		stderr bool
		test   string
		text   string
	}
	tests := []struct {
		name     string
		tty      bool
		terminal string // written by the terminal report first
		pieces   []piece
		wantOut  string
		wantErr  string
	}{
		{
			name: "lines of tests and of the worker",
			pieces: []piece{
				{false, "", "imported\n"},
				{false, "a.py::t", "one\ntw"}, {false, "a.py::t", "o\n"},
				{true, "a.py::t", "err\n"},
			},
			wantOut: "[gw1] imported\n[gw1] a.py::t: one\n[gw1] a.py::t: two\n",
			wantErr: "[gw1] a.py::t: err\n",
		},
		{
			name:    "a line a test left unfinished stays its own",
			pieces:  []piece{{false, "a.py::t1", "no newline"}, {false, "a.py::t2", "next\n"}},
			wantOut: "[gw1] a.py::t1: no newline\n[gw1] a.py::t2: next\n",
		},
		{
			name:     "progress letters under way end first",
			terminal: "..F",
			pieces:   []piece{{false, "a.py::t", "hello\n"}, {true, "a.py::t", "on stderr\n"}},
			wantOut:  "..F\n[gw1] a.py::t: hello\n",
			wantErr:  "[gw1] a.py::t: on stderr\n",
		},
		{
			name:     "a TTY's status line is erased",
			tty:      true,
			terminal: "[1/8] 1 passed",
			pieces:   []piece{{false, "a.py::t", "hello\n"}},
			wantOut:  "[1/8] 1 passed\r\x1b[K[gw1] a.py::t: hello\n",
		},
		{
			name:     "a finished terminal line is left alone",
			terminal: "collected 3 items\n",
			pieces:   []piece{{false, "a.py::t", "hello\n"}},
			wantOut:  "collected 3 items\n[gw1] a.py::t: hello\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errw strings.Builder
			l := NewLiveOutput(&out, &errw, tt.tty)
			if tt.terminal != "" {
				l.Terminal().Write([]byte(tt.terminal))
			}
			so, se := l.Streams(1)
			for _, p := range tt.pieces {
				s := so
				if p.stderr {
					s = se
				}
				s.Output(p.test, []byte(p.text))
			}
			so.Close()
			se.Close()
			if out.String() != tt.wantOut || errw.String() != tt.wantErr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", out.String(), errw.String(), tt.wantOut, tt.wantErr)
			}
		})
	}
}

// A line longer than maxLiveLine is written in pieces, each prefixed.
func TestLiveOutputLongLine(t *testing.T) {
	var out strings.Builder
	so, _ := NewLiveOutput(&out, &out, false).Streams(0)
	so.Output("a.py::t", []byte(strings.Repeat("x", maxLiveLine+10)))
	so.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "[gw0] a.py::t: xxx") || lines[1] != "[gw0] a.py::t: "+strings.Repeat("x", 10) {
		t.Errorf("got %d lines, the last %q", len(lines), lines[len(lines)-1])
	}
}
