// Package run is the dispatcher: the sole owner of a run's state. It starts
// the workers, learns the collection, hands out work, turns the workers'
// messages and deaths into test results, and emits result.Events. Workers
// reach it only through worker.Events on one channel, so all state changes
// happen on one goroutine.
package run

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/schedule"
	"github.com/herd-run/herd/internal/worker"
)

// maxStartupDeaths is how many workers in a row may die before collecting
// before herd stops replacing them: one cause (an import that segfaults) kills
// every replacement the same way, so more tries only waste time.
const maxStartupDeaths = 3

type status int

const (
	pending status = iota
	assigned
	running
	done
)

type testState struct {
	info    protocol.TestInfo
	res     *result.Test
	status  status
	slot    int
	reports []protocol.Report
	started time.Time
	// lost is set when a message of the worker was unreadable while the
	// test ran (a line over protocol.MaxLine).
	lost string
	// elsewhere is set when the test runs on another machine (queue
	// mode): it is dropped from this run's results.
	elsewhere bool
	// refused lists the processes that were handed the test and could
	// not collect it (their late collection of its file differed): it
	// is not offered to them again.
	refused []procRef
}

// procRef names one worker process: its slot and generation.
type procRef struct{ slot, gen int }

// refusedBy reports whether the process gen of slot could not collect t.
func (t *testState) refusedBy(slot, gen int) bool {
	for _, r := range t.refused {
		if r.slot == slot && r.gen == gen {
			return true
		}
	}
	return false
}

// slotState is one worker slot (gw0, gw1, ...): it lives as long as the run,
// while processes come and go in it. What belongs to one process is in
// procState, made fresh by spawn, so nothing is carried over to the next.
type slotState struct {
	idx  int
	name string
	// gen numbers the slot's processes: spawn counts it up, and events
	// of an earlier process are ignored.
	gen int
	// startupDeaths counts this slot's processes in a row that died before
	// collecting; at maxStartupDeaths the slot is blocked (not replaced
	// again) with the reason in blocked.
	startupDeaths int
	blocked       string
	// proc is the slot's current process, or its last one once that
	// ended (alive is false then).
	proc *procState
}

// newSlot makes slot i, with no process yet.
func newSlot(i int) *slotState {
	return &slotState{idx: i, name: fmt.Sprintf("gw%d", i), proc: &procState{current: -1}}
}

// procState is one worker process of a slot, from its spawn to its end.
type procState struct {
	h     worker.Handle
	alive bool
	hello bool
	// collected is set once this process sent its collection; known is the
	// set of nodeids it collected when that differs from the run's.
	collected bool
	known     map[string]bool
	// split is set when this process sent its files (split collection):
	// it collects lazily whatever it is handed. collectingSince is when
	// it last said it collects such files: CollectTimeout, not
	// StuckTimeout, bounds its silence then.
	split           bool
	collectingSince time.Time
	queue           []int
	current         int
	ran             []string
	idle            bool
	shutdown        bool
	stopped         bool
	deadline        time.Time
	timedOut        bool
	killed          bool
	// handshake says how this process's handshake failed, when it did.
	handshake string
	startedAt time.Time
	// stall says where herd found this process hung outside any test
	// ("collection", "between tests", "session end") when it killed it
	// for that, and stallAt when.
	stall   string
	stallAt time.Duration
	// pidInfo is this process's entry in the dispatcher's pids.
	pidInfo *procInfo
	// starts counts the start messages of this process, to match its
	// phase board.
	starts uint32
	// lastMsg is when the worker last sent anything.
	lastMsg time.Time
	// isolated is set once this process got an isolated test: it runs
	// nothing else and is discarded afterwards.
	isolated bool
	// diag is this process's part in the rerun of a crashed test alone.
	diag diagRerun
	// node is set once this process asked for its workerinput: xdist's
	// controller then knows it as a node, and its end goes to NodeDown.
	// nodeOutput is the workeroutput it sent at its session's end, and
	// nodeFinished says it sent it.
	node         bool
	nodeOutput   string
	nodeFinished bool
}

