// Package queue makes a herd run one consumer of a work queue shared by
// several machines (herd --queue): the first machine to arrive seeds the
// queue with the suite's tests cut into items, longest first; every machine
// leases items into a lease list of its own and runs them; results go back
// to the store, where the first result of a test wins; a machine that stops
// heartbeating has its leased items put back in the queue after a timeout.
// So no test is lost and none is reported twice, and every machine, and
// herd report --queue, can build the whole run from the store.
//
// Redis is the store (RedisStore); the logic is tested with one in memory.
package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/schedule"
)

// DefaultLeaseTTL is how long a machine's leases outlive its last
// heartbeat before other machines take its tests back: thirty seconds
// rides out a Redis failover or a CPU-starved CI machine, and still gives a
// dead machine's tests back within a minute.
const DefaultLeaseTTL = 30 * time.Second

// heartbeatsPerTTL is how many heartbeats a lease TTL holds: with six, five
// in a row can be lost (a slow network, a busy machine) before the lease
// lapses.
const heartbeatsPerTTL = 6

// DefaultPoll is how often a machine with nothing to run asks the store for
// work: twice a second, so tests given back wait at most half a second,
// and Redis sees a handful of commands per second per idle machine.
const DefaultPoll = 500 * time.Millisecond

// DefaultGiveUp is how long the store may fail to answer before a machine
// gives up on the queue: two minutes is four lease TTLs, so its leases have
// lapsed long before and other machines run its tests.
const DefaultGiveUp = 2 * time.Minute

// prefetchHorizon is how soon a worker must be due to finish the tests it
// holds for its machine to lease its next item ahead: a lease takes two
// round trips to Redis (a few milliseconds on a LAN, up to a hundred
// across regions), so the item arrives in time; a worker busy for longer
// leases nothing yet, so the work stays in the queue for idle machines.
const prefetchHorizon = 250 * time.Millisecond

// flushPoll is how often flush looks whether the writer is done: a batch
// takes about a round trip to Redis, so 5 ms adds little to the end of a
// run and costs nothing.
const flushPoll = 5 * time.Millisecond

// writeBackoff bounds the pause between retries of a failed write: a
// second is quick next to DefaultGiveUp and slow enough not to hammer a
// failing Redis.
const writeBackoff = time.Second

// Options configure a Consumer.
type Options struct {
	// Name names this machine in the run (name-2, name-3... when taken);
	// its workers' lanes are "NAME:gw0"...
	Name string
	// Workers is the number of this machine's workers: it leases more work
	// when it holds fewer tests than that.
	Workers int
	// LeaseTTL is how long leases outlive the last heartbeat; 0 means
	// DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Poll is how often an idle machine asks for work; 0 means
	// DefaultPoll.
	Poll time.Duration
	// GiveUp is how long the store may fail before this machine gives up
	// on the queue; 0 means DefaultGiveUp.
	GiveUp time.Duration
	// Herd is herd's version, stored with the run.
	Herd string
	// Notef, when set, receives one-line notes: a machine's leases taken
	// back, Redis not answering.
	Notef func(format string, args ...any)
}

// MismatchError means this machine collected other tests than the run
// holds: machines must collect the same tests (same checkout, same
// arguments).
type MismatchError struct{ Msg string }

func (e *MismatchError) Error() string { return e.Msg }

// LostError means the store stopped answering for longer than
// Options.GiveUp while this machine ran: its results may be missing.
type LostError struct{ Err error }

func (e *LostError) Error() string {
	return "lost the queue: " + e.Err.Error()
}

func (e *LostError) Unwrap() error { return e.Err }

// Where a test is, as this machine knows it.
const (
	unknown   = iota // not leased here
	mine             // leased here
	elsewhere        // another machine has it, or the run is over
)

// lease is an item leased by this machine.
type lease struct {
	raw  string
	item Item
	// plan hands out the item's tests; idx maps its indices to the run's,
	// pols are the tests' policies in plan order.
	plan *schedule.Plan
	idx  []int
	pos  map[int]int
	pols []schedule.Policy
	// open counts the tests that have neither a result sent nor been given
	// back; back lists those given back.
	open int
	back []string
	// started is set once a test was handed out.
	started bool
}

