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
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/schedule"
	"github.com/herd-run/herd/internal/worker"
)

// ShutdownTimeout bounds a worker's session teardown after the controller
// asked it to shut down. Session fixtures ran their teardown with the last
// test already, so only pytest_sessionfinish hooks and atexit handlers are
// left; a minute is generous for those and still ends a stuck run.
const ShutdownTimeout = 60 * time.Second

// InterruptGrace is how long running tests may go on after the first Ctrl-C
// before their workers are killed: long enough for a test that is about to
// finish, short enough that the user does not press Ctrl-C again.
const InterruptGrace = 2 * time.Second

// CollectTimeout bounds a worker's collection, from its hello to its
// collected message. Collection imports every test module; large suites take
// minutes (xdist users report 2 to 3 minutes for 7,000 tests), so ten minutes
// only ends a worker that is truly stuck.
const CollectTimeout = 10 * time.Minute

// StuckTimeout bounds the silence of a worker that is between tests: it has
// sent "done" and owes "start" or "want", which takes microseconds. A
// minute of silence there means it is stuck outside any test.
const StuckTimeout = time.Minute

// diagTimeout bounds the rerun of a crashed test that has no timeout of its
// own. The rerun only explains a crash; five minutes lets slow tests finish
// and still ends one that hangs when alone.
const diagTimeout = 5 * time.Minute

// maxStartupDeaths is how many workers in a row may die before collecting
// before herd stops replacing them: one cause (an import that segfaults) kills
// every replacement the same way, so more tries only waste time.
const maxStartupDeaths = 3

// Config configures one run.
type Config struct {
	// DeathWords words a worker's death (report.DeathWords): the run's
	// messages about crashes, timeouts and stalls say what it says. It
	// must be set.
	DeathWords func(result.Death) result.DeathText
	// Workers is the number of worker processes (at least 1).
	Workers int
	// Starter starts worker processes.
	Starter worker.Starter
	// Sink receives the run's events, from the dispatcher's goroutine.
	Sink result.Sink
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxFail stops scheduling after this many failures; 0 means never.
	// Failures count as pytest's session counts them: each failed report
	// (an error in setup or teardown too), so a test that failed and then
	// errored in teardown counts twice.
	MaxFail int
	// MaxFailFlag is how the user spelled MaxFail ("-x", "--maxfail=3"),
	// named in the reason of the tests it kept from running; empty means
	// the spelling that says MaxFail.
	MaxFailFlag string
	// ContinueOnCollectionErrors runs the collected tests despite errors.
	ContinueOnCollectionErrors bool
	// Timeout, when positive, is the per-test timeout from --timeout. A
	// test's timeout marker overrides it; it overrides the ini option.
	Timeout time.Duration
	// Durations returns the durations earlier runs recorded in pytest's
	// cache directory, by nodeid; nil means none are known.
	Durations func(cacheDir string) map[string]time.Duration
	// Interrupts delivers Ctrl-C: the first stops the run gracefully, the
	// second kills every worker at once.
	Interrupts <-chan struct{}
	// LastFailed returns pytest's last-failed set from its cache directory,
	// for --ff.
	LastFailed func(cacheDir string) map[string]bool
	// Finish, when set, runs once every worker has ended, before the run's
	// end is reported (herd combines coverage there).
	Finish func(*result.Run)
	// Select, when set, chooses which collected tests this run runs (one
	// shard of several): keep[i] says whether tests[i] runs. pols and
	// durations help it keep groups together and balance the shards. The
	// others count as deselected.
	Select func(tests []protocol.TestInfo, pols []schedule.Policy, durations map[string]time.Duration) (keep []bool, err error)
	// Queue, when set, makes this run one consumer of a shared work queue
	// instead of the runner of every collected test. It is called once,
	// after collection and Select, with the run's tests (test i is
	// tests[i]), their policies and the recorded durations, and with wake,
	// which the source calls, from any goroutine, when Next may have new
	// work or Open or Elsewhere changed. An error ends the run before any
	// test, as a bad policy table does.
	Queue func(tests []protocol.TestInfo, pols []schedule.Policy, durations map[string]time.Duration, wake func()) (Source, error)
	// Orphans lists processes that were reparented to herd (it is a child
	// subreaper), leaving out the pids in keep (the workers). A test that
	// backgrounds a process through a shell leaves such an orphan. nil
	// means no such check.
	Orphans func(keep map[int]bool) []Orphan
	// Retries is --retries: a test that fails (crashes and timeouts
	// included) runs again up to this many times; one that then passes is
	// flaky.
	Retries int
	// Diagnose reruns each crashed test alone, in a fresh worker with
	// nothing beside it, once the other tests are done.
	Diagnose bool
	// Policies returns, for the suite under rootdir, each test's scheduling
	// policy (exclusive, group, isolated); nil means every test is normal.
	// An error (a bad [tool.herd] table) ends the run before any test.
	Policies func(rootdir string) (func(protocol.TestInfo) schedule.Policy, error)
	// LeaksFail makes a test that leaked a process or thread fail; by
	// default a leak is a warning.
	LeaksFail bool
	// Check, when set, is called once, when the first worker has told its
	// session's options (ini addopts included) and before any test runs:
	// an error (an output file that cannot be written) ends the run then,
	// as a bad policy table does.
	Check func(info result.Info) error
	// Info is the run's description; the dispatcher fills in what the
	// workers report (pytest version, header lines).
	Info result.Info
	// ShutdownTimeout bounds a worker's session end after the shutdown
	// request; 0 means the package's ShutdownTimeout.
	ShutdownTimeout time.Duration
	// Nodes, when set, plays pytest-xdist's controller for the hooks it
	// runs for each worker. A worker process that asks for its workerinput
	// (protocol.TypeNodeIn) waits until ConfigureNode answers; its
	// session's start goes to NodeReady, its end (a crash included) to
	// NodeDown. A ConfigureNode failure ends the run with that error.
	Nodes Nodes
}

// Nodes is xdist's controller as the dispatcher uses it. Its methods must
// not block; done may be called from any goroutine.
type Nodes interface {
	// ConfigureNode runs pytest_configure_node for a new process of
	// worker and calls done with its encoded workerinput, or the error.
	ConfigureNode(worker string, done func(workerinput string, err error))
	// NodeReady runs pytest_testnodeready for worker.
	NodeReady(worker string, pid int)
	// NodeDown runs pytest_testnodedown for worker: crash is "" when the
	// worker ended its session (error None), otherwise the error; output
	// is the workeroutput it sent, if any.
	NodeDown(worker, crash, output string)
}

// nodeCrash is the error pytest_testnodedown gets for a worker process
// that ended without finishing its session: xdist's own words.
const nodeCrash = "Not properly terminated"

// nodeReply is the controller's answer to a worker's TypeNodeIn.
type nodeReply struct {
	slot, gen int
	data      string
	err       error
}

// Orphan is a process reparented to herd. PGID tells which worker's process
// group it came from: a worker leads its group, so PGID is that worker's pid.
type Orphan struct {
	PID, PGID int
	Cmd       string
}

// orphanScanEvery spaces the scans for orphans: a scan reads a few /proc
// files, cheap once but not per test of a 100,000-test run.
const orphanScanEvery = 100 * time.Millisecond

// StartupError means pytest itself refused to start: a usage error in its
// arguments, an unreadable ini file, a broken conftest. Code is pytest's exit
// code and Output what it printed to stderr.
type StartupError struct {
	Code   int
	Output string
}

func (e *StartupError) Error() string {
	return fmt.Sprintf("pytest exited with code %d before collecting", e.Code)
}

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

