// Package worker runs one pytest worker process: it starts the interpreter in
// its own process group with the protocol on dedicated pipes, checks the
// versioned handshake, turns the worker's messages into Events, keeps the tail
// of its stderr, and kills it by escalation.
package worker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/reaper"
)

// HandshakeTimeout bounds the wait for a worker's hello. The hello is sent
// before pytest is imported, after the interpreter has loaded only the
// standard library, which takes well under a second; 60 s leaves room for a
// machine that is swapping or a cold network file system.
const HandshakeTimeout = 60 * time.Second

// drainTimeout bounds how long the controller waits, after a worker exited,
// for the rest of its messages and stderr. Only a grandchild that escaped the
// process group and still holds the pipes makes this wait run out.
const drainTimeout = 2 * time.Second

// Kill escalation delays. StackDelay gives faulthandler time to write every
// thread's stack after SIGUSR1 (a few milliseconds in practice); TermGrace
// lets pytest's and atexit handlers run after SIGTERM before SIGKILL.
const (
	StackDelay = 500 * time.Millisecond
	TermGrace  = 2 * time.Second
)

// Stack dumps of the worker's child processes. A forked child (a
// multiprocessing pool's, under the fork start method) inherits the worker's
// faulthandler, SIGUSR1 handler and stderr pipe, so herd asks each such
// descendant in turn for its stacks before the kill.
//
// dumpQuiet is the silence on the stderr pipe, after a dump's first bytes,
// that means the dump is over: faulthandler writes a dump in one burst of
// small writes, and 100 ms covers a process descheduled mid-dump on a busy
// machine. Each dump waits at most StackDelay. maxChildDumps and
// childDumpBudget bound what a pool of hundreds of processes can add to the
// kill: about 2 s for a handful of children, never more than 10 s.
// dumpTailRoom is the room each dump adds to the stderr tail, so the
// children's dumps never push the worker's own out of it: a few dozen
// frames of a few threads take 2 to 8 KiB.
const (
	dumpQuiet       = 100 * time.Millisecond
	maxChildDumps   = 32
	childDumpBudget = 10 * time.Second
	dumpTailRoom    = 16 << 10
)

// stderrTailSize is how much of a worker's stderr is kept for crash reports:
// enough for faulthandler's dump of a few dozen threads.
const stderrTailSize = 64 << 10

// ErrNoHello means a worker exited, or was killed after HandshakeTimeout,
// before it sent its hello.
var ErrNoHello = errors.New("worker sent no hello")

// Spec says how to start a worker process.
type Spec struct {
	// Python is the interpreter, Boot the path of the boot script.
	Python string
	Boot   string
	// Args are the pytest arguments.
	Args []string
	// Env is the full environment of the worker; the protocol variables are
	// added to it.
	Env []string
	// Dir is the working directory.
	Dir string
	// LiveStdout, when set, receives the worker's stdout as the tests
	// write it (-s), and LiveStderr its stderr (which herd keeps the tail
	// of anyway), cut by test; without LiveStdout stdout is discarded.
	LiveStdout, LiveStderr Live
	// LiveOnMark holds a stream's output back from its Live until the
	// worker's first marker in that stream: the worker writes one once
	// its configuration turned capture off (-s in ini addopts, which herd
	// does not read), and none otherwise, so what it prints with capture
	// on (its own terminal's lines) is discarded, as without Live.
	LiveOnMark bool
}

// Event is something that happened to one worker process. Msg (or Msgs),
// ProtoErr and Exit are exclusive; Exit is always the last event of a
// process.
type Event struct {
	Slot int
	Gen  int
	Msg  *protocol.Message
	// Msgs are messages that arrived together (a worker writes a test's
	// messages in one go), in order: one event, not one each.
	Msgs     []*protocol.Message
	ProtoErr error
	Exit     *Exit
}

// maxBatch bounds the messages one Event carries: enough to take a test's
// messages in one event, few enough that no event holds up the dispatcher.
const maxBatch = 64

// Exit says how a worker process ended.
type Exit struct {
	// Code is the exit code, or -1 when a signal ended the process.
	Code int
	// Signal names the signal that ended it ("SIGSEGV"), or "".
	Signal string
	// StderrTail is the end of the worker's stderr.
	StderrTail string
	// KillStage is the last escalation stage herd used on this worker
	// ("stacks", "SIGTERM", "SIGKILL"), or "".
	KillStage string
	// ChildStacks is the number of the worker's descendants herd asked for
	// their stacks before the kill (their dumps follow the worker's in
	// StderrTail, each under a header naming the process).
	ChildStacks int
	// Err is set when herd could not start or talk to the worker.
	Err error
	// Board is what the worker's phase board held at its end.
	Board protocol.Board
}

