package run

import (
	"fmt"
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
	// Affected, when set, chooses the tests a change can break (herd
	// --affected), before Select: keep[i] says whether tests[i] runs; the
	// others count as unaffected (Run.Unaffected), and info, which says
	// what was chosen and why, becomes Run.Affected. An error ends the
	// run before any test.
	Affected func(tests []protocol.TestInfo) (keep []bool, info *result.Affected, err error)
	// Deps, when set, is given every fp and deps message (what a test
	// depended on, HERD_DEPS) with the slot of the worker that sent it,
	// from the dispatcher's goroutine.
	Deps func(slot int, m *protocol.Message)
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

// Orphan is a process reparented to herd. PGID tells which worker's process
// group it came from: a worker leads its group, so PGID is that worker's pid.
type Orphan struct {
	PID, PGID int
	Cmd       string
}

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