type slotState struct {
	idx   int
	name  string
	gen   int
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
	// proc is this process's entry in the dispatcher's pids.
	proc *procInfo
	// startupDeaths counts this slot's processes in a row that died before
	// collecting; at maxStartupDeaths the slot is blocked (not replaced
	// again) with the reason in blocked.
	startupDeaths int
	blocked       string
	// starts counts the start messages of this process, to match its
	// phase board.
	starts uint32
	// lastMsg is when the worker last sent anything.
	lastMsg time.Time
	// isolated is set once this process got an isolated test: it runs
	// nothing else and is discarded afterwards.
	isolated bool
	// diag is the test this process reruns alone for a diagnosis, or -1.
	diag        int
	diagSent    bool
	diagStarted bool
	diagReports []protocol.Report
	diagTimeout time.Duration
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
		d.slots = append(d.slots, &slotState{idx: i, name: fmt.Sprintf("gw%d", i), current: -1, diag: -1})
	}
	for _, s := range d.slots {
		d.spawn(s)
	}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
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

// finished reports whether every worker is gone and every test has its
// outcome.
func (d *dispatcher) finished() bool {
	for _, s := range d.slots {
		if s.alive {
			return false
		}
	}
	if !d.haveColl {
		// No live worker and no collection: nothing more can happen unless a
		// replacement is allowed to start.
		return true
	}
	if d.fatal != nil {
		// A configuration error ended the run before any test (a bad
		// policy table, a queue that refused this machine's tests).
		return true
	}
	if d.count[done] != len(d.tests) {
		return false
	}
	if d.plan != nil && d.plan.Open() && !d.stopping {
		return false
	}
	for len(d.diagQueue) > 0 && d.tests[d.diagQueue[0]].res.Outcome != result.Crashed {
		// A retry of it passed or failed normally: nothing to diagnose.
		d.diagQueue = d.diagQueue[1:]
	}
	if len(d.diagQueue) > 0 && d.cfg.Diagnose && !d.stopping && d.interrupted == 0 {
		// Every worker is gone: rerun the next crashed test alone.
		i := d.diagQueue[0]
		d.diagQueue = d.diagQueue[1:]
		s := d.slots[0]
		d.spawn(s)
		s.diag = i
		if !s.alive {
			d.diagnose(i, nil, "could not start a worker to rerun it: "+d.respawnBlocked)
		}
		return false
	}
	return true
}

// diagnose records the rerun of crashed test i: rerun is its outcome, or nil
// when it could not run, with why saying what happened instead.
func (d *dispatcher) diagnose(i int, rerun *result.Test, why string) {
	t := d.tests[i]
	dg := &result.Diagnosis{}
	switch {
	case rerun == nil:
		dg.Summary = why
	case rerun.Outcome == result.Timeout:
		dg.Rerun = result.Timeout
		dg.Summary = "hangs when rerun alone in a fresh worker: " + rerun.Message
	case rerun.Outcome == result.Crashed:
		dg.Rerun = result.Crashed
		dg.CrashedAlone = true
		dg.Summary = "crashes alone too: rerun in a fresh worker with nothing beside it, it crashed again (" + rerun.Message + ")"
	default:
		dg.Rerun = rerun.Outcome
		dg.Cause = "parallel-unsafe"
		dg.Marker = "@pytest.mark.parallel_unsafe"
		dg.Summary = fmt.Sprintf("crashed only beside other tests: rerun alone in a fresh worker it %s. "+
			"Likely parallel-unsafe (it depends on what ran before it in its worker, or beside it); add %s", rerun.Outcome, dg.Marker)
	}
	t.res.Diagnosis = dg
}

func (d *dispatcher) spawn(s *slotState) {
	s.gen++
	s.alive, s.hello, s.collected, s.known = false, false, false, nil
	s.queue, s.current, s.ran, s.idle = nil, -1, nil, false
	s.shutdown, s.stopped, s.timedOut, s.killed = false, false, false, false
	s.diag, s.diagSent, s.diagStarted, s.diagReports = -1, false, false, nil
	s.isolated = false
	s.split, s.collectingSince = false, time.Time{}
	s.starts = 0
	s.node, s.nodeOutput, s.nodeFinished = false, "", false
	s.deadline, s.handshake, s.stall = time.Time{}, "", ""
	s.startedAt = d.now()
	s.lastMsg = s.startedAt
	h, err := d.cfg.Starter.Start(d.ctx, s.idx, s.gen, d.events)
	if err != nil {
		if d.firstStartErr == nil {
			d.firstStartErr = err
		}
		d.respawnBlocked = err.Error()
		s.blocked = err.Error()
		return
	}
	s.h = h
	s.alive = true
	s.proc = &procInfo{slot: s.idx, current: -1, last: -1}
	d.pids[h.PID()] = s.proc
	d.emit(result.Event{Kind: result.WorkerStarted, Worker: s.name, Process: s.gen, PID: h.PID()})
}

// onNodeIn asks the xdist controller for the workerinput of process s,
// which waits for it.
func (d *dispatcher) onNodeIn(s *slotState) {
	if d.cfg.Nodes == nil {
		s.h.Send(protocol.Command{Type: protocol.CmdWorkerInput, Error: "herd runs no xdist controller here"})
		return
	}
	s.node = true
	slot, gen := s.idx, s.gen
	d.cfg.Nodes.ConfigureNode(s.name, func(data string, err error) {
		select {
		case d.nodeReplies <- nodeReply{slot: slot, gen: gen, data: data, err: err}:
		case <-d.ctx.Done():
		}
	})
}

// onNodeReply hands a worker the workerinput it waits for; a controller
// failure ends the run.
func (d *dispatcher) onNodeReply(r nodeReply) {
	if r.err != nil {
		if d.fatal == nil && d.startupErr == nil {
			d.fatal = r.err
			d.stopWorkers()
		}
		return
	}
	s := d.slots[r.slot]
	if s.gen != r.gen || !s.alive {
		return
	}
	s.h.Send(protocol.Command{Type: protocol.CmdWorkerInput, Data: r.data})
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
			s.handshake = ev.ProtoErr.Error()
		}
		if s.current >= 0 {
			// A report about the running test may be what was lost: its
			// outcome cannot be trusted.
			d.tests[s.current].lost = ev.ProtoErr.Error()
		}
	case ev.Msg != nil:
		s.lastMsg = d.now()
		d.onMessage(s, ev.Msg)
	case len(ev.Msgs) > 0:
		s.lastMsg = d.now()
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
		s.hello = true
		if d.run.Info.Python == "" {
			d.run.Info.Python = m.Python
		}
	case protocol.TypeNodeIn:
		d.onNodeIn(s)
	case protocol.TypeWorkerOutput:
		s.nodeOutput, s.nodeFinished = m.Data, true
	case protocol.TypeSession:
		if s.node && d.cfg.Nodes != nil {
			d.cfg.Nodes.NodeReady(s.name, s.h.PID())
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
		if s.split {
			d.onShare(s, m)
		} else {
			d.onCollected(s, m)
		}
	case protocol.TypeCollecting:
		s.collectingSince = d.now()
	case protocol.TypeFiles:
		if !d.haveColl {
			d.iniTimeout = m.IniTimeout
			d.run.CollectionLines = m.ReportLines
		}
		d.onFiles(s, m)
	case protocol.TypeWant:
		s.idle = m.Idle
		d.feed(s, !m.Idle)
	case protocol.TypeStart:
		s.starts++
		d.onStart(s, m.ID)
	case protocol.TypeReport:
		if i, ok := d.byID[m.ID]; ok && m.Report != nil {
			if s.diag == i {
				s.diagReports = append(s.diagReports, *m.Report)
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
			s.h.Send(protocol.Command{Type: protocol.CmdGo})
		case !s.stopped && !s.shutdown:
			s.stopped = true
			s.h.Send(protocol.Command{Type: protocol.CmdStop})
		}
	case protocol.TypeWarning:
		if m.Warning != nil {
			d.addWarning(s, m.Warning)
		}
	}
}

