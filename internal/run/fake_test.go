package run_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/worker"
)

// This file holds a fake worker written in Go. It follows the loop of
// internal/pyworker/herd_worker.py step by step: hello, session, collected,
// then "want" (idle) when its queue is empty, a non-idle "want" when it pops
// its last queued test (and waits for run/none/stop/shutdown before running
// it, so it knows the test's nextitem), a non-blocking command drain
// otherwise, and "start", one "report" per phase, "done" per test; "dropped"
// on stop; "bye" and a clean exit after shutdown.

// behave says what one test does when a fake worker runs it.
type behave struct {
	// reports are sent between start and done; nil means a plain pass.
	reports []protocol.Report
	// crash, when set, is the signal that kills the worker after start and
	// the reports (a segfault in the test).
	crash string
	// crashUnlessAlone crashes like crash, but only when the process ran
	// other tests before this one.
	crashUnlessAlone bool
	// hang makes the test never finish: only a kill ends it.
	hang bool
	// gate, when set, holds the test (after start and its reports) until it
	// is closed or the worker is killed.
	gate chan struct{}
	// leaks go with the test's done message.
	leaks []protocol.Leak
}

var passReports = []protocol.Report{
	{When: "setup", Outcome: "passed"},
	{When: "call", Outcome: "passed", Category: "passed"},
	{When: "teardown", Outcome: "passed"},
}

// script says how one worker process (slot, gen) behaves before it runs
// tests.
type script struct {
	// exitBeforeHello ends the process at once with this exit.
	exitBeforeHello *worker.Exit
	// exitBeforeCollect ends it after hello and session.
	exitBeforeCollect *worker.Exit
	// collect is what the process collects; nil means the starter's suite.
	collect []protocol.TestInfo
	errors  []protocol.CollectionError
	skips   []protocol.CollectionError
	// options go with the session message.
	options    *protocol.Options
	iniTimeout float64
	// waitBeforeCollect delays the collected message until it is closed.
	waitBeforeCollect <-chan struct{}
	// collectedSignal is closed once the collected message was emitted.
	collectedSignal chan struct{}
	// silentAfter makes the worker go silent (not crash) after it finished
	// this many tests: it neither starts the next test nor asks for work.
	silentAfter int
	// reactDelay is how long the worker takes to act on a run command.
	reactDelay time.Duration
	// hangOnShutdown makes the session never finish after shutdown.
	hangOnShutdown bool
	// slowImport holds a lazy import (of a file whose tests the worker
	// was handed) until it is closed.
	slowImport chan struct{}
	// dieOnCollect ends the process with this exit when it is told to
	// collect its share of a split collection (an import that crashes).
	dieOnCollect *worker.Exit
	// badHello makes the process fail the handshake: the worker package
	// reports ErrHandshake, kills it (SIGTERM) and forwards nothing else.
	badHello bool
	// lacks, when set, names the tests this process does not find when it
	// collects their file late, after its share (a file that collects
	// differently in each process): it gives them back with a missing
	// message, as herd_worker.py does.
	lacks func(id string) bool
	// nodeIn makes the process ask for its workerinput (as a worker of a
	// suite with xdist controller hooks does) and wait for it, and send
	// its workeroutput at the end of its session.
	nodeIn bool
}

// fakeStarter starts fake workers. Everything it records is guarded by mu.
type fakeStarter struct {
	t      *testing.T
	suite  []protocol.TestInfo
	behave map[string]behave
	// testTime is how long every test takes; zero means no time at all.
	testTime time.Duration
	// script returns the script of process (slot, gen); nil means defaults.
	script func(slot, gen int) script
	// startErr, when it returns an error, makes Start fail.
	startErr func(slot, gen int) error
	// split makes workers split collection as herd_worker.py does under
	// HERD_SPLIT=1: files first (one per module of the suite), then the
	// tests of the files they are told to collect or handed tests of.
	split bool
	// maxfail is what HERD_MAXFAIL tells herd_worker.py: after a failed
	// test the worker asks (TypeAsk) and waits for go or stop.
	maxfail int
	// revoke makes the workers take revokes as herd_worker.py does with its
	// phase board: Revoke stands for the board's lock, claim and
	// generation words.
	revoke bool

	mu     sync.Mutex
	procs  []*fakeProc
	starts map[string]int // nodeid -> start messages sent, all processes
	// startedAt is when a process last sent a test's start message, and
	// startedBy that process.
	startedAt map[string]time.Time
	startedBy map[string]*fakeProc
}

