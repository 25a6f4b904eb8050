package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/reaper"
	"github.com/herd-run/herd/internal/worker"
)

// helperBoot is the "boot script" argument that makes the test binary act as
// a worker: Spec.Python is the test binary itself, Spec.Boot this word and
// Spec.Args[0] the helper's mode.
const helperBoot = "herd-test-worker-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == helperBoot {
		os.Exit(helperMain(os.Args[2], os.Args[3:]))
	}
	os.Exit(m.Run())
}

// helperMain is a fake pytest worker. It speaks the protocol on fds 3 and 4
// as herd_boot.py and the herd_worker package do, and misbehaves as its mode says.
func helperMain(mode string, args []string) int {
	if os.Getenv(protocol.EnvMagic) != protocol.MagicValue ||
		os.Getenv(protocol.EnvCmdFD) != "3" || os.Getenv(protocol.EnvMsgFD) != "4" {
		fmt.Fprintln(os.Stderr, "helper: protocol environment missing")
		return 5
	}
	cmds := os.NewFile(3, "cmd")
	msgs := os.NewFile(4, "msg")
	send := func(m protocol.Message) {
		b, _ := json.Marshal(m)
		msgs.Write(append(b, '\n'))
	}
	hello := func(v int) {
		send(protocol.Message{Type: protocol.TypeHello, Protocol: v, PID: os.Getpid(), Python: "3.99.0"})
	}
	// spawn starts a grandchild in this process's group and tells the
	// controller its pid. It inherits fds 3 and 4, as a subprocess of a
	// test would.
	spawn := func() {
		self, _ := os.Executable()
		c := exec.Command(self, helperBoot, "sleeper")
		c.Env = os.Environ()
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "helper: cannot start grandchild:", err)
			os.Exit(6)
		}
		send(protocol.Message{Type: protocol.TypeWarning, Warning: &protocol.Warning{NodeID: "grandchild", Message: strconv.Itoa(c.Process.Pid)}})
	}
	switch mode {
	case "sleeper":
		time.Sleep(30 * time.Second)
		return 0

	case "exit4": // pytest refused its arguments before anything else
		fmt.Fprintln(os.Stderr, "ERROR: usage: unrecognized arguments: --bogus")
		return 4

	case "badversion":
		hello(protocol.Version + 1)
		send(protocol.Message{Type: protocol.TypeCollected, Tests: []protocol.TestInfo{{ID: "a.py::t"}}})
		time.Sleep(30 * time.Second)
		return 0

	case "sigkill": // dies by a signal in the middle of a test
		hello(protocol.Version)
		send(protocol.Message{Type: protocol.TypeStart, ID: "a.py::t"})
		fmt.Fprintln(os.Stderr, "Fatal Python error: Segmentation fault")
		fmt.Fprintln(os.Stderr, "Current thread 0x00007f (most recent call first):\n  File \"a.py\", line 3 in test_t")
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(10 * time.Second)
		return 0

	case "flood": // a lot of stderr, then an exit code
		hello(protocol.Version)
		line := strings.Repeat("x", 99) + "\n"
		for i := 0; i < 3000; i++ { // ~300 KB
			os.Stderr.WriteString(line)
		}
		os.Stderr.WriteString("END-OF-STDERR\n")
		return 3

	case "stubborn": // ignores SIGTERM, dumps "stacks" on SIGUSR1, never reads
		signal.Ignore(syscall.SIGTERM)
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		hello(protocol.Version)
		spawn()
		for {
			select {
			case <-usr1:
				fmt.Fprintln(os.Stderr, "Thread 0x00007f01 (most recent call first):\n  File \"t.py\", line 9 in test_hang")
			case <-time.After(time.Hour):
			}
		}

	case "orphan": // leaves a grandchild holding the pipes and exits
		hello(protocol.Version)
		spawn()
		return 0

	case "echo": // a well-behaved worker
		cwd, _ := os.Getwd()
		hello(protocol.Version)
		msgs.Write([]byte("this line is not json\n"))
		fmt.Fprintln(os.Stdout, "stdout of a test run with -s")
		fmt.Fprintln(os.Stderr, "a warning on stderr")
		send(protocol.Message{Type: protocol.TypeSession, Pytest: "8.0.0", Rootdir: cwd, HeaderLines: args})
		send(protocol.Message{Type: protocol.TypeCollected, Tests: []protocol.TestInfo{{ID: "a.py::t1"}, {ID: "a.py::t2"}}})
		r := bufio.NewReader(cmds)
		for {
			send(protocol.Message{Type: protocol.TypeWant, Idle: true})
			line, err := r.ReadBytes('\n')
			if err != nil {
				return 7 // the controller went away
			}
			var c protocol.Command
			if err := json.Unmarshal(line, &c); err != nil {
				return 8
			}
			switch c.Type {
			case protocol.CmdRun:
				for _, id := range c.IDs {
					// Under -s, as herd_worker does: a marker in stdout and
					// stderr where the test's output begins and ends (this
					// one cut in two writes, as a slow pipe may deliver it).
					mark := func(id string) {
						m := protocol.LiveMarker + os.Getenv(protocol.EnvLive) + ":" + id + "\x00"
						for _, f := range []*os.File{os.Stdout, os.Stderr} {
							f.WriteString(m[:5])
							time.Sleep(time.Millisecond)
							f.WriteString(m[5:])
						}
					}
					mark(id)
					fmt.Fprintf(os.Stdout, "out of %s\n", id)
					fmt.Fprintf(os.Stderr, "err of %s\n", id)
					mark("")
					send(protocol.Message{Type: protocol.TypeStart, ID: id})
					send(protocol.Message{Type: protocol.TypeReport, ID: id, Report: &protocol.Report{When: "call", Outcome: "passed", Category: "passed"}})
					send(protocol.Message{Type: protocol.TypeDone, ID: id, Duration: 0.01})
				}
			case protocol.CmdShutdown:
				send(protocol.Message{Type: protocol.TypeBye, Code: 0})
				return 0
			}
		}
	}
	fmt.Fprintln(os.Stderr, "helper: unknown mode", mode)
	return 9
}