func (d *dispatcher) onCollected(s *slotState, m *protocol.Message) {
	// This slot works: whatever blocked it (the deaths of others) is over.
	d.markCollected(s)
	if !d.haveColl {
		d.adopt(m)
	} else if !sameCollection(d.tests, m.Tests) {
		s.known = make(map[string]bool, len(m.Tests))
		for _, ti := range m.Tests {
			s.known[ti.ID] = true
		}
	}
}

// adopt makes m the run's collection: the tests, their policies and the
// plan.
func (d *dispatcher) adopt(m *protocol.Message) {
	d.haveColl = true
	d.run.Deselected = m.Deselected
	for _, e := range m.Errors {
		d.run.CollectionErrors = append(d.run.CollectionErrors, result.CollectionError{Path: e.Path, Message: e.Message})
	}
	known := d.durations()
	var lastFailed map[string]bool
	if d.failedFirst && d.cfg.LastFailed != nil {
		lastFailed = d.cfg.LastFailed(d.run.Info.CacheDir)
	}
	polFn := func(protocol.TestInfo) schedule.Policy { return schedule.Policy{} }
	if d.cfg.Policies != nil {
		fn, err := d.cfg.Policies(d.run.Info.Rootdir)
		if err != nil {
			d.fatal = err
			d.stopWorkers()
			return
		}
		polFn = fn
	}
	// Drop duplicate node ids into a slice of our own: the message's may be
	// shared (a decoder's buffer, a fake worker's suite).
	infos := make([]protocol.TestInfo, 0, len(m.Tests))
	seen := make(map[string]bool, len(m.Tests))
	for _, ti := range m.Tests {
		if !seen[ti.ID] {
			seen[ti.ID] = true
			infos = append(infos, ti)
		}
	}
	seen = nil
	pols := make([]schedule.Policy, len(infos))
	for k, ti := range infos {
		pols[k] = polFn(ti)
	}
	if d.cfg.Select != nil {
		keep, err := d.cfg.Select(infos, pols, known)
		if err != nil {
			d.fatal = err
			d.stopWorkers()
			return
		}
		var ki []protocol.TestInfo
		var kp []schedule.Policy
		for k := range infos {
			if keep[k] {
				ki = append(ki, infos[k])
				kp = append(kp, pols[k])
			}
		}
		d.run.Deselected += len(infos) - len(ki)
		infos, pols = ki, kp
	}
	// One allocation for all the tests' states and one for their results:
	// a run of 100,000 tests then costs the collector two objects, not
	// 200,000.
	st := make([]schedule.Test, 0, len(infos))
	states := make([]testState, len(infos))
	results := make([]result.Test, len(infos))
	d.tests = slices.Grow(d.tests, len(infos)+len(m.Skips))
	d.run.Tests = slices.Grow(d.run.Tests, len(infos)+len(m.Skips))
	if len(d.byID) == 0 {
		d.byID = make(map[string]int, len(infos)+len(m.Skips))
	}
	for k, ti := range infos {
		d.byID[ti.ID] = len(d.tests)
		res := &results[k]
		*res = result.Test{NodeID: ti.ID, File: ti.File, Line: ti.Line, Markers: ti.Markers}
		states[k] = testState{info: ti, res: res, slot: -1}
		d.tests = append(d.tests, &states[k])
		d.count[pending]++
		d.run.Tests = append(d.run.Tests, res)
		st = append(st, schedule.Test{ID: ti.ID, Estimate: known[ti.ID], First: lastFailed[ti.ID], Home: d.homeOf(ti.ID)})
	}
	for _, sk := range m.Skips {
		// A module skipped at collection time is one skipped entry, as
		// pytest counts it.
		if _, dup := d.byID[sk.Path]; dup {
			continue
		}
		d.byID[sk.Path] = len(d.tests)
		res := &result.Test{NodeID: sk.Path, Outcome: result.Skipped, Longrepr: sk.Message, Message: skipReason(sk.Message)}
		d.tests = append(d.tests, &testState{res: res, status: done, slot: -1})
		d.count[done]++
		d.run.Tests = append(d.run.Tests, res)
	}
	d.run.Collected = len(infos)
	d.pols = pols
	for k := range st {
		if pols[k].Kind != schedule.Normal {
			d.tests[k].res.Policy = pols[k].Kind.String()
		}
	}
	if d.cfg.Queue != nil {
		src, err := d.cfg.Queue(infos, pols, known, d.signalWake)
		if err != nil {
			d.fatal = err
			d.stopWorkers()
			return
		}
		d.plan = src
	} else {
		d.plan = localSource{schedule.NewPlan(st, d.pols, d.cfg.Workers)}
	}
	if d.plan.Isolated() > 0 && !d.stopping {
		// Every isolated test discards its worker, and a new one takes
		// a moment to start and collect. One spare process, started
		// now, collects while others run, so a slot freed by an
		// isolated test is filled at once. Tests still run on at most
		// Workers processes at a time.
		spare := &slotState{idx: len(d.slots), name: fmt.Sprintf("gw%d", len(d.slots)), current: -1, diag: -1}
		d.slots = append(d.slots, spare)
		d.spawn(spare)
	}
	d.emit(result.Event{Kind: result.Collected, Run: d.run})
	if len(d.run.CollectionErrors) > 0 && !d.cfg.ContinueOnCollectionErrors {
		n := len(d.run.CollectionErrors)
		d.run.Interrupted = true
		d.run.InterruptReason = fmt.Sprintf("%d %s during collection", n, plural(n, "error"))
		d.stopAll("not run: the run was interrupted by collection errors")
	} else if d.interrupted > 0 {
		d.stopAll(interruptedReason)
	} else if n := len(d.run.CollectionErrors); n > 0 && d.cfg.MaxFail > 0 {
		// pytest counts a file that failed to collect towards --maxfail
		// (--continue-on-collection-errors), and stops before any test
		// when that reaches it.
		d.failures += n
		if d.failures >= d.cfg.MaxFail {
			d.run.MaxfailReached = true
			d.run.InterruptReason = fmt.Sprintf("stopping after %d failures", d.failures)
			d.stopAll(d.maxfailReason())
		}
	}
	d.offerIdle()
}

// applyOptions adopts what the pytest options say (ini addopts included)
// where herd's own command line said nothing.
func (d *dispatcher) applyOptions(o *protocol.Options) {
	if o == nil {
		return
	}
	if d.cfg.MaxFail == 0 && o.MaxFail > 0 {
		d.cfg.MaxFail = o.MaxFail
	}
	if d.cfg.Timeout == 0 && o.Timeout > 0 {
		d.cfg.Timeout = time.Duration(o.Timeout * float64(time.Second))
	}
	if o.ContinueOnCollectionErrors {
		d.cfg.ContinueOnCollectionErrors = true
	}
	d.failedFirst = o.FailedFirst
	ro := &d.run.Info.Options
	ro.Verbose = o.Verbose
	ro.ReportChars = o.ReportChars
	ro.TBStyle = o.TBStyle
	ro.ShowCapture = o.ShowCapture
	ro.Durations = -1
	if o.Durations != nil {
		ro.Durations = *o.Durations
	}
	ro.DurationsMin = o.DurationsMin
	ro.JUnitXML = o.JUnitXML
	if j := o.JUnit; j != nil {
		ro.JUnit = result.JUnit{SuiteName: j.SuiteName, Logging: j.Logging, NoLogPassing: !j.LogPassingTests,
			DurationReport: j.DurationReport, Family: j.Family, Prefix: j.Prefix}
	}
}

