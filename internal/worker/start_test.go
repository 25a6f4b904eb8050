package worker

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/herd-run/herd/internal/protocol"
)

// openPipes opens the stdout pipe only for live output, and a phase board
// of the protocol's size; Close closes every file once, closeChildEnds only
// the worker's ends. Not parallel: a process another test forks holds
// inherited pipe ends until it execs, and would be a reader of the command
// pipe for that moment.
func TestPipes(t *testing.T) {
	for _, live := range []bool{false, true} {
		pp, err := openPipes(live)
		if err != nil {
			t.Fatalf("openPipes(%v): %v", live, err)
		}
		if (pp.outR != nil) != live || (pp.outW != nil) != live {
			t.Errorf("openPipes(%v): stdout pipe %v %v", live, pp.outR, pp.outW)
		}
		if st, err := pp.board.Stat(); err != nil || st.Size() != protocol.BoardSize {
			t.Errorf("openPipes(%v): board %v, %v; want %d bytes", live, st, err, protocol.BoardSize)
		}
		if _, err := os.Stat(pp.board.Name()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("openPipes(%v): the board %s is still linked: %v", live, pp.board.Name(), err)
		}
		cmdW, msgR := pp.cmdW, pp.msgR
		childEnds := []*os.File{pp.cmdR, pp.msgW, pp.errW}
		if live {
			childEnds = append(childEnds, pp.outW)
		}
		pp.closeChildEnds()
		if pp.cmdR != nil || pp.msgW != nil || pp.errW != nil || pp.outW != nil {
			t.Errorf("openPipes(%v): closeChildEnds left a worker's end set", live)
		}
		for _, f := range childEnds {
			if err := f.Close(); !errors.Is(err, os.ErrClosed) {
				t.Errorf("openPipes(%v): a worker's end was not closed: %v", live, err)
			}
		}
		if _, err := cmdW.Write([]byte("x")); err == nil {
			t.Errorf("openPipes(%v): write to the command pipe with no reader succeeded", live)
		}
		pp.Close()
		pp.Close() // a second Close changes nothing
		if err := msgR.Close(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("openPipes(%v): Close left the message pipe open: %v", live, err)
		}
	}
}

// exitOf gives a normal exit's code, a signal's name with code -1, and a
// failed wait's error.
func TestExitOf(t *testing.T) {
	t.Parallel()
	run := func(script string) *os.ProcessState {
		cmd := exec.Command("sh", "-c", script)
		cmd.Run()
		return cmd.ProcessState
	}
	waitErr := errors.New("wait failed")
	for _, tc := range []struct {
		name   string
		state  *os.ProcessState
		werr   error
		code   int
		signal string
	}{
		{"code", run("exit 3"), nil, 3, ""},
		{"zero", run("true"), nil, 0, ""},
		{"signal", run("kill -SEGV $$"), nil, -1, "SIGSEGV"},
		{"wait failed", nil, waitErr, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := exitOf(tc.state, tc.werr)
			if ex.Code != tc.code || ex.Signal != tc.signal || !errors.Is(ex.Err, tc.werr) {
				t.Errorf("exitOf = %+v, want code %d signal %q err %v", *ex, tc.code, tc.signal, tc.werr)
			}
		})
	}
}

// closeBoard reads the board and closes it; Revoke then takes nothing back.
func TestCloseBoard(t *testing.T) {
	t.Parallel()
	pp, err := openPipes(false)
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	p := &Proc{board: pp.board}
	pp.board = nil // p owns it now
	p.closeBoard()
	if p.board != nil {
		t.Error("closeBoard left the board set")
	}
	if p.Revoke(1, protocol.Command{Type: protocol.CmdRevoke}) {
		t.Error("Revoke succeeded after closeBoard")
	}
}