// Proc is a running worker process.
type Proc struct {
	slot, gen int
	cmd       *exec.Cmd
	cmdW      *os.File
	sendMu    sync.Mutex
	sendQ     chan []byte
	stderr    *tail

	mu          sync.Mutex
	killStage   string
	childStacks int
	exited      chan struct{}
	killOnce    sync.Once

	// boardMu guards board, which is nil once the process ended.
	boardMu sync.Mutex
	board   *os.File
}

// Starter starts worker processes. The dispatcher is given one, so tests can
// replace real pytest workers by fakes.
type Starter interface {
	Start(ctx context.Context, slot, gen int, events chan<- Event) (Handle, error)
}

// Handle is the dispatcher's view of a worker process.
type Handle interface {
	// Send queues a command; it never blocks.
	Send(protocol.Command)
	// Kill escalates: stack dump, SIGTERM, then SIGKILL to the process group.
	// It returns at once; the Exit event follows.
	Kill(stacks bool)
	// PID is the worker's process id.
	PID() int
}

// ProcessStarter starts real pytest workers from a Spec. Env is extended per
// slot by SlotEnv.
type ProcessStarter struct {
	Spec Spec
	// SlotEnv returns extra environment entries for a slot.
	SlotEnv func(slot int) []string
	// SlotLive, when set, gives each process of a slot its live stdout
	// and stderr (overriding Spec.LiveStdout and LiveStderr).
	SlotLive func(slot int) (stdout, stderr Live)
}

// Start implements Starter.
func (s *ProcessStarter) Start(ctx context.Context, slot, gen int, events chan<- Event) (Handle, error) {
	spec := s.Spec
	env := append([]string(nil), spec.Env...)
	if s.SlotEnv != nil {
		env = append(env, s.SlotEnv(slot)...)
	}
	if s.SlotLive != nil {
		spec.LiveStdout, spec.LiveStderr = s.SlotLive(slot)
	}
	return Start(ctx, spec, env, slot, gen, events)
}

// Start starts one worker with env and reports its events on events until its
// Exit event. ctx bounds only the sends on events: cancel it when nobody reads
// them any more.
func Start(ctx context.Context, spec Spec, env []string, slot, gen int, events chan<- Event) (*Proc, error) {
	pp, err := openPipes(spec.LiveStdout != nil)
	if err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	var token string
	if spec.LiveStdout != nil {
		if token, err = newLiveToken(); err != nil {
			pp.Close()
			return nil, fmt.Errorf("start worker: %w", err)
		}
	}
	cmd := command(spec, env, pp, token)
	if err := cmd.Start(); err != nil {
		pp.Close()
		return nil, fmt.Errorf("start worker %s: %w", spec.Python, err)
	}
	pp.closeChildEnds()
	p := &Proc{
		slot: slot, gen: gen, cmd: cmd, cmdW: pp.cmdW,
		sendQ:  make(chan []byte, 1024),
		stderr: newTail(stderrTailSize),
		exited: make(chan struct{}),
		board:  pp.board,
	}
	emit := func(ev Event) {
		ev.Slot, ev.Gen = slot, gen
		select {
		case events <- ev:
		case <-ctx.Done():
		}
	}
	// The writer goroutine owns cmdW; it stops when the process exits.
	go p.writeLoop()
	drains := p.drainOutput(spec, token, pp)
	msgsDone := make(chan struct{})
	go func() { // owns msgR; stops at EOF or when the drain deadline passes
		defer close(msgsDone)
		defer pp.msgR.Close()
		p.readMessages(pp.msgR, emit)
	}()
	go p.wait(pp, msgsDone, drains, emit)
	return p, nil
}

// pipes are the files between herd and one worker: its commands (cmd), its
// messages (msg), its stderr (err), its stdout under live output (out), and
// the phase board. R ends are read and W ends written; the worker's ends
// (cmdR, msgW, errW, outW) are closed once it started.
type pipes struct {
	cmdR, cmdW, msgR, msgW, errR, errW, outR, outW *os.File
	board                                          *os.File
}