func skipReason(longrepr string) string {
	// "path:line: reason" -> "reason"
	parts := strings.SplitN(longrepr, ": ", 2)
	if len(parts) == 2 {
		return parts[1]
	}
	return longrepr
}

func sameCollection(tests []*testState, got []protocol.TestInfo) bool {
	n := 0
	for _, t := range tests {
		if t.info.ID != "" {
			n++
		}
	}
	if n != len(got) {
		return false
	}
	for i, ti := range got {
		if i >= len(tests) || tests[i].info.ID != ti.ID {
			return false
		}
	}
	return true
}

// feed answers a worker's want. must says the worker holds a test and waits
// for our answer before running it, so it gets work or "none" at once; an idle
// worker with nothing to do waits until there is work or the run ends.
func (d *dispatcher) feed(s *slotState, must bool) {
	if !s.alive || !s.collected || s.shutdown {
		return
	}
	if s.diag >= 0 || s.diagSent {
		switch {
		case !s.diagSent:
			s.diagSent = true
			s.h.Send(protocol.Command{Type: protocol.CmdRun, IDs: []string{d.tests[s.diag].info.ID}})
		case must:
			s.h.Send(protocol.Command{Type: protocol.CmdNone})
		default:
			d.sendShutdown(s)
		}
		return
	}
	if s.isolated && !must && s.current < 0 && len(s.queue) == 0 {
		// An isolated test's process is discarded after it.
		d.sendShutdown(s)
		return
	}
	if d.offer(s) {
		return
	}
	if must {
		s.h.Send(protocol.Command{Type: protocol.CmdNone})
		return
	}
	if d.rebalance(s) {
		return
	}
	d.maybeShutdown()
}

// rebalanceAfter is how long a worker's current test must have run before
// an idle worker takes tests queued behind it. Moving a test costs the
// taker the setup of the module and package fixtures it shares with its
// neighbours (and maybe the import of its file): tens to hundreds of
// milliseconds. Behind a test that has run for less than half a second,
// waiting is about as likely to be shorter, and every move also sets a
// wider fixture up once more.
const rebalanceAfter = 500 * time.Millisecond

// revoker is a worker handle that can take back tests the worker holds and
// has not started (see protocol.CmdRevoke); worker.Proc is one. It reports
// whether it did: it never waits for the worker.
type revoker interface {
	Revoke(starts uint32, c protocol.Command) bool
}

// rebalance gives idle worker s, for which the scheduler has nothing left,
// tests waiting in the queue of a worker that is running a test: the
// second half of the longest such queue (its last test when it holds one).
// So the tail of the run is split between the workers, rather than waiting
// behind a long test while a worker idles. It reports whether s got work.
func (d *dispatcher) rebalance(s *slotState) bool {
	if d.stopping || d.cfg.Queue != nil || !s.alive || !s.collected || !s.idle || s.shutdown ||
		s.isolated || s.diag >= 0 || s.diagSent || s.current >= 0 || len(s.queue) > 0 {
		return false
	}
	if d.busySlots() >= d.cfg.Workers {
		// Tests run on at most Workers processes at once (the spare an
		// isolated test needs waits).
		return false
	}
	if len(s.ran) == 0 && d.plan != nil && d.plan.Isolated() > 0 {
		// A process that has run nothing is kept for an isolated test.
		return false
	}
	accept := d.acceptFor(s)
	var victim *slotState
	var movable []int
	for _, o := range d.slots {
		if o == s || !o.alive || o.current < 0 || o.isolated || o.diag >= 0 || o.shutdown || o.stopped {
			continue
		}
		if d.now().Sub(d.tests[o.current].started) < rebalanceAfter {
			// The next tick looks again.
			continue
		}
		var m []int
		for _, i := range o.queue {
			t := d.tests[i]
			// Only normal tests move: group members hold their group's
			// room on their slot, exclusive and isolated tests have a
			// worker of their own.
			if t.status != assigned || i >= len(d.pols) || d.pols[i].Kind != schedule.Normal {
				continue
			}
			if accept != nil && !accept(i) {
				continue
			}
			m = append(m, i)
		}
		if len(m) > len(movable) {
			victim, movable = o, m
		}
	}
	if victim == nil {
		return false
	}
	r, ok := victim.h.(revoker)
	if !ok {
		return false
	}
	take := movable[len(movable)/2:]
	ids := make([]string, len(take))
	for k, i := range take {
		ids[k] = d.tests[i].info.ID
	}
	if !r.Revoke(victim.starts, protocol.Command{Type: protocol.CmdRevoke, IDs: ids}) {
		// The worker is between two tests, or its lock is held: the
		// next tick tries again.
		return false
	}
	for _, i := range take {
		d.removeQueued(victim, i)
		d.tests[i].slot = s.idx
	}
	s.queue = append(s.queue, take...)
	s.idle = false
	s.lastMsg = d.now()
	s.h.Send(protocol.Command{Type: protocol.CmdRun, IDs: ids})
	return true
}

// offer sends s its next chunk of tests, if the scheduler has one it can run.
func (d *dispatcher) offer(s *slotState) bool {
	if d.stopping || d.plan == nil || s.isolated {
		return false
	}
	if s.current < 0 && len(s.queue) == 0 && d.busySlots() >= d.cfg.Workers {
		// Tests run on at most Workers processes at once (a spare waits).
		return false
	}
	accept := d.acceptFor(s)
	// One isolated test at a time: its slot's replacement, or the spare,
	// starts while the others go on with normal work.
	isolatedNow := 0
	for _, o := range d.slots {
		if o.alive && o.isolated {
			isolatedNow++
		}
	}
	fresh := len(s.ran) == 0 && s.current < 0 && len(s.queue) == 0 && isolatedNow < 1
	quiet := d.count[assigned]+d.count[running] == 0
	b := d.plan.Next(s.idx, accept, fresh, quiet)
	if b.Recycle {
		// What is left needs a fresh process: retire this one once it
		// holds nothing; its replacement takes the isolated tests.
		if s.idle && s.current < 0 && len(s.queue) == 0 {
			d.sendShutdown(s)
			return true
		}
		return false
	}
	ix := b.Tests
	if len(ix) == 0 {
		return false
	}
	if b.Kind == schedule.Isolated {
		s.isolated = true
	}
	ids := make([]string, len(ix))
	for k, i := range ix {
		t := d.tests[i]
		d.setStatus(t, assigned)
		t.slot = s.idx
		ids[k] = t.info.ID
	}
	s.queue = append(s.queue, ix...)
	s.idle = false
	// The worker owes an answer from now on; its silence while it waited
	// idle does not make it stuck.
	s.lastMsg = d.now()
	s.h.Send(protocol.Command{Type: protocol.CmdRun, IDs: ids})
	return true
}

// unrunnable reports whether the tests left in the scheduler can never run:
// every live worker has collected and waits idle, none of them collected
// those tests (workers collected different tests, and the ones that had them
// are gone), and nothing is in flight that could change that.
func (d *dispatcher) unrunnable() bool {
	if d.plan != nil && d.plan.Open() {
		return false
	}
	if d.count[assigned]+d.count[running] > 0 {
		return false
	}
	alive := false
	for _, s := range d.slots {
		if !s.alive {
			continue
		}
		if !s.collected || !s.idle || s.shutdown || s.diag >= 0 || s.diagSent {
			return false
		}
		alive = true
	}
	if !alive {
		return false
	}
	// Offer the rest to every idle worker once more.
	for _, s := range d.slots {
		if s.alive && d.offer(s) {
			return false
		}
	}
	return !d.retireForFresh()
}

