package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/queue"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/schedule"
	"github.com/herd-run/herd/internal/shard"
)

// queueWriteTimeout bounds writing a machine's last results to Redis and
// reading the whole run back at its end: milliseconds normally; thirty
// seconds rides out a Redis failover.
const queueWriteTimeout = 30 * time.Second

// reportWaitDefault is how long herd report --queue waits for the run to
// complete while machines still heartbeat: ten minutes lets a report job
// started beside the test jobs wait for them, and still ends a stuck one.
const reportWaitDefault = 10 * time.Minute

// reportPoll is how often herd report --queue looks at a run it waits for:
// once a second is quick enough for a person and cheap for Redis.
const reportPoll = time.Second

// queueRun is the state of a `--queue` run: the Redis connection, this
// machine's consumer, and once the run is complete the whole run. Its
// methods are nil-safe: a nil *queueRun is a run without --queue.
type queueRun struct {
	url, runID string
	store      *queue.RedisStore
	consumer   *queue.Consumer
	stderr     io.Writer
	rootdir    string
	flakyFails bool
	// Set when the run is complete, at its end.
	whole  *result.Run
	status *queue.Status
}

// newQueueRun connects to the run's Redis (a bad URL or an unreachable
// Redis is a usage error, before any worker starts) and prepares this
// machine's consumer.
func newQueueRun(ctx context.Context, cfg *config.Config, workers int, stderr io.Writer) (*queueRun, error) {
	if cfg.Queue == "" {
		return nil, nil
	}
	store, err := queue.Dial(ctx, cfg.Queue, cfg.RunID)
	if err != nil {
		return nil, &config.UsageError{Msg: "herd: --queue: " + err.Error()}
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "herd"
	}
	q := &queueRun{url: cfg.Queue, runID: cfg.RunID, store: store, stderr: stderr, flakyFails: cfg.FlakyFails}
	q.consumer = queue.NewConsumer(ctx, store, queue.Options{
		Name:     host,
		Workers:  workers,
		LeaseTTL: cfg.QueueLease,
		Herd:     version,
		Notef: func(format string, args ...any) {
			fmt.Fprintf(stderr, "herd: queue: "+format+"\n", args...)
		},
	})
	return q, nil
}

// close ends this machine's part: its last writes, its heartbeat.
func (q *queueRun) close() {
	if q == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), queueWriteTimeout)
	defer cancel()
	if err := q.consumer.Close(ctx); err != nil && q.consumer.Lost() == nil {
		fmt.Fprintf(q.stderr, "herd: queue: %v\n", err)
	}
	q.store.Close()
}

// hook is the run's Queue hook: this machine joins the run (seeding it
// when first), with the tests weighed by herd's recorded durations and,
// where the rootdir has one, pytest-split's .test_durations.
func (q *queueRun) hook() func([]protocol.TestInfo, []schedule.Policy, map[string]time.Duration, func()) (run.Source, error) {
	if q == nil {
		return nil
	}
	return func(tests []protocol.TestInfo, pols []schedule.Policy, durations map[string]time.Duration, wake func()) (run.Source, error) {
		if split, err := shard.LoadPytestSplit(q.rootdir); err == nil && len(split) > 0 {
			merged := make(map[string]time.Duration, len(durations)+len(split))
			for id, d := range durations {
				merged[id] = d
			}
			for id, d := range split {
				merged[id] = d
			}
			durations = merged
		}
		src, err := q.consumer.Start(tests, pols, durations, wake)
		// An error ends the run before any test.
		var me *queue.MismatchError
		switch {
		case errors.As(err, &me):
			return nil, &config.UsageError{Msg: "herd: --queue: " + me.Msg}
		case err != nil:
			return nil, internalError("herd: --queue: " + err.Error())
		}
		return src, nil
	}
}

// policies wraps the run's policies hook to learn the rootdir, where
// pytest-split's .test_durations lives.
func (q *queueRun) policies(next func(string) (func(protocol.TestInfo) schedule.Policy, error)) func(string) (func(protocol.TestInfo) schedule.Policy, error) {
	if q == nil {
		return next
	}
	return func(rootdir string) (func(protocol.TestInfo) schedule.Policy, error) {
		q.rootdir = rootdir
		if next == nil {
			return func(protocol.TestInfo) schedule.Policy { return schedule.Policy{} }, nil
		}
		return next(rootdir)
	}
}

// sinks returns the consumer, which sends this machine's results to Redis
// and must see each event before the terminal does, and the banner that
// names the run in the header.
func (q *queueRun) sinks(stdout io.Writer) []result.Sink {
	if q == nil {
		return nil
	}
	return []result.Sink{q.consumer, queueBanner{q: q, w: stdout}}
}

// terminal wraps the terminal reporter: at the end of a complete run it
// gets the whole run, read from Redis, instead of this machine's part.
func (q *queueRun) terminal(next result.Sink) result.Sink {
	if q == nil {
		return next
	}
	return queueTerminal{q: q, next: next}
}