// openPipes opens a worker's pipes, the stdout pipe only with live output,
// and its phase board: a file unlinked at once, so only the worker's
// mapping and herd's descriptor keep it.
func openPipes(live bool) (*pipes, error) {
	pp := &pipes{}
	var err error
	if pp.cmdR, pp.cmdW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if pp.msgR, pp.msgW, err = os.Pipe(); err != nil {
		pp.Close()
		return nil, err
	}
	if pp.errR, pp.errW, err = os.Pipe(); err != nil {
		pp.Close()
		return nil, err
	}
	if live {
		if pp.outR, pp.outW, err = os.Pipe(); err != nil {
			pp.Close()
			return nil, err
		}
	}
	if pp.board, err = os.CreateTemp("", "herd-board-"); err != nil {
		pp.Close()
		return nil, fmt.Errorf("phase board: %w", err)
	}
	os.Remove(pp.board.Name())
	if err := pp.board.Truncate(protocol.BoardSize); err != nil {
		pp.Close()
		return nil, fmt.Errorf("phase board: %w", err)
	}
	return pp, nil
}

// Close closes every file of pp that is open: after a failed start, when
// no goroutine owns any of them yet.
func (pp *pipes) Close() {
	for _, f := range []**os.File{&pp.cmdR, &pp.cmdW, &pp.msgR, &pp.msgW, &pp.errR, &pp.errW, &pp.outR, &pp.outW, &pp.board} {
		if *f != nil {
			(*f).Close()
			*f = nil
		}
	}
}

// closeChildEnds closes the worker's ends once it has them, so that the
// reads on herd's ends end when the worker (and whatever holds them) exits.
func (pp *pipes) closeChildEnds() {
	for _, f := range []**os.File{&pp.cmdR, &pp.msgW, &pp.errW, &pp.outW} {
		if *f != nil {
			(*f).Close()
			*f = nil
		}
	}
}

// command is the worker's command: the boot script with the pytest
// arguments, the protocol's files as descriptors 3 to 5 (named in its
// environment), stderr (and stdout, under live output) on pipes, in a
// process group of its own (see reaper.ChildAttr).
func command(spec Spec, env []string, pp *pipes, token string) *exec.Cmd {
	cmd := exec.Command(spec.Python, append([]string{spec.Boot}, spec.Args...)...)
	cmd.Dir = spec.Dir
	cmd.Env = append(env,
		protocol.EnvMagic+"="+protocol.MagicValue,
		protocol.EnvCmdFD+"=3",
		protocol.EnvMsgFD+"=4",
		protocol.EnvBoardFD+"=5",
	)
	if token != "" {
		cmd.Env = append(cmd.Env, protocol.EnvLive+"="+token)
	}
	cmd.ExtraFiles = []*os.File{pp.cmdR, pp.msgW, pp.board}
	cmd.Stdin = nil
	cmd.Stderr = pp.errW
	if pp.outW != nil {
		cmd.Stdout = pp.outW
	}
	cmd.SysProcAttr = reaper.ChildAttr()
	return cmd
}

// drainOutput starts the goroutines that read the worker's stderr into the
// tail, and under live output its stdout and stderr into spec's Lives. Each
// owns its pipe and stops at EOF; the WaitGroup is done when all are.
func (p *Proc) drainOutput(spec Spec, token string, pp *pipes) *sync.WaitGroup {
	var drains sync.WaitGroup
	errR, outR := pp.errR, pp.outR
	drains.Add(1)
	if outR == nil {
		go func() {
			defer drains.Done()
			io.Copy(p.stderr, errR)
			errR.Close()
		}()
		return &drains
	}
	// -s: the streams carry the worker's markers; the tail keeps stderr
	// without them.
	live := spec.LiveStderr
	var errD *demux
	errD = newDemux(token, func(test string, b []byte) {
		p.stderr.Write(b)
		if live != nil && (!spec.LiveOnMark || errD.marked) {
			live.Output(test, b)
		}
	})
	go func() {
		defer drains.Done()
		io.Copy(errD, errR)
		errD.flush()
		if live != nil {
			live.Close()
		}
		errR.Close()
	}()
	var outD *demux
	outD = newDemux(token, func(test string, b []byte) {
		if !spec.LiveOnMark || outD.marked {
			spec.LiveStdout.Output(test, b)
		}
	})
	drains.Add(1)
	go func() {
		defer drains.Done()
		io.Copy(outD, outR)
		outD.flush()
		spec.LiveStdout.Close()
		outR.Close()
	}()
	return &drains
}