type dispatcher struct {
	cfg    Config
	ctx    context.Context
	now    func() time.Time
	start  time.Time
	events chan worker.Event
	slots  []*slotState
	run    *result.Run

	tests []*testState
	byID  map[string]int
	plan  Source
	// split gathers a split collection until every share is in.
	split *splitState
	// known caches the durations recorded by earlier runs.
	known     map[string]time.Duration
	knownRead bool
	// wake is signalled by a shared-queue source when it has news.
	wake     chan struct{}
	pols     []schedule.Policy
	haveColl bool

	iniTimeout  float64
	failures    int
	stopping    bool // no more scheduling (maxfail, interrupt)
	interrupted int
	interruptAt time.Time
	// respawnBlocked says why the last slot stopped being replaced.
	respawnBlocked string
	// lastStartupExit is how the last worker that ended before collecting
	// ended; when no worker ever collects, the run ends with it.
	lastStartupExit *StartupError
	// startupStreak counts workers in a row, over all slots, that died
	// before collecting; any collection resets it.
	startupStreak int
	startupErr    *StartupError
	// fatal is a configuration error found once the rootdir was known.
	fatal         error
	firstStartErr error
	sessionSeen   bool
	// procWarns counts the warnings each worker process raised outside
	// any test, procWarnMax the most any process raised of each.
	procWarns   map[procWarning]int
	procWarnMax map[result.Warning]int
	// diagQueue holds crashed tests waiting for their rerun alone.
	diagQueue []int
	// failedFirst is pytest's --ff: last run's failures go first.
	failedFirst bool
	// pids maps every worker pid seen to its slot and the test it ran
	// last, to attribute orphans; orphansSeen are the orphans reported.
	pids        map[int]*procInfo
	orphansSeen map[int]bool
	lastScan    time.Time
	// count is how many tests are in each status, kept by setStatus so no
	// per-event check walks every test.
	count [4]int
	// refusals counts the tests that some process could not collect.
	refusals int
	// nodeReplies delivers the answers of Config.Nodes.ConfigureNode.
	nodeReplies chan nodeReply
}

// setStatus moves t to status st, keeping the counts.
func (d *dispatcher) setStatus(t *testState, st status) {
	d.count[t.status]--
	t.status = st
	d.count[st]++
}

// Execute runs the suite and returns the finished run. A non-nil error means
// herd could not run the suite at all (a *StartupError when pytest refused
// its arguments); every test outcome, crashes included, is in the Run.
func Execute(ctx context.Context, cfg Config) (*result.Run, error) {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DeathWords == nil {
		return nil, errors.New("run: no DeathWords to word worker deaths with")
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = ShutdownTimeout
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &dispatcher{
		cfg:         cfg,
		ctx:         ctx,
		now:         cfg.Now,
		events:      make(chan worker.Event, 256),
		wake:        make(chan struct{}, 1),
		run:         &result.Run{Info: cfg.Info},
		byID:        make(map[string]int),
		pids:        make(map[int]*procInfo),
		orphansSeen: make(map[int]bool),
		nodeReplies: make(chan nodeReply, 16),
	}
	d.start = d.now()
	d.run.Info.Workers = cfg.Workers
	return d.loop()
}

func (d *dispatcher) since() time.Duration { return d.now().Sub(d.start) }

func (d *dispatcher) emit(ev result.Event) {
	if d.cfg.Sink != nil {
		ev.Time = d.since()
		d.cfg.Sink.Handle(ev)
	}
}

func (d *dispatcher) loop() (*result.Run, error) {
	for i := 0; i < d.cfg.Workers; i++ {
		d.slots = append(d.slots, newSlot(i))
	}
	for _, s := range d.slots {
		d.spawn(s)
	}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		d.rerunNext()
		if d.finished() {
			break
		}
		select {
		case ev := <-d.events:
			d.handle(ev)
		case <-ticker.C:
			d.checkDeadlines()
			// A take-back the worker's lock refused is tried again.
			for _, s := range d.slots {
				d.rebalance(s)
			}
			d.emit(result.Event{Kind: result.Tick})
		case <-d.wake:
			d.onWake()
		case r := <-d.nodeReplies:
			d.onNodeReply(r)
		case _, ok := <-d.cfg.Interrupts:
			if ok {
				d.interrupt()
			} else {
				d.cfg.Interrupts = nil
			}
		}
	}
	if d.startupErr != nil {
		return nil, d.startupErr
	}
	if d.fatal != nil {
		return nil, d.fatal
	}
	if !d.haveColl {
		if d.lastStartupExit != nil && d.interrupted == 0 {
			return nil, d.lastStartupExit
		}
		if d.firstStartErr != nil {
			return nil, d.firstStartErr
		}
		if d.interrupted > 0 {
			d.run.Interrupted = true
			d.run.InterruptReason = "KeyboardInterrupt"
		} else {
			return nil, errors.New("no worker finished collecting: " + d.respawnBlocked)
		}
	}
	d.scanOrphans(true)
	d.dropElsewhere()
	sortWarnings(d.run.Tests, d.run.Warnings)
	if d.cfg.Finish != nil {
		d.cfg.Finish(d.run)
	}
	d.run.Duration = d.since()
	d.emit(result.Event{Kind: result.RunFinished, Run: d.run})
	return d.run, nil
}