// lockedBuffer is a worker.Live that keeps what it got, safe for the
// worker's copy goroutine: the text, and each piece with its test.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	pieces []string // "test|text"
	closed bool
}

func (l *lockedBuffer) Output(test string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if n := len(l.pieces); n > 0 && strings.HasPrefix(l.pieces[n-1], test+"|") {
		l.pieces[n-1] += string(p)
		return
	}
	l.pieces = append(l.pieces, test+"|"+string(p))
}

func (l *lockedBuffer) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness starts a helper worker and reads its events.
type harness struct {
	t      *testing.T
	ctx    context.Context
	proc   *worker.Proc
	events chan worker.Event
	slot   int
	gen    int
	dir    string
	exited bool
	// pending holds the rest of a batch of messages (Event.Msgs), handed
	// out one per next.
	pending []worker.Event
}

func realPath(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func startHelper(t *testing.T, mode string, stdout *lockedBuffer, args ...string) *harness {
	return startHelperLive(t, mode, stdout, nil, args...)
}

// startHelperLive starts a helper worker whose stdout, and stderr when
// given, are live (-s).
func startHelperLive(t *testing.T, mode string, stdout, stderr *lockedBuffer, args ...string) *harness {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	spec := worker.Spec{
		Python: self,
		Boot:   helperBoot,
		Args:   append([]string{mode}, args...),
		Dir:    t.TempDir(),
	}
	if stdout != nil {
		spec.LiveStdout = stdout
	}
	if stderr != nil {
		spec.LiveStderr = stderr
	}
	h := &harness{t: t, ctx: ctx, events: make(chan worker.Event, 64), slot: 3, gen: 7, dir: spec.Dir}
	// A minimal environment: the helper needs nothing from ours.
	p, err := worker.Start(ctx, spec, []string{"HERD_TEST_HELPER=1"}, h.slot, h.gen, h.events)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	h.proc = p
	t.Cleanup(func() {
		if !h.exited {
			p.KillNow()
			// Wait for the Exit so no goroutine outlives the test.
			for {
				select {
				case ev := <-h.events:
					if ev.Exit != nil {
						return
					}
				case <-time.After(5 * time.Second):
					return
				}
			}
		}
	})
	return h
}

// next returns the next event, failing the test if none comes in time.
func (h *harness) next() worker.Event {
	h.t.Helper()
	if len(h.pending) > 0 {
		ev := h.pending[0]
		h.pending = h.pending[1:]
		return ev
	}
	select {
	case ev := <-h.events:
		if ev.Slot != h.slot || ev.Gen != h.gen {
			h.t.Fatalf("event for slot %d gen %d, want %d/%d", ev.Slot, ev.Gen, h.slot, h.gen)
		}
		if len(ev.Msgs) > 0 {
			// One message per event, as the worker wrote them.
			for _, m := range ev.Msgs {
				h.pending = append(h.pending, worker.Event{Slot: ev.Slot, Gen: ev.Gen, Msg: m})
			}
			return h.next()
		}
		if ev.Exit != nil {
			h.exited = true
		}
		return ev
	case <-time.After(8 * time.Second):
		h.t.Fatal("no event within 8s")
	}
	return worker.Event{}
}

// until reads events up to and including the Exit and returns them all.
func (h *harness) untilExit() []worker.Event {
	h.t.Helper()
	var evs []worker.Event
	for {
		ev := h.next()
		evs = append(evs, ev)
		if ev.Exit != nil {
			h.noMore()
			return evs
		}
	}
}

// noMore checks that nothing follows the Exit event.
func (h *harness) noMore() {
	h.t.Helper()
	select {
	case ev := <-h.events:
		h.t.Fatalf("event after Exit: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

func (h *harness) expectMsg(typ string) *protocol.Message {
	h.t.Helper()
	ev := h.next()
	if ev.Msg == nil || ev.Msg.Type != typ {
		h.t.Fatalf("got %s, want message %q", describe(ev), typ)
	}
	return ev.Msg
}

func describe(ev worker.Event) string {
	switch {
	case ev.Msg != nil:
		return "message " + ev.Msg.Type
	case ev.ProtoErr != nil:
		return "protocol error " + ev.ProtoErr.Error()
	case ev.Exit != nil:
		return fmt.Sprintf("exit %+v", *ev.Exit)
	}
	return "empty event"
}

func TestHandshakeAndMessageFlow(t *testing.T) {
	t.Parallel()
	var stdout, stderr lockedBuffer
	h := startHelperLive(t, "echo", &stdout, &stderr, "--tb=short", "a b")
	hello := h.expectMsg(protocol.TypeHello)
	if hello.PID != h.proc.PID() || hello.Protocol != protocol.Version {
		t.Errorf("hello = %+v, want pid %d and protocol %d", hello, h.proc.PID(), protocol.Version)
	}
	// A garbage line is reported and the stream goes on.
	if ev := h.next(); ev.ProtoErr == nil || !strings.Contains(ev.ProtoErr.Error(), "decode") {
		t.Fatalf("got %s, want a decode error for the garbage line", describe(ev))
	}
	sess := h.expectMsg(protocol.TypeSession)
	if got := strings.Join(sess.HeaderLines, "|"); got != "--tb=short|a b" {
		t.Errorf("worker got arguments %q, want --tb=short and 'a b'", got)
	}
	if got, want := realPath(t, sess.Rootdir), realPath(t, h.dir); got != want {
		t.Errorf("worker ran in %q, want Spec.Dir %q", got, want)
	}
	coll := h.expectMsg(protocol.TypeCollected)
	if len(coll.Tests) != 2 {
		t.Fatalf("collected %+v", coll.Tests)
	}
	if w := h.expectMsg(protocol.TypeWant); !w.Idle {
		t.Fatal("first want is not idle")
	}
	h.proc.Send(protocol.Command{Type: protocol.CmdRun, IDs: []string{"a.py::t1", "a.py::t2"}})
	for _, id := range []string{"a.py::t1", "a.py::t2"} {
		if m := h.expectMsg(protocol.TypeStart); m.ID != id {
			t.Fatalf("start %q, want %q", m.ID, id)
		}
		if m := h.expectMsg(protocol.TypeReport); m.ID != id || m.Report == nil || m.Report.Outcome != "passed" {
			t.Fatalf("report %+v", m)
		}
		if m := h.expectMsg(protocol.TypeDone); m.ID != id || m.Duration != 0.01 {
			t.Fatalf("done %+v", m)
		}
	}
	h.expectMsg(protocol.TypeWant)
	h.proc.Send(protocol.Command{Type: protocol.CmdShutdown})
	if m := h.expectMsg(protocol.TypeBye); m.Code != 0 {
		t.Errorf("bye code %d", m.Code)
	}
	evs := h.untilExit()
	if len(evs) != 1 {
		t.Fatalf("events after bye: %v", evs)
	}
	ex := evs[0].Exit
	if ex.Code != 0 || ex.Signal != "" || ex.KillStage != "" || ex.Err != nil {
		t.Errorf("exit = %+v, want a clean exit 0", *ex)
	}
	// The tail holds stderr without the markers; the live streams hold
	// each test's lines under its name.
	if want := "a warning on stderr\nerr of a.py::t1\nerr of a.py::t2\n"; ex.StderrTail != want {
		t.Errorf("stderr tail = %q, want %q", ex.StderrTail, want)
	}
	wantOut := []string{"|stdout of a test run with -s\n", "a.py::t1|out of a.py::t1\n", "a.py::t2|out of a.py::t2\n"}
	wantErr := []string{"|a warning on stderr\n", "a.py::t1|err of a.py::t1\n", "a.py::t2|err of a.py::t2\n"}
	for _, c := range []struct {
		name string
		got  *lockedBuffer
		want []string
	}{{"stdout", &stdout, wantOut}, {"stderr", &stderr, wantErr}} {
		c.got.mu.Lock()
		if strings.Join(c.got.pieces, "") != strings.Join(c.want, "") || !c.got.closed {
			t.Errorf("live %s = %q (closed %v), want %q, closed", c.name, c.got.pieces, c.got.closed, c.want)
		}
		c.got.mu.Unlock()
	}
}

func TestExitBeforeHello(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "exit4", nil)
	ev := h.next()
	if !errors.Is(ev.ProtoErr, worker.ErrNoHello) {
		t.Fatalf("got %s, want ErrNoHello", describe(ev))
	}
	evs := h.untilExit()
	ex := evs[len(evs)-1].Exit
	if len(evs) != 1 || ex.Code != 4 || ex.Signal != "" {
		t.Fatalf("exit = %+v (events %d), want code 4", *ex, len(evs))
	}
	if !strings.Contains(ex.StderrTail, "unrecognized arguments: --bogus") {
		t.Errorf("stderr tail %q does not hold pytest's message", ex.StderrTail)
	}
}

func TestHandshakeVersionMismatch(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "badversion", nil)
	ev := h.next()
	if !errors.Is(ev.ProtoErr, protocol.ErrHandshake) {
		t.Fatalf("got %s, want a handshake error", describe(ev))
	}
	if !strings.Contains(ev.ProtoErr.Error(), fmt.Sprint(protocol.Version+1)) {
		t.Errorf("handshake error %q does not name the worker's version", ev.ProtoErr)
	}
	// The worker is killed, and nothing it said after its bad hello counts.
	evs := h.untilExit()
	for _, e := range evs[:len(evs)-1] {
		t.Errorf("after a failed handshake, got %s", describe(e))
	}
	ex := evs[len(evs)-1].Exit
	if ex.Signal != "SIGTERM" || ex.KillStage != "SIGTERM" || ex.Code != -1 {
		t.Errorf("exit = %+v, want killed by SIGTERM at stage SIGTERM", *ex)
	}
}

func TestKilledBySignal(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "sigkill", nil)
	h.expectMsg(protocol.TypeHello)
	h.expectMsg(protocol.TypeStart)
	evs := h.untilExit()
	ex := evs[len(evs)-1].Exit
	if len(evs) != 1 {
		t.Errorf("events before exit: %v", evs)
	}
	if ex.Signal != "SIGKILL" || ex.Code != -1 || ex.KillStage != "" {
		t.Errorf("exit = %+v, want Signal SIGKILL, Code -1, no kill stage (herd killed nothing)", *ex)
	}
	if !strings.Contains(ex.StderrTail, "Fatal Python error: Segmentation fault") || !strings.Contains(ex.StderrTail, "line 3 in test_t") {
		t.Errorf("stderr tail = %q", ex.StderrTail)
	}
}

func TestStderrTailIsBounded(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "flood", nil)
	h.expectMsg(protocol.TypeHello)
	evs := h.untilExit()
	ex := evs[len(evs)-1].Exit
	if ex.Code != 3 {
		t.Errorf("exit code %d, want 3", ex.Code)
	}
	tail := ex.StderrTail
	if !strings.HasPrefix(tail, "[... earlier stderr cut ...]\n") || !strings.HasSuffix(tail, "END-OF-STDERR\n") {
		t.Errorf("tail starts %q and ends %q", tail[:min(40, len(tail))], tail[max(0, len(tail)-20):])
	}
	if len(tail) > 65<<10 || len(tail) < 60<<10 {
		t.Errorf("tail is %d bytes, want about 64 KiB", len(tail))
	}
}

func pidGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// A zombie is dead; only its reaper may lag (pid 1 in a container).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !pidGone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d still alive after its worker ended", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func grandchild(t *testing.T, h *harness) int {
	t.Helper()
	m := h.expectMsg(protocol.TypeWarning)
	pid, err := strconv.Atoi(m.Warning.Message)
	if err != nil || pid <= 0 {
		t.Fatalf("bad grandchild pid %q", m.Warning.Message)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// A worker that ignores SIGTERM is killed by SIGKILL after the grace period;
// its stack dump (SIGUSR1) reaches the stderr tail, followed by a header for
// the grandchild it started, which is asked for its stacks too and dies with
// it.
func TestKillEscalation(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "stubborn", nil)
	h.expectMsg(protocol.TypeHello)
	gc := grandchild(t, h)
	if pidGone(gc) {
		t.Fatal("grandchild not running")
	}
	// Send never blocks, even though this worker reads no commands.
	begin := time.Now()
	for i := 0; i < 5000; i++ {
		h.proc.Send(protocol.Command{Type: protocol.CmdRun, IDs: []string{strings.Repeat("x", 100)}})
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("5000 Sends to a deaf worker took %s", d)
	}
	begin = time.Now()
	h.proc.Kill(true)
	h.proc.Kill(true) // a second call changes nothing
	evs := h.untilExit()
	took := time.Since(begin)
	ex := evs[len(evs)-1].Exit
	if ex.Signal != "SIGKILL" || ex.KillStage != "SIGKILL" {
		t.Errorf("exit = %+v, want SIGKILL at stage SIGKILL", *ex)
	}
	if !strings.Contains(ex.StderrTail, "in test_hang") {
		t.Errorf("stack dump missing from stderr tail %q", ex.StderrTail)
	}
	// The grandchild (a Go program: it catches SIGUSR1 and writes nothing)
	// is asked for its stacks after the worker, under a header of its own.
	// A build without /proc scans (herd_portable, macOS) does not find it:
	// it only dies with the process group.
	head := fmt.Sprintf("--- herd: stacks of process %d (child of %d): ", gc, h.proc.PID())
	if !reaper.FindsProcesses {
		if strings.Contains(ex.StderrTail, "--- herd: stacks of") || ex.ChildStacks != 0 {
			t.Errorf("a build without /proc scans asked children for stacks (ChildStacks %d):\n%s", ex.ChildStacks, ex.StderrTail)
		}
	} else if w, g := strings.Index(ex.StderrTail, "in test_hang"), strings.Index(ex.StderrTail, head); g < 0 || g < w {
		t.Errorf("stderr tail has no header %q after the worker's stacks:\n%s", head, ex.StderrTail)
	}
	// Two dumps of at most StackDelay each, then TermGrace before SIGKILL.
	if min, max := worker.TermGrace, 2*worker.StackDelay+worker.TermGrace+2*time.Second; took < min || took > max {
		t.Errorf("escalation took %s, want between %s and %s", took, min, max)
	}
	waitGone(t, gc)
}