func (f *fakeStarter) Start(ctx context.Context, slot, gen int, events chan<- worker.Event) (worker.Handle, error) {
	if f.startErr != nil {
		if err := f.startErr(slot, gen); err != nil {
			return nil, err
		}
	}
	var sc script
	if f.script != nil {
		sc = f.script(slot, gen)
	}
	f.mu.Lock()
	p := &fakeProc{
		f: f, slot: slot, gen: gen, pid: 1000 + len(f.procs),
		cmds: make(chan protocol.Command, 4096),
		kill: make(chan bool, 1),
		sc:   sc,
	}
	f.procs = append(f.procs, p)
	if f.starts == nil {
		f.starts = map[string]int{}
		f.startedAt = map[string]time.Time{}
		f.startedBy = map[string]*fakeProc{}
	}
	f.mu.Unlock()
	go p.run(ctx, events)
	if f.revoke {
		return fakeRevoker{p}, nil
	}
	return p, nil
}

// procsOf returns the processes started for slot, oldest first.
func (f *fakeStarter) procsOf(slot int) []*fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeProc
	for _, p := range f.procs {
		if p.slot == slot {
			out = append(out, p)
		}
	}
	return out
}

func (f *fakeStarter) allProcs() []*fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeProc(nil), f.procs...)
}

func (f *fakeStarter) startCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts[id]
}

// fakeProc is one fake worker process; it implements worker.Handle.
type fakeProc struct {
	f         *fakeStarter
	slot, gen int
	pid       int
	sc        script
	cmds      chan protocol.Command
	kill      chan bool // receives the stacks flag of the first Kill
	killOnce  sync.Once
	killCalls atomic.Int32

	// board stands for the phase board's lock; gen, seen and claim for
	// its revoke words (the generation the controller wrote, the one the
	// worker handled last, the test it claimed last).
	board                    sync.Mutex
	boardGen, seen, claimSeq uint32

	mu       sync.Mutex
	got      []protocol.Command // every command sent to it
	received []string           // nodeids in its run commands
	stopAt   time.Time          // when it handled its first stop
	ran      []ranTest          // tests it started, in order
	imported []string           // files it collected (split collection)
	exited   bool
	// workerInput is the workerinput it was given (script.nodeIn).
	workerInput string
}

type ranTest struct {
	id, nextitem string
}

func (p *fakeProc) Send(c protocol.Command) {
	p.mu.Lock()
	p.got = append(p.got, c)
	if c.Type == protocol.CmdRun {
		p.received = append(p.received, c.IDs...)
	}
	p.mu.Unlock()
	select {
	case p.cmds <- c:
	default:
		p.f.t.Errorf("fake worker %d/%d: command queue full", p.slot, p.gen)
	}
}

func (p *fakeProc) Kill(stacks bool) {
	p.killCalls.Add(1)
	p.killOnce.Do(func() { p.kill <- stacks })
}

func (p *fakeProc) PID() int { return p.pid }

// fakeRevoker is a fake worker that takes revokes (fakeStarter.revoke).
type fakeRevoker struct{ *fakeProc }

// Revoke does what worker.Proc.Revoke does with the phase board.
func (p fakeRevoker) Revoke(starts uint32, c protocol.Command) bool {
	if !p.board.TryLock() {
		return false
	}
	defer p.board.Unlock()
	if starts == 0 || p.claimSeq != starts {
		return false
	}
	p.boardGen++
	c.Gen = p.boardGen
	p.Send(c)
	return true
}

func (p *fakeProc) commands() []protocol.Command {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]protocol.Command(nil), p.got...)
}

func (p *fakeProc) receivedIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.received...)
}