// finished reports whether the run is over: every worker is gone, and every
// test has its outcome and every crashed test its rerun, unless the run ends
// before any test. It changes nothing.
func (d *dispatcher) finished() bool {
	if d.anyAlive() {
		return false
	}
	if d.endsEarly() {
		return true
	}
	return d.allDone() && !d.diagPending()
}

// endsEarly reports whether the run ends without its tests: no collection
// (with no live worker, nothing more can happen unless a replacement is
// allowed to start), or a configuration error found before any test (a bad
// policy table, a queue that refused this machine's tests).
func (d *dispatcher) endsEarly() bool {
	return !d.haveColl || d.fatal != nil
}

// allDone reports whether every test has its outcome and no more can come
// from a shared queue.
func (d *dispatcher) allDone() bool {
	if d.count[done] != len(d.tests) {
		return false
	}
	return d.plan == nil || !d.plan.Open() || d.stopping
}

// spawn starts a new process in slot s. Its state starts afresh; when it
// cannot start, it stays dead (alive is false) and s is blocked.
func (d *dispatcher) spawn(s *slotState) {
	s.gen++
	now := d.now()
	p := &procState{current: -1, startedAt: now, lastMsg: now}
	s.proc = p
	h, err := d.cfg.Starter.Start(d.ctx, s.idx, s.gen, d.events)
	if err != nil {
		if d.firstStartErr == nil {
			d.firstStartErr = err
		}
		d.respawnBlocked = err.Error()
		s.blocked = err.Error()
		return
	}
	p.h = h
	p.alive = true
	p.pidInfo = &procInfo{slot: s.idx, current: -1, last: -1}
	d.pids[h.PID()] = p.pidInfo
	d.emit(result.Event{Kind: result.WorkerStarted, Worker: s.name, Process: s.gen, PID: h.PID()})
}

func (d *dispatcher) handle(ev worker.Event) {
	if ev.Slot < 0 || ev.Slot >= len(d.slots) {
		return
	}
	s := d.slots[ev.Slot]
	if ev.Gen != s.gen {
		return // an event of a process already replaced
	}
	switch {
	case ev.Exit != nil:
		d.onExit(s, ev.Exit)
	case ev.ProtoErr != nil:
		if errors.Is(ev.ProtoErr, protocol.ErrHandshake) {
			s.proc.handshake = ev.ProtoErr.Error()
		}
		if s.proc.current >= 0 {
			// A report about the running test may be what was lost: its
			// outcome cannot be trusted.
			d.tests[s.proc.current].lost = ev.ProtoErr.Error()
		}
	case ev.Msg != nil:
		s.proc.lastMsg = d.now()
		d.onMessage(s, ev.Msg)
	case len(ev.Msgs) > 0:
		s.proc.lastMsg = d.now()
		for _, m := range ev.Msgs {
			d.onMessage(s, m)
		}
	}
}