// maybeShutdown sends shutdown to idle workers once no work can come back:
// nothing is queued and no test is running or assigned anywhere.
func (d *dispatcher) maybeShutdown() {
	if !d.haveColl {
		return
	}
	if d.plan != nil && d.plan.Open() && !d.stopping {
		// More work may come from the shared queue: keep the workers.
		return
	}
	if d.plan != nil && d.plan.Remaining() > 0 && !d.stopping {
		if !d.unrunnable() {
			return
		}
		for _, i := range d.plan.Drain() {
			t := d.tests[i]
			t.res.Outcome = result.Error
			t.res.HeadLine = headLine(t.info.ID)
			if len(t.refused) > 0 {
				t.res.Message = "collected differently by other worker processes"
				t.res.Longrepr = fmt.Sprintf("herd: %d worker processes imported the file of %s after its first collection "+
					"and did not find this test in it: the file collects different tests from one process to another "+
					"(test ids made from random or unordered values?), as pytest-xdist reports with "+
					"\"Different tests were collected between workers\"", len(t.refused), t.info.ID)
			} else {
				t.res.Message = "not collected by any live worker"
				t.res.Longrepr = "herd: no live worker collected " + t.info.ID +
					": the workers collected different tests, and those that collected this one are gone"
			}
			d.finish(i)
		}
	}
	if d.count[assigned]+d.count[running] > 0 {
		// A worker may still die and give tests back.
		return
	}
	for _, s := range d.slots {
		if s.alive && s.idle && !s.shutdown {
			d.sendShutdown(s)
		}
	}
}

func (d *dispatcher) sendShutdown(s *slotState) {
	s.shutdown = true
	s.deadline = d.now().Add(d.cfg.ShutdownTimeout)
	s.h.Send(protocol.Command{Type: protocol.CmdShutdown})
}

func (d *dispatcher) onStart(s *slotState, id string) {
	i, ok := d.byID[id]
	if !ok {
		return
	}
	t := d.tests[i]
	if s.diag == i {
		s.diagStarted = true
		s.diagReports = nil
		s.current = -1
		// The rerun gets the test's timeout, or diagTimeout when it has
		// none, so a test that hangs when alone cannot hang the run.
		to := d.timeoutOf(t)
		if to <= 0 {
			to = diagTimeout
		}
		s.deadline = d.now().Add(to)
		s.diagTimeout = to
		return
	}
	d.removeQueued(s, i)
	if t.status == done {
		return
	}
	d.setStatus(t, running)
	t.slot = s.idx
	t.started = d.now()
	t.reports, t.lost = nil, ""
	s.current = i
	s.proc.current = i
	t.res.Start = d.since()
	t.res.Worker = s.name
	t.res.Process = s.gen
	if to := d.timeoutOf(t); to > 0 {
		s.deadline = t.started.Add(to)
	} else {
		s.deadline = time.Time{}
	}
	d.emit(result.Event{Kind: result.TestStarted, Worker: s.name, NodeID: id})
}

func (d *dispatcher) timeoutOf(t *testState) time.Duration {
	sec := t.info.Timeout
	if sec <= 0 {
		if d.cfg.Timeout > 0 {
			return d.cfg.Timeout
		}
		sec = d.iniTimeout
	}
	if sec <= 0 {
		return 0
	}
	return time.Duration(sec * float64(time.Second))
}

func (d *dispatcher) removeQueued(s *slotState, i int) {
	for k, q := range s.queue {
		if q == i {
			s.queue = append(s.queue[:k], s.queue[k+1:]...)
			return
		}
	}
}

func (d *dispatcher) onDone(s *slotState, m *protocol.Message) {
	id, leaks, spawned := m.ID, m.Leaks, m.Spawned
	i, ok := d.byID[id]
	if !ok {
		return
	}
	t := d.tests[i]
	if s.diag == i {
		rerun := &result.Test{NodeID: id}
		finalize(rerun, withPassed(s.diagReports, m))
		d.diagnose(i, rerun, "")
		s.diag = -1
		s.deadline = time.Time{}
		return
	}
	if t.status != running || t.slot != s.idx {
		return
	}
	s.current = -1
	s.deadline = time.Time{}
	s.ran = append(s.ran, id)
	finalize(t.res, withPassed(t.reports, m))
	t.res.Properties = toProperties(m.Props)
	// The result holds what the reports said; a run of 100,000 tests
	// should not keep them twice.
	t.reports = nil
	if t.lost != "" {
		t.res.Outcome = result.Error
		t.res.Message = "herd could not read a message of the worker about this test: " + t.lost
		t.res.Longrepr = t.res.Message
	}
	t.res.Stop = d.since()
	s.proc.last, s.proc.current = i, -1
	// A test that started a program may have left an orphan (a shell's
	// background job): scan now, so it is charged to this test.
	d.scanOrphans(spawned)
	d.recordLeaks(t.res, leaks)
	d.finish(i)
}

type procInfo struct {
	slot int
	// current is the test the process runs now, or -1; last is the test
	// it ran last, -1 before its first.
	current, last int
}

// scanOrphans finds processes reparented to herd, kills them, and reports
// each as a leak of the test its worker ran last. Unless force, it scans at
// most every orphanScanEvery.
func (d *dispatcher) scanOrphans(force bool) {
	if d.cfg.Orphans == nil {
		return
	}
	now := d.now()
	if !force && now.Sub(d.lastScan) < orphanScanEvery {
		return
	}
	d.lastScan = now
	keep := make(map[int]bool, len(d.pids))
	for pid := range d.pids {
		keep[pid] = true
	}
	for _, o := range d.cfg.Orphans(keep) {
		if d.orphansSeen[o.PID] {
			continue
		}
		d.orphansSeen[o.PID] = true
		syscall.Kill(o.PID, syscall.SIGKILL)
		leak := []protocol.Leak{{Kind: "process", PID: o.PID, What: o.Cmd}}
		p := d.pids[o.PGID]
		if p != nil && p.current >= 0 {
			// Its worker is still running the test that left it (the
			// scan came first): the test's result will carry it.
			t := d.tests[p.current]
			desc := fmt.Sprintf("process %d (%s), killed by herd", o.PID, o.Cmd)
			t.res.Leaks = append(t.res.Leaks, desc)
			d.run.Warnings = append(d.run.Warnings, result.Warning{NodeID: t.res.NodeID, Message: "herd: leaked " + desc})
			continue
		}
		if p != nil && p.last >= 0 {
			t := d.tests[p.last]
			if t.status == done {
				// Its outcome was reported already: a warning only.
				desc := fmt.Sprintf("process %d (%s), killed by herd", o.PID, o.Cmd)
				t.res.Leaks = append(t.res.Leaks, desc)
				d.run.Warnings = append(d.run.Warnings, result.Warning{NodeID: t.res.NodeID, Message: "herd: leaked " + desc})
			} else {
				d.recordLeaks(t.res, leak)
			}
			continue
		}
		desc := fmt.Sprintf("process %d (%s), killed by herd; no test can be named", o.PID, o.Cmd)
		d.run.Warnings = append(d.run.Warnings, result.Warning{Message: "herd: leaked " + desc})
	}
}

// recordLeaks attaches what a test left running to its result: a warning, or
// with LeaksFail a failure of a test that otherwise passed.
func (d *dispatcher) recordLeaks(res *result.Test, leaks []protocol.Leak) {
	for _, l := range leaks {
		var desc string
		switch l.Kind {
		case "process":
			desc = fmt.Sprintf("process %d (%s), killed by herd", l.PID, l.What)
		default:
			desc = l.What + " still running"
		}
		if l.Scope != "" {
			desc += " (set up with the fixtures of " + l.Scope + ")"
		}
		res.Leaks = append(res.Leaks, desc)
		d.run.Warnings = append(d.run.Warnings, result.Warning{NodeID: res.NodeID, Message: "herd: leaked " + desc})
	}
	if len(res.Leaks) > 0 && d.cfg.LeaksFail && res.Outcome == result.Passed {
		res.Outcome = result.Failed
		res.Message = "leaked " + res.Leaks[0]
		res.Longrepr = "herd --leaks fail: the test left running:\n  " + strings.Join(res.Leaks, "\n  ")
	}
}