// Consumer is this machine's part of a queue run: its Start is the
// dispatcher's run.Config.Queue hook and returns the Consumer as the run's
// run.Source, and its Handle is a result.Sink that sends this machine's
// results, warnings and worker deaths to the store. Close ends it.
type Consumer struct {
	ctx    context.Context
	cancel context.CancelFunc
	store  Store
	opts   Options

	// Set by Start.
	tests     []protocol.TestInfo
	pols      []schedule.Policy
	durations map[string]time.Duration
	byID      map[string]int
	name      string
	meta      Meta
	seeded    bool
	wake      func()
	started   atomic.Bool

	mu       sync.Mutex
	where    []int
	owner    []*lease
	items    []*lease
	slotItem map[int]*lease
	// handed holds, per worker slot, the tests handed out and not
	// finished; busyUntil is when they are expected to end, by their
	// recorded durations.
	handed    map[int]map[int]bool
	busyUntil map[int]time.Time
	elsewhere []int
	// held counts the copies of each item this machine leased and has not
	// yet removed from its lease list.
	held     map[string]int
	complete bool
	stopped  bool
	lost     error
	kick     chan struct{}

	wmu      sync.Mutex
	ops      []Op
	inflight bool
	won      map[string]bool
	wsig     chan struct{}

	// lastOK is when the store last answered (unix nanoseconds);
	// downNoted is set while a failure was noted and not yet recovered.
	lastOK    atomic.Int64
	downNoted atomic.Bool

	// Used by Handle only (the dispatcher's goroutine).
	run      *result.Run
	warnSent int
	heldWarn []result.Warning
	running  map[string]bool
	given    map[string]bool
	record   machineRecord

	wg sync.WaitGroup
}

// NewConsumer returns a consumer of the run in store. ctx bounds its
// background work; Close ends it.
func NewConsumer(ctx context.Context, store Store, opts Options) *Consumer {
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.GiveUp <= 0 {
		opts.GiveUp = DefaultGiveUp
	}
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Consumer{
		ctx:       ctx,
		cancel:    cancel,
		store:     store,
		opts:      opts,
		slotItem:  map[int]*lease{},
		handed:    map[int]map[int]bool{},
		busyUntil: map[int]time.Time{},
		held:      map[string]int{},
		kick:      make(chan struct{}, 1),
		wsig:      make(chan struct{}, 1),
		won:       map[string]bool{},
		running:   map[string]bool{},
		given:     map[string]bool{},
	}
	c.lastOK.Store(time.Now().UnixNano())
	return c
}

// Start joins the run, seeding it when this machine is the first: it is
// the dispatcher's Queue hook, called once after collection. It returns a
// *MismatchError when this machine collected other tests than the run
// holds.
func (c *Consumer) Start(tests []protocol.TestInfo, pols []schedule.Policy, durations map[string]time.Duration, wake func()) (run.Source, error) {
	c.tests, c.pols, c.durations, c.wake = tests, pols, durations, wake
	c.byID = make(map[string]int, len(tests))
	ids := make([]string, len(tests))
	for i, t := range tests {
		c.byID[t.ID] = i
		ids[i] = t.ID
	}
	c.where = make([]int, len(tests))
	c.owner = make([]*lease, len(tests))

	name, err := c.store.Register(c.ctx, c.opts.Name, c.opts.LeaseTTL)
	if err != nil {
		return nil, err
	}
	c.name = name
	items := BuildItems(tests, pols, durations)
	raws := make([]string, len(items))
	for k, it := range items {
		raws[k] = itemJSON(it)
	}
	want := Meta{Version: SchemaVersion, Fingerprint: Fingerprint(ids), Total: len(tests), Items: len(items),
		SeededBy: name, Created: time.Now(), Herd: c.opts.Herd}
	seeded, meta, err := c.store.Seed(c.ctx, want, ids, raws)
	if err != nil {
		c.store.Unregister(c.ctx, name)
		return nil, err
	}
	if !seeded {
		if err := c.checkSame(meta, ids); err != nil {
			c.store.Unregister(c.ctx, name)
			return nil, err
		}
	}
	c.seeded, c.meta = seeded, meta
	c.started.Store(true)
	c.wg.Add(3)
	go c.heartbeats()
	go c.writer()
	go c.leaser()
	return c, nil
}