// A worker that exits leaving a grandchild that holds its pipes: the
// grandchild is killed with the group, and the Exit comes at once rather than
// after the drain timeout.
func TestGrandchildKilledWithWorker(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "orphan", nil)
	h.expectMsg(protocol.TypeHello)
	gc := grandchild(t, h)
	// Time from the worker's own end (a race-enabled binary takes a while
	// to exit) to its Exit event.
	for deadline := time.Now().Add(5 * time.Second); !pidGone(h.proc.PID()); {
		if time.Now().After(deadline) {
			t.Fatal("helper did not exit")
		}
		time.Sleep(2 * time.Millisecond)
	}
	begin := time.Now()
	evs := h.untilExit()
	took := time.Since(begin)
	ex := evs[len(evs)-1].Exit
	if ex.Code != 0 || ex.Signal != "" {
		t.Errorf("exit = %+v, want code 0", *ex)
	}
	// Without the group kill the drain would wait for the grandchild,
	// which holds the message pipe, until its 2 s timeout.
	if took > time.Second {
		t.Errorf("Exit took %s after the worker ended: the grandchild kept the pipes open", took)
	}
	waitGone(t, gc)
}

func TestStartFailure(t *testing.T) {
	t.Parallel()
	events := make(chan worker.Event, 1)
	_, err := worker.Start(context.Background(), worker.Spec{Python: filepath.Join(t.TempDir(), "no-python"), Boot: "x"}, nil, 0, 1, events)
	if err == nil || !strings.Contains(err.Error(), "no-python") {
		t.Fatalf("Start of a missing interpreter = %v, want an error naming it", err)
	}
	select {
	case ev := <-events:
		t.Fatalf("event from a worker that never started: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestSignalName(t *testing.T) {
	t.Parallel()
	type testCase struct {
		sig  syscall.Signal
		want string
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		if got := worker.SignalName(tc.sig); got != tc.want {
			t.Errorf("SignalName(%d) = %q, want %q", int(tc.sig), got, tc.want)
		}
	}
	for _, tc := range []testCase{
		{syscall.SIGSEGV, "SIGSEGV"},
		{syscall.SIGKILL, "SIGKILL"},
		{syscall.SIGABRT, "SIGABRT"},
		{syscall.SIGBUS, "SIGBUS"},
		{syscall.SIGTERM, "SIGTERM"},
		{syscall.Signal(63), "signal 63"},
	} {
		t.Run(tc.want, func(t *testing.T) { run(t, tc) })
	}
}

func TestStackDump(t *testing.T) {
	dump := "Thread 0x00007f01 (most recent call first):\n" +
		"  File \"/x/threading.py\", line 320 in wait\n" +
		"\n" +
		"Current thread 0x00007f02 (most recent call first):\n" +
		"  File \"/x/conftest.py\", line 4 in pytest_sessionfinish\n" +
		"  File \"/x/herd_boot.py\", line 70 in <module>\n"
	for _, tc := range []struct {
		name, stderr, want string
	}{
		{"none", "some warning\n", ""},
		{"empty", "", ""},
		{"alone", dump, dump},
		{"after other output", "DeprecationWarning: x\n  warnings.warn(x)\n" + dump, dump},
		{"followed by other output", dump + "Terminated\n", dump},
		{"the last of two", "Stack (most recent call first):\n  File \"a.py\", line 1 in f\nlater\n" + dump, dump},
		{"single thread", "Stack (most recent call first):\n  File \"a.py\", line 1 in f\n",
			"Stack (most recent call first):\n  File \"a.py\", line 1 in f\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := worker.StackDump(tc.stderr); got != tc.want {
				t.Errorf("StackDump(%q) = %q, want %q", tc.stderr, got, tc.want)
			}
		})
	}
}