// result returns the run herd exits with and records in pytest's cache:
// the whole run when it is complete, else this machine's part.
func (q *queueRun) result(local *result.Run) *result.Run {
	if q == nil || q.whole == nil {
		return local
	}
	return q.whole
}

// err says what went wrong with the queue, when something did, once the
// run is over: Redis lost, or this machine stopped before the run was
// complete (then its summary is its own part).
func (q *queueRun) err(local *result.Run) error {
	if q == nil {
		return nil
	}
	if err := q.consumer.Lost(); err != nil {
		// This machine's part of the run went wrong in a way its summary
		// cannot say.
		return internalError("herd: queue: " + err.Error() + "; this machine's results may be missing from the run " +
			"(herd report --queue ... --run-id " + q.runID + " says which)")
	}
	if !q.consumer.Complete() && local != nil {
		fmt.Fprintf(q.stderr, "herd: queue: this machine stopped before run %s was complete; the summary above is its own part, "+
			"and the tests it held went back to the queue (herd report --queue %s --run-id %s prints the whole run)\n",
			q.runID, queue.Redact(q.url), q.runID)
	}
	return nil
}

// wholeAtEnd reads the whole run from Redis and fits it to this machine's
// terminal: its rootdir and options, so node ids and sections show as they
// would have.
func (q *queueRun) wholeAtEnd(local *result.Run) {
	ctx, cancel := context.WithTimeout(context.Background(), queueWriteTimeout)
	defer cancel()
	whole, st, err := q.consumer.Whole(ctx)
	if err != nil {
		fmt.Fprintf(q.stderr, "herd: queue: could not read the whole run: %v; the summary below is this machine's part\n", err)
		return
	}
	if local != nil {
		whole.Info.Rootdir = local.Info.Rootdir
		whole.Info.InvocationDir = local.Info.InvocationDir
		whole.Info.CacheDir = local.Info.CacheDir
		whole.Info.Options = local.Info.Options
		// Coverage is per machine: each measures the tests it ran.
		whole.Coverage, whole.CoverageFailed = local.Coverage, local.CoverageFailed
	}
	whole.FlakyFails = q.flakyFails
	q.whole, q.status = whole, st
	var parts []string
	for _, m := range st.Machines {
		parts = append(parts, fmt.Sprintf("%s %d", m.Name, m.Ran))
	}
	fmt.Fprintf(q.stderr, "herd: queue: run %s complete: %d tests from %d %s (%s); the summary below is the whole run's\n",
		q.runID, st.Total, len(st.Machines), plural(len(st.Machines), "machine"), strings.Join(parts, ", "))
}

// queueTerminal hands the terminal the whole run at the end.
type queueTerminal struct {
	q    *queueRun
	next result.Sink
}

func (t queueTerminal) Handle(ev result.Event) {
	if ev.Kind == result.RunFinished && t.q.consumer.Complete() {
		t.q.wholeAtEnd(ev.Run)
		if t.q.whole != nil {
			ev.Run = t.q.whole
		}
	}
	t.next.Handle(ev)
}

// queueBanner prints the queue line of the header, right before pytest's
// "collected" line, unless -q.
type queueBanner struct {
	q *queueRun
	w io.Writer
}

func (b queueBanner) Handle(ev result.Event) {
	if ev.Kind != result.Collected || ev.Run == nil || ev.Run.Info.Options.Verbose < 0 {
		return
	}
	seeded, meta := b.q.consumer.Seeded()
	if meta.Total == 0 && !seeded {
		return // the consumer did not start
	}
	how := fmt.Sprintf("joined as %s (seeded by %s)", b.q.consumer.Name(), meta.SeededBy)
	if seeded {
		how = "seeded by this machine, " + b.q.consumer.Name()
	}
	fmt.Fprintf(b.w, "queue %s on %s: %d tests in %d items, %s\n", b.q.runID, queue.Redact(b.q.url), meta.Total, meta.Items, how)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

const reportQueueUsage = "usage: herd report --queue URL --run-id ID [--wait DURATION] [--junitxml PATH] [--report-html PATH] [--report-json PATH] [--flaky-fails] [-q|-v] [-r CHARS] [--tb STYLE]"

const reportQueueHelp = reportQueueUsage + `

Prints the whole summary of a queue run (herd --queue URL --run-id ID on
several machines) from Redis alone: pytest's terminal summary (failures,
errors, warnings, the short test summary and the closing line) and the exit
code of one run of the whole suite; writes JUnit, HTML and JSON reports of it.

It waits for the run to complete while some machine of it still heartbeats,
at most --wait (default 10m). A test without a result then (its machine died
and no machine was left to take it back) is not_run, with where it was.

options:
  --queue URL         the run's Redis: redis://[user:password@]host:port/db,
                      or rediss://... for TLS (default: $HERD_QUEUE)
  --run-id ID         the run's id, as given to every machine
  --wait DURATION     wait at most this long for the run to complete
                      (default 10m; 0 reports at once)
  --junitxml PATH     write a JUnit XML report of the whole run
  --report-html PATH  write an HTML report of the whole run
  --report-json PATH  write the whole run as herd's JSON report
  --flaky-fails       flaky tests fail the run (exit 1)
  -q, -v              less or more output
  -r CHARS            the short test summary's outcomes, as pytest's -r
                      (default fE)
  --tb STYLE          traceback style (auto, long, short, line, native, no)
  -h, --help          print this help

Exit codes: 0 all passed, 1 tests failed (or crashed, timed out, errored, or
have no result), 3 a report could not be written, 4 usage error, Redis not
reachable, or no such run, 5 no tests at all.
`

// isQueueReport reports whether args (after "report") ask for the queue
// report: they name --queue or --run-id.
func isQueueReport(args []string) bool {
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		if name == "--queue" || name == "--run-id" {
			return true
		}
		if a == "--" {
			break
		}
	}
	return false
}