// checkSame returns a *MismatchError unless the run holds the tests this
// machine collected.
func (c *Consumer) checkSame(m Meta, ids []string) error {
	if m.Version != SchemaVersion {
		return &MismatchError{Msg: fmt.Sprintf("the run was seeded by herd %s with queue schema %d; this herd uses %d",
			m.Herd, m.Version, SchemaVersion)}
	}
	if m.Fingerprint == Fingerprint(ids) {
		return nil
	}
	msg := fmt.Sprintf("this machine collected %d tests, but the run (seeded by %s) holds %d other ones", len(ids), m.SeededBy, m.Total)
	if snap, err := c.store.Snapshot(c.ctx, true); err == nil && snap != nil {
		theirs := map[string]bool{}
		for _, id := range snap.NodeIDs {
			theirs[id] = true
		}
		ours := map[string]bool{}
		var onlyHere []string
		for _, id := range ids {
			ours[id] = true
			if !theirs[id] {
				onlyHere = append(onlyHere, id)
			}
		}
		var onlyThere []string
		for _, id := range snap.NodeIDs {
			if !ours[id] {
				onlyThere = append(onlyThere, id)
			}
		}
		msg = fmt.Sprintf("this machine collected %d tests, the run (seeded by %s) holds %d: %d only here, %d only in the run",
			len(ids), m.SeededBy, m.Total, len(onlyHere), len(onlyThere))
		switch {
		case len(onlyHere) > 0:
			msg += " (such as " + onlyHere[0] + " here)"
		case len(onlyThere) > 0:
			msg += " (such as " + onlyThere[0] + " in the run)"
		}
	}
	return &MismatchError{Msg: msg + "; every machine must collect the same tests (same checkout, same arguments), and a run id is for one run only"}
}

// Name returns this machine's name in the run (empty before Start).
func (c *Consumer) Name() string { return c.name }

// Seeded reports whether this machine seeded the run, and the run's meta.
func (c *Consumer) Seeded() (bool, Meta) { return c.seeded, c.meta }

// Next implements run.Source: a fresh worker takes an isolated test first;
// a worker goes on with the item it worked on, then takes an item no
// worker started, then the rest of any item; exclusive items go out only
// when nothing else is left on this machine (exclusive is per machine).
func (c *Consumer) Next(slot int, accept func(int) bool, fresh, quiet bool) schedule.Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.kickIfLowLocked()
	try := func(l *lease) (schedule.Batch, bool) {
		if l.plan.Remaining() == 0 {
			return schedule.Batch{}, false
		}
		var acc func(int) bool
		if accept != nil {
			acc = func(k int) bool { return accept(l.idx[k]) }
		}
		b := l.plan.Next(slot, acc, fresh, quiet)
		if len(b.Tests) == 0 {
			return b, false
		}
		out := make([]int, len(b.Tests))
		for k, j := range b.Tests {
			out[k] = l.idx[j]
		}
		b.Tests = out
		l.started = true
		c.slotItem[slot] = l
		c.handedLocked(slot, out)
		return b, true
	}
	plain := func(l *lease) bool { return l.item.Kind == KindNormal || l.item.Kind == KindGroup }
	if fresh {
		for _, l := range c.items {
			if l.item.Kind == KindIsolated {
				if b, ok := try(l); ok {
					return b
				}
			}
		}
	}
	if l := c.slotItem[slot]; l != nil && plain(l) {
		if b, ok := try(l); ok {
			return b
		}
	}
	for _, l := range c.items {
		if plain(l) && !l.started {
			if b, ok := try(l); ok {
				return b
			}
		}
	}
	for _, l := range c.items {
		if plain(l) {
			if b, ok := try(l); ok {
				return b
			}
		}
	}
	for _, l := range c.items {
		if l.item.Kind == KindIsolated {
			if b, ok := try(l); ok || b.Recycle {
				return b
			}
		}
	}
	if c.remainingLocked(false) == 0 {
		for _, l := range c.items {
			if l.item.Kind == KindExclusive {
				if b, ok := try(l); ok {
					return b
				}
			}
		}
	}
	return schedule.Batch{}
}

// Finished implements run.Source.
func (c *Consumer) Finished(slot, i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.ownerLocked(i); l != nil {
		l.plan.Finished(slot, l.pos[i])
	}
	c.backLocked(slot, i)
	c.kickIfLowLocked()
}