// readMessages is the reader: it reads the worker's messages from msgR until
// EOF (or the drain deadline), checks the hello, which must come within
// HandshakeTimeout, and emits the messages in batches. After a failed
// handshake the worker is killed and nothing else it says is trusted.
func (p *Proc) readMessages(msgR io.Reader, emit func(Event)) {
	r := protocol.NewReader(msgR, protocol.MaxLine)
	hello := time.AfterFunc(HandshakeTimeout, func() {
		p.setStage("SIGKILL")
		p.signalGroup(syscall.SIGKILL)
	})
	first := true
	refused := false
	var batch []*protocol.Message
	flush := func() {
		if len(batch) > 0 {
			emit(Event{Msgs: batch})
			batch = nil
		}
	}
	for {
		m, err := r.Read()
		if err != nil {
			flush()
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed) {
				hello.Stop()
				if first {
					emit(Event{ProtoErr: ErrNoHello})
				}
				return
			}
			if !refused {
				emit(Event{ProtoErr: err})
			}
			continue
		}
		if refused {
			continue
		}
		if first {
			first = false
			hello.Stop()
			if err := protocol.CheckHello(m); err != nil {
				emit(Event{ProtoErr: err})
				refused = true
				p.Kill(false)
				continue
			}
		}
		batch = append(batch, m)
		if len(batch) >= maxBatch || !r.HasLine() {
			flush()
		}
	}
}

// wait is the waiter: it owns cmd.Wait, kills what the worker left in its
// process group, waits (at most drainTimeout in all) for the reader and the
// output drains, reads the phase board, and emits the Exit event last.
func (p *Proc) wait(pp *pipes, msgsDone <-chan struct{}, drains *sync.WaitGroup, emit func(Event)) {
	state, werr := p.cmd.Process.Wait()
	close(p.exited)
	// Whatever the worker left in its process group dies with it.
	p.signalGroup(syscall.SIGKILL)
	// One deadline for all the pipes: a child that escaped the group and
	// holds them all costs drainTimeout once, not once per pipe.
	drainBy := time.After(drainTimeout)
	select {
	case <-msgsDone:
	case <-drainBy:
		pp.msgR.SetReadDeadline(time.Now())
		<-msgsDone
		drainBy = closedTime()
	}
	done := make(chan struct{})
	go func() { drains.Wait(); close(done) }()
	select {
	case <-done:
	case <-drainBy:
		pp.errR.SetReadDeadline(time.Now())
		if pp.outR != nil {
			pp.outR.SetReadDeadline(time.Now())
		}
		<-done
	}
	ex := exitOf(state, werr)
	ex.StderrTail = p.stderr.String()
	ex.Board = p.closeBoard()
	p.mu.Lock()
	ex.KillStage = p.killStage
	ex.ChildStacks = p.childStacks
	p.mu.Unlock()
	emit(Event{Exit: ex})
}

// closeBoard reads what the phase board holds and closes it; Revoke finds
// no board from then on.
func (p *Proc) closeBoard() protocol.Board {
	p.boardMu.Lock()
	defer p.boardMu.Unlock()
	var b protocol.Board
	buf := make([]byte, protocol.BoardSize)
	if n, _ := p.board.ReadAt(buf, 0); n == len(buf) {
		b = protocol.ParseBoard(buf)
	}
	p.board.Close()
	p.board = nil
	return b
}

// exitOf is the Exit of a process that ended in state, or whose wait
// failed with werr: its code, or the signal that ended it (Code -1).
func exitOf(state *os.ProcessState, werr error) *Exit {
	ex := &Exit{Code: -1}
	if werr != nil {
		ex.Err = werr
	} else if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		ex.Signal = SignalName(ws.Signal())
	} else {
		ex.Code = state.ExitCode()
	}
	return ex
}

func (p *Proc) writeLoop() {
	defer p.cmdW.Close()
	for {
		select {
		case b := <-p.sendQ:
			if _, err := p.cmdW.Write(b); err != nil {
				// The worker is gone; its Exit event tells the rest.
				<-p.exited
				return
			}
		case <-p.exited:
			return
		}
	}
}

// Send implements Handle. Commands beyond the queue's capacity mean the
// worker stopped reading; they are dropped and the deadline on the worker
// catches it.
func (p *Proc) Send(c protocol.Command) {
	select {
	case p.sendQ <- protocol.Encode(c):
	default:
	}
}