func (p *fakeProc) importedFiles() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.imported...)
}

func (p *fakeProc) ranTests() []ranTest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ranTest(nil), p.ran...)
}

// errKilled ends the fake's loop when it was killed.
type errKilled struct{ stacks bool }

func (p *fakeProc) run(ctx context.Context, events chan<- worker.Event) {
	emit := func(ev worker.Event) {
		ev.Slot, ev.Gen = p.slot, p.gen
		select {
		case events <- ev:
		case <-ctx.Done():
		}
	}
	send := func(m protocol.Message) { emit(worker.Event{Msg: &m}) }
	exit := func(ex worker.Exit) {
		p.mu.Lock()
		p.exited = true
		p.mu.Unlock()
		emit(worker.Event{Exit: &ex})
	}
	killedExit := func(stacks bool) {
		if stacks {
			exit(worker.Exit{Code: -1, Signal: "SIGKILL", KillStage: "SIGKILL",
				StderrTail: "Thread 0x00007f01 (most recent call first):\n  File \"t.py\", line 3 in test_hang\n"})
			return
		}
		exit(worker.Exit{Code: -1, Signal: "SIGTERM", KillStage: "SIGTERM"})
	}
	// wait blocks until c is closed (true) or the worker is killed (false,
	// after emitting the Exit).
	wait := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		case stacks := <-p.kill:
			killedExit(stacks)
		case <-ctx.Done():
		}
		return false
	}
	// recv returns the next command; ok is false when the worker was killed
	// (its Exit already emitted) or the run is over.
	recv := func(block bool) (c protocol.Command, got, ok bool) {
		if !block {
			select {
			case c = <-p.cmds:
				return c, true, true
			default:
				return c, false, true
			}
		}
		select {
		case c = <-p.cmds:
			return c, true, true
		case stacks := <-p.kill:
			killedExit(stacks)
		case <-ctx.Done():
		}
		return c, false, false
	}

	sc := p.sc
	if sc.exitBeforeHello != nil {
		exit(*sc.exitBeforeHello)
		return
	}
	if sc.badHello {
		emit(worker.Event{ProtoErr: fmt.Errorf("%w: worker speaks protocol %d, controller %d", protocol.ErrHandshake, protocol.Version+1, protocol.Version)})
		exit(worker.Exit{Code: -1, Signal: "SIGTERM", KillStage: "SIGTERM"})
		return
	}
	send(protocol.Message{Type: protocol.TypeHello, Protocol: protocol.Version, PID: p.pid, Python: "3.12.0"})
	if sc.nodeIn {
		send(protocol.Message{Type: protocol.TypeNodeIn})
		for {
			c, got, ok := recv(true)
			if !ok {
				return
			}
			if got && c.Type == protocol.CmdWorkerInput {
				p.mu.Lock()
				p.workerInput = c.Data
				p.mu.Unlock()
				break
			}
		}
	}
	send(protocol.Message{Type: protocol.TypeSession, Pytest: "8.1.0", Rootdir: "/suite", CacheDir: "/suite/.pytest_cache",
		HeaderLines: []string{"platform fake"}, Options: sc.options})
	if sc.exitBeforeCollect != nil {
		exit(*sc.exitBeforeCollect)
		return
	}
	if sc.waitBeforeCollect != nil && !wait(sc.waitBeforeCollect) {
		return
	}
	tests := sc.collect
	if tests == nil {
		tests = p.f.suite
	}
	items := map[string]bool{}
	// Split collection: the files, in order, and what collecting one
	// gives.
	var files []protocol.File
	byFile := map[string][]protocol.TestInfo{}
	imported := map[string]bool{}
	importFile := func(f string) []protocol.TestInfo {
		if imported[f] {
			return nil
		}
		imported[f] = true
		p.mu.Lock()
		p.imported = append(p.imported, f)
		p.mu.Unlock()
		for _, ti := range byFile[f] {
			items[ti.ID] = true
		}
		return byFile[f]
	}
	if p.f.split {
		for _, ti := range tests {
			f, _, _ := strings.Cut(ti.ID, "::")
			if _, ok := byFile[f]; !ok {
				files = append(files, protocol.File{ID: f, Size: 100})
			}
			byFile[f] = append(byFile[f], ti)
		}
		send(protocol.Message{Type: protocol.TypeFiles, Files: files, Errors: sc.errors, Skips: sc.skips, IniTimeout: sc.iniTimeout})
	} else {
		for _, ti := range tests {
			items[ti.ID] = true
		}
		send(protocol.Message{Type: protocol.TypeCollected, Tests: tests, Errors: sc.errors, Skips: sc.skips, IniTimeout: sc.iniTimeout})
	}
	if sc.collectedSignal != nil {
		close(sc.collectedSignal)
	}

	// late holds the files this process collected after its share.
	late := map[string]bool{}
	var queue []string
	shutdown, nomore := false, false
	handle := func(c protocol.Command) string {
		switch c.Type {
		case protocol.CmdRun:
			if sc.reactDelay > 0 {
				time.Sleep(sc.reactDelay)
			}
			ids := c.IDs
			if p.f.split {
				for _, id := range c.IDs {
					f, _, _ := strings.Cut(id, "::")
					if imported[f] {
						continue
					}
					send(protocol.Message{Type: protocol.TypeCollecting, Files: []protocol.File{{ID: f}}})
					if sc.slowImport != nil && !wait(sc.slowImport) {
						return "died"
					}
					importFile(f)
					late[f] = true
				}
				var missing []string
				ids = nil
				for _, id := range c.IDs {
					f, _, _ := strings.Cut(id, "::")
					if late[f] && sc.lacks != nil && sc.lacks(id) {
						delete(items, id)
						missing = append(missing, id)
					} else {
						ids = append(ids, id)
					}
				}
				if len(missing) > 0 {
					send(protocol.Message{Type: protocol.TypeMissing, IDs: missing})
				}
			}
			queue = append(queue, ids...)
		case protocol.CmdCollect:
			if sc.dieOnCollect != nil {
				exit(*sc.dieOnCollect)
				return "died"
			}
			var got []protocol.TestInfo
			for _, f := range c.Files {
				got = append(got, importFile(f)...)
			}
			send(protocol.Message{Type: protocol.TypeCollected, Tests: got})
			nomore = false
		case protocol.CmdNone:
			nomore = true
		case protocol.CmdRevoke:
			gone := map[string]bool{}
			for _, id := range c.IDs {
				gone[id] = true
			}
			kept := queue[:0]
			for _, id := range queue {
				if !gone[id] {
					kept = append(kept, id)
				}
			}
			queue = kept
			p.seen = c.Gen
		case protocol.CmdStop:
			p.mu.Lock()
			if p.stopAt.IsZero() {
				p.stopAt = time.Now()
			}
			p.mu.Unlock()
			if len(queue) > 0 {
				send(protocol.Message{Type: protocol.TypeDropped, IDs: append([]string(nil), queue...)})
				queue = nil
			}
			nomore = true
		case protocol.CmdShutdown:
			shutdown = true
			nomore = true
		}
		return c.Type
	}
	finished, starts := 0, 0
	for {
		if len(queue) == 0 {
			if shutdown {
				break
			}
			nomore = false
			send(protocol.Message{Type: protocol.TypeWant, Idle: true})
			c, _, ok := recv(true)
			if !ok {
				return
			}
			if handle(c) == "died" {
				return
			}
			continue
		}
		// Commands that came while the last test ran apply first.
		for {
			c, got, _ := recv(false)
			if !got {
				break
			}
			handle(c)
		}
		if len(queue) == 0 {
			continue
		}
		if len(queue) == 1 && !nomore {
			send(protocol.Message{Type: protocol.TypeWant})
			for {
				c, _, ok := recv(true)
				if !ok {
					return
				}
				if k := handle(c); k == protocol.CmdRun || k == protocol.CmdNone || k == protocol.CmdStop || k == protocol.CmdShutdown {
					break
				}
			}
			if len(queue) == 0 {
				continue
			}
		}
		// The claim on the board, as herd_worker.py's Channel.claim.
		p.board.Lock()
		for p.boardGen != p.seen {
			c, _, ok := recv(true)
			if !ok {
				p.board.Unlock()
				return
			}
			handle(c)
		}
		if len(queue) > 0 {
			p.claimSeq = uint32(starts + 1)
		}
		p.board.Unlock()
		if len(queue) == 0 {
			continue
		}
		id := queue[0]
		queue = queue[1:]
		if sc.silentAfter > 0 && finished >= sc.silentAfter {
			// Stuck outside any test: says nothing more, until killed.
			wait(nil)
			return
		}
		if !items[id] {
			starts++
			send(protocol.Message{Type: protocol.TypeStart, ID: id})
			send(protocol.Message{Type: protocol.TypeReport, ID: id, Report: &protocol.Report{
				When: "setup", Outcome: "failed", Category: "error",
				Longrepr: "herd: this worker did not collect " + id, Message: "not collected by this worker"}})
			send(protocol.Message{Type: protocol.TypeDone, ID: id})
			continue
		}
		next := ""
		if len(queue) > 0 {
			next = queue[0]
		}
		p.mu.Lock()
		priorRan := len(p.ran)
		p.ran = append(p.ran, ranTest{id: id, nextitem: next})
		p.mu.Unlock()
		p.f.mu.Lock()
		p.f.starts[id]++
		p.f.startedAt[id] = time.Now()
		p.f.startedBy[id] = p
		p.f.mu.Unlock()

		b, ok := p.f.behave[id]
		if !ok {
			b = behave{}
		}
		reports := b.reports
		if reports == nil {
			reports = passReports
		}
		starts++
		send(protocol.Message{Type: protocol.TypeStart, ID: id})
		if b.crash != "" && b.gate != nil && !wait(b.gate) {
			return
		}
		if b.crash != "" && (!b.crashUnlessAlone || priorRan > 0) {
			// Crash during the call: setup was reported.
			send(protocol.Message{Type: protocol.TypeReport, ID: id, Report: &protocol.Report{When: "setup", Outcome: "passed"}})
			exit(worker.Exit{Code: -1, Signal: b.crash, StderrTail: "Fatal Python error: Segmentation fault\n\nCurrent thread 0x01:\n  File \"" + id + "\"\n"})
			return
		}
		// A plain pass goes as herd_worker.py sends it: its phases ride
		// on done.
		compact := b.reports == nil && !b.hang
		for i := range reports {
			r := reports[i]
			if b.hang && r.When != "setup" {
				break
			}
			if !compact {
				send(protocol.Message{Type: protocol.TypeReport, ID: id, Report: &r})
			}
		}
		if b.hang && !wait(nil) {
			return
		}
		if b.gate != nil && !wait(b.gate) {
			return
		}
		if p.f.testTime > 0 {
			time.Sleep(p.f.testTime)
		}
		done := protocol.Message{Type: protocol.TypeDone, ID: id, Duration: 0.001, Leaks: b.leaks}
		if compact {
			done.PassedPhases, done.PassedDurations = "sct", []float64{0.0001, 0.0008, 0.0001}
		}
		send(done)
		finished++
		failed := false
		for _, r := range reports {
			if r.Outcome == "failed" {
				failed = true
			}
		}
		if p.f.maxfail > 0 && failed && len(queue) > 0 {
			send(protocol.Message{Type: protocol.TypeAsk})
			for {
				c, _, ok := recv(true)
				if !ok {
					return
				}
				if k := handle(c); k == protocol.CmdGo || k == protocol.CmdStop || k == protocol.CmdShutdown {
					break
				}
			}
		}
	}
	if sc.hangOnShutdown {
		wait(nil) // session teardown that never ends
		return
	}
	if sc.nodeIn {
		send(protocol.Message{Type: protocol.TypeWorkerOutput, Data: "out-" + p.f.name(p.slot)})
	}
	send(protocol.Message{Type: protocol.TypeBye})
	exit(worker.Exit{Code: 0})
}

func (f *fakeStarter) name(slot int) string { return fmt.Sprintf("gw%d", slot) }