// Requeue implements run.Source.
func (c *Consumer) Requeue(slot int, ix []int, pols []schedule.Policy) {
	c.mu.Lock()
	defer c.mu.Unlock()
	back := map[*lease][]int{}
	var order []*lease
	for _, i := range ix {
		l := c.ownerLocked(i)
		if l == nil {
			continue
		}
		if _, ok := back[l]; !ok {
			order = append(order, l)
		}
		back[l] = append(back[l], l.pos[i])
		c.backLocked(slot, i)
	}
	for _, l := range order {
		l.plan.Requeue(slot, back[l], l.pols)
	}
}

// Remaining implements run.Source: the tests leased here and not handed
// out.
func (c *Consumer) Remaining() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remainingLocked(true)
}

// Isolated implements run.Source.
func (c *Consumer) Isolated() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.items {
		n += l.plan.Isolated()
	}
	return n
}

// Drain implements run.Source: this machine's run stops (Ctrl-C, -x), so
// it leases nothing more; the tests it held and had not handed out end as
// not_run here, and go back to the queue for other machines.
func (c *Consumer) Drain() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	var out []int
	for _, l := range c.items {
		for _, k := range l.plan.Drain() {
			out = append(out, l.idx[k])
		}
	}
	c.kickLocked()
	return out
}

// Open implements run.Source: more tests may come while the run is not
// complete (another machine may still die and leave its tests).
func (c *Consumer) Open() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.complete && !c.stopped && c.lost == nil
}

// Elsewhere implements run.Source.
func (c *Consumer) Elsewhere() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.elsewhere
	c.elsewhere = nil
	return out
}

// Complete reports whether every test of the run has a result.
func (c *Consumer) Complete() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.complete
}

// Lost returns a *LostError when this machine gave up on the store.
func (c *Consumer) Lost() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lost
}

func (c *Consumer) ownerLocked(i int) *lease {
	if i < 0 || i >= len(c.owner) {
		return nil
	}
	return c.owner[i]
}

// remainingLocked counts the leased tests not handed out, those of
// exclusive items only when withExclusive.
func (c *Consumer) remainingLocked(withExclusive bool) int {
	n := 0
	for _, l := range c.items {
		if l.item.Kind == KindExclusive && !withExclusive {
			continue
		}
		n += l.plan.Remaining()
	}
	return n
}

// handedLocked records that tests ix went to slot.
func (c *Consumer) handedLocked(slot int, ix []int) {
	m := c.handed[slot]
	if m == nil {
		m = map[int]bool{}
		c.handed[slot] = m
	}
	var cost time.Duration
	for _, i := range ix {
		m[i] = true
		cost += c.durations[c.tests[i].ID]
	}
	now := time.Now()
	c.busyUntil[slot] = later(now, c.busyUntil[slot]).Add(cost)
}

// backLocked records that test i, handed to slot, ended or came back.
func (c *Consumer) backLocked(slot, i int) {
	m := c.handed[slot]
	delete(m, i)
	if len(m) == 0 {
		c.busyUntil[slot] = time.Now()
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// demandLocked counts the workers that need work soon: those holding no
// test, and those due to finish theirs within prefetchHorizon (tests
// without a recorded duration count as quick).
func (c *Consumer) demandLocked() int {
	now := time.Now()
	n := 0
	for s := 0; s < c.opts.Workers; s++ {
		if len(c.handed[s]) == 0 || c.busyUntil[s].Sub(now) <= prefetchHorizon {
			n++
		}
	}
	return n
}

// wantMoreLocked reports whether to lease another item: this machine
// holds fewer tests than workers need soon, and no exclusive item waits
// for it to go quiet (more work would only delay the exclusive tests).
func (c *Consumer) wantMoreLocked() bool {
	if c.complete || c.stopped || c.lost != nil {
		return false
	}
	for _, l := range c.items {
		if l.item.Kind == KindExclusive && l.plan.Remaining() > 0 {
			return false
		}
	}
	return c.remainingLocked(true) < c.demandLocked()
}

func (c *Consumer) kickIfLowLocked() {
	if c.wantMoreLocked() {
		c.kickLocked()
	}
}

func (c *Consumer) kickLocked() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}