// PID implements Handle.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Revoke takes back tests the worker holds and has not started (c is a
// protocol.CmdRevoke naming them), as the protocol describes: under the
// phase board's lock, only if the test the worker claimed last is its
// starts-th (so it is not starting one now that the controller has not
// heard of), it queues c and writes c's generation on the board. It never
// waits: false means the lock was held, the worker claimed more, or the
// command could not be queued, and nothing was taken back.
func (p *Proc) Revoke(starts uint32, c protocol.Command) bool {
	p.boardMu.Lock()
	defer p.boardMu.Unlock()
	if p.board == nil || starts == 0 {
		return false
	}
	fd := p.board.Fd()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	if syscall.FcntlFlock(fd, syscall.F_SETLK, &lk) != nil {
		return false
	}
	defer func() {
		lk.Type = syscall.F_UNLCK
		syscall.FcntlFlock(fd, syscall.F_SETLK, &lk)
	}()
	var w [8]byte
	if n, _ := p.board.ReadAt(w[:], protocol.BoardGenOffset); n != len(w) {
		return false
	}
	if binary.LittleEndian.Uint32(w[4:]) != starts {
		return false
	}
	old := binary.LittleEndian.Uint32(w[:4])
	c.Gen = old + 1
	if c.Gen == 0 {
		c.Gen = 1
	}
	// The generation first, then the command: while the lock is held the
	// worker reads neither, and a command that cannot be queued puts the
	// old generation back.
	binary.LittleEndian.PutUint32(w[:4], c.Gen)
	if _, err := p.board.WriteAt(w[:4], protocol.BoardGenOffset); err != nil {
		return false
	}
	select {
	case p.sendQ <- protocol.Encode(c):
		return true
	default:
		binary.LittleEndian.PutUint32(w[:4], old)
		p.board.WriteAt(w[:4], protocol.BoardGenOffset)
		return false
	}
}

// Kill implements Handle: with stacks it first sends SIGUSR1 so faulthandler
// dumps every thread's stack to stderr, to the worker and then to each of its
// descendants that catches SIGUSR1 (see dumpStacks), then SIGTERM to the
// process group, then, after TermGrace, SIGKILL. The stage reached is
// recorded for the Exit.
func (p *Proc) Kill(stacks bool) {
	p.killOnce.Do(func() {
		go func() {
			if stacks {
				p.setStage("stacks")
				if !p.dumpStacks() {
					return
				}
			}
			p.setStage("SIGTERM")
			p.signalGroup(syscall.SIGTERM)
			select {
			case <-p.exited:
				return
			case <-time.After(TermGrace):
			}
			p.setStage("SIGKILL")
			p.signalGroup(syscall.SIGKILL)
		}()
	})
}

// dumpStacks has the worker, then each of its descendants that catches
// SIGUSR1, write every thread's stack to the worker's stderr, one process at
// a time so that no two dumps interleave; a header line in the stderr tail
// names each process. A descendant that does not catch SIGUSR1 (a spawned
// interpreter, a program that is not Python) would die of it: it is not
// sent the signal, and its header says it has no stacks. It reports false
// when the worker exited meanwhile.
func (p *Proc) dumpStacks() bool {
	pid := p.PID()
	kids := reaper.Descendants(pid)
	if len(kids) > maxChildDumps {
		kids = kids[:maxChildDumps]
	}
	p.stderr.grow(dumpTailRoom * (len(kids) + 1))
	if len(kids) > 0 {
		fmt.Fprintf(p.stderr, "--- herd: stacks of worker process %d ---\n", pid)
	}
	p.cmd.Process.Signal(syscall.SIGUSR1)
	if !p.awaitDump(StackDelay) {
		return false
	}
	budget := time.Now().Add(childDumpBudget)
	for _, k := range kids {
		if time.Now().After(budget) {
			fmt.Fprintf(p.stderr, "--- herd: no time left for the stacks of the other child processes ---\n")
			break
		}
		// The snapshot may be stale: the process may have exited and its
		// pid been reused, or exec'd another program.
		if reaper.ParentOf(k.PID) != k.PPID {
			continue
		}
		if !reaper.Catches(k.PID, syscall.SIGUSR1) {
			fmt.Fprintf(p.stderr, "--- herd: process %d (child of %d) does not catch SIGUSR1: no stacks: %s ---\n", k.PID, k.PPID, k.Cmd)
			continue
		}
		fmt.Fprintf(p.stderr, "--- herd: stacks of process %d (child of %d): %s ---\n", k.PID, k.PPID, k.Cmd)
		syscall.Kill(k.PID, syscall.SIGUSR1)
		p.mu.Lock()
		p.childStacks++
		p.mu.Unlock()
		if !p.awaitDump(StackDelay) {
			return false
		}
	}
	return true
}