func (d *dispatcher) onMessage(s *slotState, m *protocol.Message) {
	if d.fatal != nil {
		// The run is ending before any test: nothing more is handed out.
		return
	}
	switch m.Type {
	case protocol.TypeHello:
		s.proc.hello = true
		if d.run.Info.Python == "" {
			d.run.Info.Python = m.Python
		}
	case protocol.TypeNodeIn:
		d.onNodeIn(s)
	case protocol.TypeWorkerOutput:
		s.proc.nodeOutput, s.proc.nodeFinished = m.Data, true
	case protocol.TypeSession:
		if s.proc.node && d.cfg.Nodes != nil {
			d.cfg.Nodes.NodeReady(s.name, s.proc.h.PID())
		}
		if !d.sessionSeen {
			d.sessionSeen = true
			d.run.Info.Pytest = m.Pytest
			d.run.Info.Rootdir = m.Rootdir
			d.run.Info.CacheDir = m.CacheDir
			d.run.Info.InvocationDir = m.InvocationDir
			d.run.Info.HeaderLines = m.HeaderLines
			d.applyOptions(m.Options)
			if string(m.Cov) != "null" {
				d.run.Info.Cov = m.Cov
			}
			if d.cfg.Check != nil {
				if err := d.cfg.Check(d.run.Info); err != nil {
					d.fatal = err
					d.stopWorkers()
					return
				}
			}
			info := d.run.Info
			d.emit(result.Event{Kind: result.RunStarted, Info: &info})
		}
	case protocol.TypeCollected:
		if !d.haveColl {
			d.iniTimeout = m.IniTimeout
			d.run.CollectionLines = m.ReportLines
		}
		if s.proc.split {
			d.onShare(s, m)
		} else {
			d.onCollected(s, m)
		}
	case protocol.TypeCollecting:
		s.proc.collectingSince = d.now()
	case protocol.TypeFiles:
		if !d.haveColl {
			d.iniTimeout = m.IniTimeout
			d.run.CollectionLines = m.ReportLines
		}
		d.onFiles(s, m)
	case protocol.TypeWant:
		s.proc.idle = m.Idle
		d.feed(s, !m.Idle)
	case protocol.TypeStart:
		s.proc.starts++
		d.onStart(s, m.ID)
	case protocol.TypeReport:
		if i, ok := d.byID[m.ID]; ok && m.Report != nil {
			if s.proc.diag.report(i, *m.Report) {
				break
			}
			t := d.tests[i]
			if t.status == running && t.slot == s.idx {
				t.reports = append(t.reports, *m.Report)
			}
		}
	case protocol.TypeDone:
		d.onDone(s, m)
	case protocol.TypeDropped:
		for _, id := range m.IDs {
			i, ok := d.byID[id]
			if !ok {
				continue
			}
			d.removeQueued(s, i)
			t := d.tests[i]
			if t.status == assigned && t.slot == s.idx {
				d.setStatus(t, pending)
				if d.stopping {
					d.notRun(i, d.stopReason())
				} else {
					d.plan.Requeue(s.idx, []int{i}, d.pols)
				}
			}
		}
	case protocol.TypeMissing:
		d.onMissing(s, m.IDs)
	case protocol.TypeAsk:
		// The worker's last test failed under --maxfail, and it waits
		// before its next: the failure was counted with its done.
		switch {
		case !d.stopping:
			s.proc.h.Send(protocol.Command{Type: protocol.CmdGo})
		case !s.proc.stopped && !s.proc.shutdown:
			s.proc.stopped = true
			s.proc.h.Send(protocol.Command{Type: protocol.CmdStop})
		}
	case protocol.TypeWarning:
		if m.Warning != nil {
			d.addWarning(s, m.Warning)
		}
	case protocol.TypeFingerprint, protocol.TypeDeps:
		if d.cfg.Deps != nil {
			d.cfg.Deps(s.idx, m)
		}
	}
}