// finish records that test i has its final outcome.
func (d *dispatcher) finish(i int) {
	t := d.tests[i]
	if t.res.Outcome.IsFailure() && !d.stopping && d.retriesLeft(t) > 0 {
		d.retry(i)
		return
	}
	if len(t.res.Attempts) > 0 && t.res.Outcome == result.Passed {
		t.res.Outcome = result.Flaky
	}
	d.setStatus(t, done)
	d.emit(result.Event{Kind: result.TestFinished, Worker: t.res.Worker, NodeID: t.res.NodeID, Test: t.res})
	if t.res.Outcome.IsFailure() {
		// As pytest counts: each failed report, so a teardown error
		// after a failure counts too.
		d.failures += 1 + len(t.res.Extra)
		if d.cfg.MaxFail > 0 && d.failures >= d.cfg.MaxFail && !d.stopping {
			d.run.MaxfailReached = true
			// pytest's words, "failures" whatever the count.
			d.run.InterruptReason = fmt.Sprintf("stopping after %d failures", d.failures)
			d.stopAll(d.maxfailReason())
		}
	}
	if d.plan != nil && t.slot >= 0 {
		d.plan.Finished(t.slot, i)
	}
	// Room in a group, or the start of the exclusive phase, may let an
	// idle worker work again.
	d.offerIdle()
	d.maybeShutdown()
}

// retriesLeft is how many more tries test t may have: --retries, or its
// flaky(reruns=N) marker when that asks for more.
func (d *dispatcher) retriesLeft(t *testState) int {
	n := d.cfg.Retries
	if t.info.Reruns > n {
		n = t.info.Reruns
	}
	return n - len(t.res.Attempts)
}

// retry keeps the failed try of test i as an attempt and puts the test back
// in the queue, ahead of the rest, for any worker to run again.
func (d *dispatcher) retry(i int) {
	t := d.tests[i]
	r := t.res
	r.Attempts = append(r.Attempts, result.Attempt{
		Outcome: r.Outcome, Duration: r.Duration, Worker: r.Worker, Process: r.Process,
		Start: r.Start, Stop: r.Stop, Longrepr: r.Longrepr, Message: r.Message,
		Sections: r.Sections, Crash: r.Crash,
	})
	r.Outcome, r.Longrepr, r.Message, r.Sections, r.Crash, r.Extra = "", "", "", nil, nil, nil
	r.When, r.PhaseDurations, r.Output, r.Properties = "", [3]time.Duration{}, nil, nil
	d.setStatus(t, pending)
	slot := t.slot
	t.slot = -1
	d.plan.Requeue(slot, []int{i}, d.pols)
	d.offerIdle()
}

func (d *dispatcher) stopReason() string {
	if d.interrupted > 0 {
		return interruptedReason
	}
	if d.run.MaxfailReached {
		return d.maxfailReason()
	}
	return "not run: the run was interrupted by collection errors"
}

// interruptedReason is the reason of the tests that Ctrl-C kept from
// starting.
const interruptedReason = "not run: interrupted (Ctrl-C)"

// maxfailReason is the reason of the tests -x or --maxfail kept from
// running, naming the option as the user gave it: "not run: stopped after
// the first failure (-x)", "not run: stopped after 3 failures
// (--maxfail=3)".
func (d *dispatcher) maxfailReason() string {
	n := d.cfg.MaxFail
	flag := d.cfg.MaxFailFlag
	if flag == "" {
		flag = fmt.Sprintf("--maxfail=%d", n)
		if n == 1 {
			flag = "-x"
		}
	}
	if n == 1 {
		return "not run: stopped after the first failure (" + flag + ")"
	}
	return fmt.Sprintf("not run: stopped after %d failures (%s)", n, flag)
}

// stopAll ends scheduling: tests not handed out become not_run with reason,
// and every worker drops the tests it holds but has not started.
func (d *dispatcher) stopAll(reason string) {
	d.stopping = true
	if d.plan != nil {
		for _, i := range d.plan.Drain() {
			d.notRun(i, reason)
		}
		if d.cfg.Queue != nil {
			// Tests the shared queue never handed to this run are left
			// to the other machines.
			for i, t := range d.tests {
				if t.status == pending {
					d.markElsewhere(i)
				}
			}
		}
	}
	for _, s := range d.slots {
		if !s.alive {
			continue
		}
		if len(s.queue) > 0 && !s.stopped {
			s.stopped = true
			s.h.Send(protocol.Command{Type: protocol.CmdStop})
		}
		if s.current < 0 && len(s.queue) == 0 && !s.shutdown {
			d.sendShutdown(s)
		}
	}
	d.maybeShutdown()
}

func (d *dispatcher) notRun(i int, reason string) {
	t := d.tests[i]
	if t.status == done {
		return
	}
	d.setStatus(t, done)
	t.res.Outcome = result.NotRun
	t.res.Reason = reason
	d.emit(result.Event{Kind: result.TestFinished, NodeID: t.res.NodeID, Test: t.res})
}

func (d *dispatcher) interrupt() {
	d.interrupted++
	if d.interrupted == 1 {
		d.interruptAt = d.now()
		d.run.Interrupted = true
		d.run.InterruptReason = "KeyboardInterrupt"
		// Ctrl-C after -x stopped the run: it ends as interrupted (exit
		// 2), as pytest's KeyboardInterrupt does.
		d.run.MaxfailReached = false
		d.stopAll(interruptedReason)
		return
	}
	for _, s := range d.slots {
		if s.alive {
			if p, ok := s.h.(interface{ KillNow() }); ok {
				p.KillNow()
			} else {
				s.h.Kill(false)
			}
			s.killed = true
		}
	}
}

func (d *dispatcher) checkDeadlines() {
	now := d.now()
	if d.interrupted == 1 && now.Sub(d.interruptAt) > InterruptGrace {
		for _, s := range d.slots {
			if s.alive && !s.killed {
				s.killed = true
				s.h.Kill(false)
			}
		}
	}
	for _, s := range d.slots {
		if !s.alive || s.killed {
			continue
		}
		switch {
		case !s.collected && s.hello && now.Sub(s.startedAt) > CollectTimeout:
			s.stall, s.stallAt = stallCollection, d.since()
			s.killed = true
			s.h.Kill(true)
			continue
		case s.collected && s.current < 0 && !s.idle && !s.shutdown && !s.diagStarted && now.Sub(s.lastMsg) > StuckTimeout &&
			now.Sub(s.collectingSince) > CollectTimeout:
			s.stall, s.stallAt = stallBetween, d.since()
			s.killed = true
			s.h.Kill(true)
			continue
		}
		if s.deadline.IsZero() || now.Before(s.deadline) {
			continue
		}
		s.killed = true
		if s.current >= 0 {
			s.timedOut = true
			s.h.Kill(true)
		} else {
			s.stall, s.stallAt = stallSessionEnd, d.since()
			s.h.Kill(true)
		}
	}
}