// awaitDump waits until a dump has come through the stderr pipe (bytes
// arrived, then dumpQuiet of silence) or max passed. It reports false when
// the worker exited meanwhile.
func (p *Proc) awaitDump(max time.Duration) bool {
	start := p.stderr.written()
	deadline := time.After(max)
	tick := time.NewTicker(dumpQuiet / 4)
	defer tick.Stop()
	for {
		select {
		case <-p.exited:
			return false
		case <-deadline:
			return true
		case <-tick.C:
			if n, last := p.stderr.written(), p.stderr.lastWrite(); n > start && time.Since(last) >= dumpQuiet {
				return true
			}
		}
	}
}

// KillNow sends SIGKILL to the process group at once (a second Ctrl-C).
func (p *Proc) KillNow() {
	p.setStage("SIGKILL")
	p.signalGroup(syscall.SIGKILL)
}

func (p *Proc) setStage(s string) {
	p.mu.Lock()
	p.killStage = s
	p.mu.Unlock()
}

func (p *Proc) signalGroup(sig syscall.Signal) {
	pid := p.cmd.Process.Pid
	// The worker leads its own process group, so -pid reaches everything it
	// started that did not move to another group.
	if err := syscall.Kill(-pid, sig); err != nil {
		syscall.Kill(pid, sig)
	}
}

// SignalName returns the conventional name of a signal, such as "SIGSEGV".
func SignalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE",
		syscall.SIGHUP: "SIGHUP", syscall.SIGILL: "SIGILL", syscall.SIGINT: "SIGINT",
		syscall.SIGKILL: "SIGKILL", syscall.SIGPIPE: "SIGPIPE", syscall.SIGQUIT: "SIGQUIT",
		syscall.SIGSEGV: "SIGSEGV", syscall.SIGTERM: "SIGTERM", syscall.SIGTRAP: "SIGTRAP",
		syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGALRM: "SIGALRM",
		syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGSYS: "SIGSYS",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", int(s))
}

// closedTime returns a channel that is ready at once.
func closedTime() <-chan time.Time {
	c := make(chan time.Time, 1)
	c <- time.Now()
	return c
}

// tail keeps the last n bytes written to it.
type tail struct {
	mu  sync.Mutex
	n   int
	buf []byte
	cut bool
	// total counts every byte written, last is the time of the last write.
	total int64
	last  time.Time
}

func newTail(n int) *tail { return &tail{n: n} }

// grow keeps n more bytes from now on.
func (t *tail) grow(n int) {
	t.mu.Lock()
	t.n += n
	t.mu.Unlock()
}

// written returns the number of bytes written so far.
func (t *tail) written() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

// lastWrite returns the time of the last write.
func (t *tail) lastWrite() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += int64(len(b))
	t.last = time.Now()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 2*t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
		t.cut = true
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	cut := t.cut
	if len(b) > t.n {
		b = b[len(b)-t.n:]
		cut = true
	}
	if cut {
		return "[... earlier stderr cut ...]\n" + string(b)
	}
	return string(b)
}

// StackDump returns the last stack dump faulthandler wrote in stderr (the
// one herd asked for with SIGUSR1): its "Thread 0x..." or "Current thread
// 0x..." blocks, one per thread, up to the first line that is not part of
// them. It returns "" when stderr holds no dump.
func StackDump(stderr string) string {
	lines := strings.Split(stderr, "\n")
	header := func(l string) bool {
		return strings.HasPrefix(l, "Thread 0x") || strings.HasPrefix(l, "Current thread 0x") ||
			strings.HasPrefix(l, "Stack (most recent call first)")
	}
	in := func(l string) bool { return header(l) || l == "" || strings.HasPrefix(l, "  ") }
	last := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if header(lines[i]) {
			last = i
			break
		}
	}
	if last < 0 {
		return ""
	}
	// Back to the first header of the run of dump lines the last header
	// is in, then on to the run's end.
	first := last
	for i := last - 1; i >= 0 && in(lines[i]); i-- {
		if header(lines[i]) {
			first = i
		}
	}
	end := last + 1
	for end < len(lines) && in(lines[end]) && !header(lines[end]) {
		end++
	}
	return strings.TrimRight(strings.Join(lines[first:end], "\n"), "\n") + "\n"
}