// reportQueueMain runs `herd report --queue URL --run-id ID` (args after
// "report").
func reportQueueMain(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const cmd = "herd report"
	var url, runID string
	wait := reportWaitDefault
	f, done, err := parseReportFlags(cmd, reportQueueUsage, reportQueueHelp, args, stdout,
		func(name string, value func() (string, bool)) (bool, string) {
			var dst *string
			switch name {
			case "--queue":
				dst = &url
			case "--run-id":
				dst = &runID
			case "--wait":
				v, ok := value()
				d, err := time.ParseDuration(v)
				if !ok || err != nil || d < 0 {
					return true, fmt.Sprintf("--wait expects a duration such as 5m, got %q", v)
				}
				wait = d
				return true, ""
			default:
				return false, ""
			}
			v, ok := value()
			if !ok || v == "" {
				return true, name + " expects a value"
			}
			*dst = v
			return true, ""
		})
	if done {
		return err
	}
	if url == "" && getenv != nil {
		url = getenv("HERD_QUEUE")
	}
	cfg, err := config.Parse([]string{"--queue", url, "--run-id", runID}, nil)
	switch {
	case len(f.args) > 0:
		return usageErrorf("%s: unexpected argument %s\n%s", cmd, f.args[0], reportQueueUsage)
	case url == "":
		return usageErrorf("%s: --queue URL (or HERD_QUEUE) is needed\n%s", cmd, reportQueueUsage)
	case err != nil:
		return usageErrorf("%s: %s", cmd, strings.TrimPrefix(err.Error(), "herd: "))
	}
	ctx := context.Background()
	store, err := queue.Dial(ctx, cfg.Queue, cfg.RunID)
	if err != nil {
		return usageErrorf("%s: --queue: %v", cmd, err)
	}
	defer store.Close()

	deadline := time.Now().Add(wait)
	noted := false
	for {
		snap, err := store.Snapshot(ctx, true)
		if err != nil {
			return usageErrorf("%s: %v", cmd, err)
		}
		if snap == nil {
			return usageErrorf("%s: no run %s in the Redis at %s (never seeded, or its keys expired after %s)",
				cmd, cfg.RunID, queue.Redact(cfg.Queue), queue.KeyTTL)
		}
		have := 0
		for _, id := range snap.NodeIDs {
			if _, ok := snap.Results[id]; ok {
				have++
			}
		}
		alive := 0
		for _, a := range snap.Alive {
			if a {
				alive++
			}
		}
		if have == len(snap.NodeIDs) || alive == 0 || !time.Now().Before(deadline) {
			break
		}
		if !noted {
			noted = true
			fmt.Fprintf(stderr, "%s: run %s: %d of %d tests reported; waiting (at most %s) for %d %s still running\n",
				cmd, cfg.RunID, have, len(snap.NodeIDs), wait, alive, plural(alive, "machine"))
		}
		time.Sleep(min(reportPoll, time.Until(deadline)))
	}
	snap, err := store.Snapshot(ctx, false)
	if err == nil && snap == nil {
		err = errors.New("the run's keys expired while reading it")
	}
	if err != nil {
		return usageErrorf("%s: %v", cmd, err)
	}
	whole, st, err := queue.Whole(snap)
	if err != nil {
		return internalErrorf("%s: %v", cmd, err)
	}
	whole.Info.HeaderLines = append([]string{fmt.Sprintf("queue run %s on %s", cfg.RunID, queue.Redact(cfg.Queue))}, st.Lines(snap.Meta)...)
	if n := len(st.Missing); n > 0 {
		fmt.Fprintf(stderr, "%s: run %s is not complete: %d %s without a result, such as %s (%s)\n",
			cmd, cfg.RunID, n, plural(n, "test"), st.Missing[0].NodeID, st.Missing[0].Where)
	}
	return emitReport(cmd, whole, f, fmt.Sprintf(" (queue run %s, %d machines)", cfg.RunID, len(st.Machines)), stdout)
}