func (d *dispatcher) onExit(s *slotState, ex *worker.Exit) {
	s.alive = false
	if s.node && d.cfg.Nodes != nil {
		crash := ""
		if !s.nodeFinished {
			crash = nodeCrash
		}
		d.cfg.Nodes.NodeDown(s.name, crash, s.nodeOutput)
		s.node = false
	}
	if p := s.proc; p != nil && p.current >= 0 {
		p.last, p.current = p.current, -1
	}
	if d.fatal != nil || d.startupErr != nil {
		// The run ends before any test; herd killed this worker itself.
		return
	}
	death := d.deathOf(s, ex)
	words := d.cfg.DeathWords(death)
	how := words.Exit
	if s.stall != "" {
		d.recordStall(s, ex, words)
	}
	if !s.collected && !d.haveColl && ex.Signal == "" && ex.Err == nil && ex.KillStage == "" && d.interrupted == 0 {
		// pytest ended before collecting: a usage error, a bad ini or
		// conftest, or something that hit this worker only. If no worker
		// ever collects, this is what the run says.
		d.lastStartupExit = &StartupError{Code: ex.Code, Output: ex.StderrTail}
		if ex.Code == 4 {
			// A usage error (bad option, ini or conftest): every worker
			// says the same, so the run ends with it now.
			d.startupErr = d.lastStartupExit
			d.stopWorkers()
			return
		}
	}
	if s.diag >= 0 {
		i := s.diag
		s.diag = -1
		switch {
		case s.diagStarted && s.killed && !s.deadline.IsZero():
			d.diagnose(i, &result.Test{NodeID: d.tests[i].info.ID, Outcome: result.Timeout,
				Message: fmt.Sprintf("it ran longer than %s", fmtSeconds(s.diagTimeout))}, "")
		case s.diagStarted:
			d.diagnose(i, &result.Test{NodeID: d.tests[i].info.ID, Outcome: result.Crashed, Message: how}, "")
		default:
			d.diagnose(i, nil, "could not rerun it alone: the fresh worker ended before it started ("+how+")")
		}
		return
	}
	if s.diagSent {
		return
	}
	expected := s.shutdown && s.current < 0
	// A worker herd killed after Ctrl-C did not die.
	stopped := d.interrupted > 0 && s.killed && !s.timedOut
	if (!expected || ex.Signal != "") && !stopped {
		if !expected || ex.Signal != "" {
			d.run.WorkerDeaths++
			d.emit(result.Event{Kind: result.WorkerDied, Worker: s.name, Process: s.gen, Death: &death})
		}
	}
	if s.current >= 0 {
		i := s.current
		t := d.tests[i]
		s.current = -1
		if t.status == running {
			d.crashResult(s, t, ex, death)
			t.res.Stop = d.since()
			d.finish(i)
		}
	}
	// Tests handed to this worker but not started go back to the queue.
	var back []int
	for _, i := range s.queue {
		if d.tests[i].status == assigned {
			d.setStatus(d.tests[i], pending)
			back = append(back, i)
		}
	}
	s.queue = nil
	if len(back) > 0 {
		if d.stopping {
			for _, i := range back {
				d.notRun(i, d.stopReason())
			}
		} else {
			d.plan.Requeue(s.idx, back, d.pols)
		}
	}
	if !s.collected {
		s.startupDeaths++
		d.startupStreak++
		last := words.Message
		if !d.haveColl && d.startupStreak >= maxStartupDeaths {
			// No worker ever collected and deaths repeat: one cause kills
			// every worker, so none is replaced any more.
			for _, o := range d.slots {
				o.blocked = fmt.Sprintf("%d workers in a row died before collecting (last: %s)", d.startupStreak, last)
			}
			d.respawnBlocked = s.blocked
		}
		if s.startupDeaths >= maxStartupDeaths {
			// Deaths in a row for one cause: this slot is not replaced
			// again; the other workers go on.
			s.blocked = fmt.Sprintf("%d workers in a row died before collecting (last: %s)", s.startupDeaths, last)
			d.respawnBlocked = s.blocked
		}
		if s.blocked != "" {
			d.shareLost(s, last, ex.StderrTail)
		}
	}
	if s.blocked == "" && d.shouldRespawn() {
		// When the replacement cannot start, the slot stays dead and what
		// follows gives its tests to other workers or marks them not run.
		d.spawn(s)
	}
	if d.haveColl && !d.anyAlive() {
		reason := "not run: no worker left to run it"
		if d.respawnBlocked != "" {
			reason = "not run: " + d.respawnBlocked
		}
		if d.plan != nil {
			for _, i := range d.plan.Drain() {
				d.notRun(i, reason)
			}
		}
		for i, t := range d.tests {
			if t.status != done {
				d.notRun(i, reason)
			}
		}
	}
	d.maybeShutdown()
	for _, o := range d.slots {
		if o.alive && o.idle && !o.shutdown {
			d.feed(o, false)
		}
	}
}

// offerIdle offers work to every worker waiting idle for some.
func (d *dispatcher) offerIdle() {
	for _, o := range d.slots {
		if o.alive && o.idle && o.collected && !o.shutdown && o.diag < 0 && !o.diagSent {
			if !d.offer(o) {
				d.rebalance(o)
			}
		}
	}
}

// busySlots counts the live processes that hold tests (running or handed
// out).
func (d *dispatcher) busySlots() int {
	n := 0
	for _, o := range d.slots {
		if o.alive && (o.current >= 0 || len(o.queue) > 0) {
			n++
		}
	}
	return n
}

func (d *dispatcher) anyAlive() bool {
	for _, s := range d.slots {
		if s.alive {
			return true
		}
	}
	return false
}

// shouldRespawn reports whether a dead worker's slot gets a new process: only
// while there is work it could do and deaths are not repeating for one cause.
func (d *dispatcher) shouldRespawn() bool {
	if d.stopping || d.interrupted > 0 || d.startupErr != nil {
		return false
	}
	if !d.haveColl {
		return true
	}
	if d.plan != nil && (d.plan.Remaining() > 0 || d.plan.Open()) {
		return true
	}
	return d.count[pending]+d.count[assigned] > 0
}

// signalWake tells the dispatcher's loop that the source has news; it may
// be called from any goroutine and never blocks.
func (d *dispatcher) signalWake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// onWake takes the source's news: tests gone to other machines leave the
// run, new work goes to idle workers, and a drained queue ends the run.
func (d *dispatcher) onWake() {
	if d.plan == nil {
		return
	}
	for _, i := range d.plan.Elsewhere() {
		d.markElsewhere(i)
	}
	if !d.stopping {
		d.offerIdle()
	}
	d.maybeShutdown()
}

// markElsewhere drops pending test i from this run: another machine runs it.
func (d *dispatcher) markElsewhere(i int) {
	if i < 0 || i >= len(d.tests) {
		return
	}
	t := d.tests[i]
	if t.status != pending {
		return
	}
	t.elsewhere = true
	d.setStatus(t, done)
}

// dropElsewhere removes the tests that ran on other machines from the run's
// results, once the run is over.
func (d *dispatcher) dropElsewhere() {
	n := 0
	for _, t := range d.tests {
		if t.elsewhere {
			n++
		}
	}
	if n == 0 {
		return
	}
	kept := d.run.Tests[:0]
	drop := make(map[*result.Test]bool, n)
	for _, t := range d.tests {
		if t.elsewhere {
			drop[t.res] = true
		}
	}
	for _, r := range d.run.Tests {
		if !drop[r] {
			kept = append(kept, r)
		}
	}
	d.run.Tests = kept
	d.run.Collected -= n
}

func (d *dispatcher) stopWorkers() {
	d.stopping = true
	for _, s := range d.slots {
		if s.alive && !s.killed {
			s.killed = true
			s.h.Kill(false)
		}
	}
}

// recordStall adds to the run the stall of process s, which herd killed
// because it hung outside any test, with the stacks it dumped.
func (d *dispatcher) recordStall(s *slotState, ex *worker.Exit, words result.DeathText) {
	st := result.Stall{
		Worker:     s.name,
		Process:    s.gen,
		When:       s.stall,
		Cause:      "worker " + s.name + " " + words.Missed,
		At:         s.stallAt,
		KillStage:  ex.KillStage,
		Exit:       words.Exit,
		Stacks:     worker.StackDump(ex.StderrTail),
		StderrTail: ex.StderrTail,
	}
	if n := len(s.ran); n > 0 {
		st.LastTest = s.ran[n-1]
	}
	d.run.Stalls = append(d.run.Stalls, st)
}

func (d *dispatcher) crashResult(s *slotState, t *testState, ex *worker.Exit, death result.Death) {
	words := d.cfg.DeathWords(death)
	// The crash is the test's own: it need not name the test.
	death.NodeID = ""
	crash := &result.Crash{
		Death:      death,
		StderrTail: ex.StderrTail,
		Phase:      phaseOf(t.reports, ex.Board, s.starts),
		PriorTests: append([]string(nil), s.ran...),
	}
	t.res.Crash = crash
	t.res.Duration = d.now().Sub(t.started)
	switch {
	case s.timedOut:
		t.res.Outcome = result.Timeout
		to := d.timeoutOf(t)
		t.res.Message = words.Timeout
		stacks := "every thread's stack (below)"
		if ex.ChildStacks > 0 {
			stacks = fmt.Sprintf("every thread's stack, then those of %d child processes (below)", ex.ChildStacks)
		}
		t.res.Longrepr = fmt.Sprintf("Timeout: %s ran longer than %s; herd dumped %s and killed worker %s (%s)",
			t.info.ID, fmtSeconds(to), stacks, s.name, ex.KillStage)
	case d.interrupted > 0 && s.killed:
		t.res.Outcome = result.Interrupted
		if d.interrupted > 1 {
			t.res.Reason = "killed at the second Ctrl-C"
		} else {
			t.res.Reason = fmt.Sprintf("still running %s after Ctrl-C, killed", fmtSeconds(InterruptGrace))
		}
		t.res.Message = t.res.Reason
		t.res.Crash = nil
	default:
		d.diagQueue = append(d.diagQueue, d.byID[t.info.ID])
		t.res.Outcome = result.Crashed
		t.res.Message = "worker " + s.name + " crashed: " + words.Exit
		t.res.Longrepr = fmt.Sprintf("worker %s crashed while running %s during %s: %s", s.name, t.info.ID, crash.Phase, words.Exit)
	}
	t.res.HeadLine = headLine(t.info.ID)
}

func fmtSeconds(d time.Duration) string {
	return fmt.Sprintf("%gs", d.Seconds())
}

// withPassed adds to reports those that done message m stands for (phases
// that passed plainly), in phase order.
func withPassed(reports []protocol.Report, m *protocol.Message) []protocol.Report {
	if m.PassedPhases == "" {
		return reports
	}
	all := append(m.PassedReports(), reports...)
	if len(reports) > 0 {
		sort.SliceStable(all, func(a, b int) bool { return phaseRank(all[a].When) < phaseRank(all[b].When) })
	}
	return all
}

// phaseRank orders a test's phases: setup, call, teardown.
func phaseRank(when string) int {
	switch when {
	case "setup":
		return 0
	case "call":
		return 1
	}
	return 2
}

// phaseOf says in which phase the running test ended: the worker's phase
// board says so when it is about this test (the worker's starts-th), else
// the reports received tell.
func phaseOf(reports []protocol.Report, board protocol.Board, starts uint32) string {
	if board.Phase != "" && board.Seq == starts {
		return board.Phase
	}
	phase := "setup"
	for _, r := range reports {
		switch r.When {
		case "setup":
			phase = "call"
		case "call":
			phase = "teardown"
		}
	}
	return phase
}

func headLine(id string) string {
	if i := strings.Index(id, "::"); i >= 0 {
		return strings.ReplaceAll(id[i+2:], "::", ".")
	}
	return id
}

// finalize turns a test's phase reports into its one outcome, following
// pytest's own classification of each phase.
func finalize(res *result.Test, reports []protocol.Report) {
	var dur float64
	var setup, call, teardown *protocol.Report
	res.PhaseDurations = [3]time.Duration{}
	for k := range reports {
		r := &reports[k]
		dur += r.Duration
		switch r.When {
		case "setup":
			setup = r
		case "call":
			call = r
		case "teardown":
			teardown = r
		}
		res.PhaseDurations[phaseRank(r.When)] += time.Duration(r.Duration * float64(time.Second))
	}
	res.Duration = time.Duration(dur * float64(time.Second))
	res.When, res.Output = "", nil
	if teardown != nil {
		res.Output = toSections(teardown.Sections)
	}
	var main *protocol.Report
	switch {
	case setup != nil && setup.Outcome != "passed":
		main = setup
	case call != nil:
		main = call
	case setup != nil:
		main = setup
	}
	if main == nil {
		res.Outcome = result.Error
		res.Longrepr = "herd: the worker sent no report for this test"
		res.Message = "no report"
		return
	}
	res.Outcome = outcomeOf(main)
	res.When = main.When
	res.Longrepr = main.Longrepr
	res.Message = main.Message
	res.HeadLine = main.HeadLine
	res.CrashLine = main.CrashLine
	res.Sections = toSections(main.Sections)
	if res.Outcome == result.XFailed || res.Outcome == result.XPassed {
		// pytest's summary gives the xfail reason, not the exception.
		res.Message = main.WasXfail
	}
	if teardown != nil && teardown.Outcome == "failed" {
		extra := result.Phase{When: "teardown", Longrepr: teardown.Longrepr, Message: teardown.Message, Sections: toSections(teardown.Sections)}
		if res.Outcome == result.Failed || res.Outcome == result.Error {
			res.Extra = append(res.Extra, extra)
		} else {
			res.Outcome = result.Error
			res.When = "teardown"
			res.Longrepr = teardown.Longrepr
			res.Message = teardown.Message
			if teardown.HeadLine != "" {
				res.HeadLine = teardown.HeadLine
			}
			res.Sections = extra.Sections
		}
	} else if teardown != nil && res.Outcome.IsFailure() {
		// pytest shows a failed test's teardown output below its failure;
		// the teardown report repeats the earlier sections, so only the
		// teardown ones are new.
		for _, sec := range teardown.Sections {
			if strings.Contains(sec.Title, "teardown") {
				res.Sections = append(res.Sections, result.Section{Title: sec.Title, Content: sec.Content})
			}
		}
	}
	if res.HeadLine == "" {
		res.HeadLine = headLine(res.NodeID)
	}
}

func outcomeOf(r *protocol.Report) result.Outcome {
	switch r.Category {
	case "passed":
		return result.Passed
	case "failed":
		if r.When != "call" {
			return result.Error
		}
		return result.Failed
	case "error":
		return result.Error
	case "skipped":
		return result.Skipped
	case "xfailed":
		return result.XFailed
	case "xpassed":
		return result.XPassed
	}
	switch r.Outcome {
	case "passed":
		return result.Passed
	case "skipped":
		return result.Skipped
	}
	if r.When != "call" {
		return result.Error
	}
	return result.Failed
}

// toProperties turns record_property's name/value pairs into the result's.
func toProperties(in [][2]string) []result.Property {
	if len(in) == 0 {
		return nil
	}
	out := make([]result.Property, len(in))
	for i, p := range in {
		out[i] = result.Property{Name: p[0], Value: p[1]}
	}
	return out
}

func toSections(in []protocol.Section) []result.Section {
	if len(in) == 0 {
		return nil
	}
	out := make([]result.Section, len(in))
	for i, s := range in {
		out[i] = result.Section{Title: s.Title, Content: s.Content}
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
