// Package warm keeps pytest workers started ahead of a run, held before
// collection, for herd watch: the next round's workers start while the
// user edits, and a round takes them instead of starting its own.
//
// A held worker is configured (interpreter started, pytest and its plugins
// imported, ini files and the first conftests read, pytest_configure and
// pytest_sessionstart run) and waits (protocol.EnvHold). A run takes it
// through the Starter that Pool.Starter returns: the worker is resumed,
// checks whether a project file it imported changed on disk since it
// started, and either goes on, its messages so far replayed to the run as
// if it had just started, or exits, and a fresh process takes its place.
// A pytest session runs once: a worker is held once and used by one run.
package warm

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/worker"
)

// ResumeTimeout bounds the wait for a held worker's answer to resume. The
// answer takes a few stats once the worker holds; a worker resumed while
// still starting answers once started, which is the time a cold start
// would take anyway. Past this the worker is replaced: a start that takes
// longer than a minute is stuck (worker.HandshakeTimeout says the same).
const ResumeTimeout = worker.HandshakeTimeout

// exitWait bounds the wait for a discarded worker's end after its kill:
// SIGKILL ends it at once, and a run started before it ended could take
// it for an orphan of its own.
const exitWait = 5 * time.Second

// perRun reports whether the environment entry e is one that differs from
// run to run and not in what the workers do with the suite: a held worker
// keeps those of the run it was started after.
func perRun(e string) bool {
	k, _, _ := strings.Cut(e, "=")
	switch k {
	case "PYTEST_XDIST_TESTRUNUID", "HERD_RUN_SEED", "HERD_BASETEMP":
		return true
	}
	return false
}

// Stats count what happened to held workers in the runs since the last
// call of Pool.Stats.
type Stats struct {
	// Warm counts the held workers a run took.
	Warm int
	// Replaced counts those replaced because an import changed, and Stale
	// lists the changed files (relative to the rootdir).
	Replaced int
	Stale    []string
	// Cold counts the processes started without a held worker (none held
	// for the slot, a respawn, other arguments).
	Cold int
}

// Pool holds workers for the next run. Its methods may be called from any
// goroutine.
type Pool struct {
	ctx  context.Context
	boot string

	mu    sync.Mutex
	base  *worker.ProcessStarter
	slots int
	held  map[int]*held
	stats Stats
}

// New makes an empty pool; its workers end when ctx is done or Close is
// called. boot is the boot script its workers run (pyworker.Install): one
// that outlives the runs, whose own copy goes with each.
func New(ctx context.Context, boot string) *Pool {
	return &Pool{ctx: ctx, boot: boot, held: map[int]*held{}}
}

// Starter returns the starter a run uses in place of base: it hands out
// the workers held for base's spec, slot by slot, and starts the others
// through base. The pool remembers base to fill itself for the next run
// when fill is true (a run with the usual arguments), for slots slots.
func (p *Pool) Starter(base *worker.ProcessStarter, slots int, fill bool) worker.Starter {
	if fill {
		p.mu.Lock()
		p.base, p.slots = base, slots
		p.mu.Unlock()
	}
	return &starter{pool: p, base: base}
}

// Fill starts a held worker for each slot that has none, with the spec of
// the last run that asked for it (see Starter).
func (p *Pool) Fill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.base == nil || p.ctx.Err() != nil {
		return
	}
	for slot := 0; slot < p.slots; slot++ {
		if p.held[slot] != nil {
			continue
		}
		h, err := startHeld(p.ctx, p.base, p.boot, slot)
		if err != nil {
			// The run will start this slot's worker itself, and say why
			// it cannot.
			continue
		}
		p.held[slot] = h
	}
}

// Stats returns what happened to held workers since the last call.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	p.stats = Stats{}
	return s
}

// Holds reports whether pid is a worker the pool holds (or the group of
// one: what it started): a run's orphan scan must leave those alone.
func (p *Pool) Holds(pid int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.held {
		if h.proc.PID() == pid {
			return true
		}
	}
	return false
}

// Close ends every held worker and waits for their end.
func (p *Pool) Close() {
	p.mu.Lock()
	all := p.held
	p.held = map[int]*held{}
	p.mu.Unlock()
	for _, h := range all {
		h.discard()
	}
}

// take removes and returns the worker held for slot, if it was started
// with the spec base would start it with; one started otherwise is ended
// (before the run's orphan scan could find it).
func (p *Pool) take(base *worker.ProcessStarter, slot int) *held {
	p.mu.Lock()
	h := p.held[slot]
	delete(p.held, slot)
	p.mu.Unlock()
	if h == nil {
		return nil
	}
	if !sameSpec(h.spec, h.env, base, slot) {
		h.discard()
		return nil
	}
	return h
}

func (p *Pool) count(f func(*Stats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

// starter is one run's Starter in front of the pool.
type starter struct {
	pool *Pool
	base *worker.ProcessStarter
}

// Start implements worker.Starter: the held worker of the slot, resumed,
// or else a process base starts.
func (s *starter) Start(ctx context.Context, slot, gen int, events chan<- worker.Event) (worker.Handle, error) {
	if h := s.pool.take(s.base, slot); h != nil {
		stale, ok := h.resume()
		if ok {
			h.attach(ctx, slot, gen, events)
			s.pool.count(func(st *Stats) { st.Warm++ })
			return h.proc, nil
		}
		h.discard()
		s.pool.count(func(st *Stats) {
			st.Replaced++
			for _, f := range stale {
				if !slices.Contains(st.Stale, f) {
					st.Stale = append(st.Stale, f)
				}
			}
		})
	} else {
		s.pool.count(func(st *Stats) { st.Cold++ })
	}
	return s.base.Start(ctx, slot, gen, events)
}

// sameSpec reports whether a worker started with spec and env is the one
// base would start for slot, but for the per-run variables (perRun) and
// the copy of the boot script.
func sameSpec(spec worker.Spec, env []string, base *worker.ProcessStarter, slot int) bool {
	if spec.Python != base.Spec.Python || spec.Dir != base.Spec.Dir || spec.LiveOnMark != base.Spec.LiveOnMark ||
		!slices.Equal(spec.Args, base.Spec.Args) {
		return false
	}
	want := append([]string(nil), base.Spec.Env...)
	if base.SlotEnv != nil {
		want = append(want, base.SlotEnv(slot)...)
	}
	return slices.Equal(stable(env), stable(want))
}

// stable is env without the per-run variables.
func stable(env []string) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		if !perRun(e) {
			out = append(out, e)
		}
	}
	return out
}

// held is one worker started ahead. Its forwarder goroutine keeps the
// worker's events until a run takes it, then hands them to the run.
type held struct {
	proc *worker.Proc
	spec worker.Spec
	env  []string

	events   chan worker.Event
	attachCh chan attachment
	resumed  chan []string
	unfit    chan struct{} // closed when it sent what a held worker does not
	exited   chan struct{} // closed at its Exit
	dropped  chan struct{} // closed when it is discarded
	dropOnce sync.Once
}

type attachment struct {
	ctx       context.Context
	slot, gen int
	out       chan<- worker.Event
}

// startHeld starts base's worker for slot, held (protocol.EnvHold), its
// output not passed on: a round's summary does not show it.
func startHeld(ctx context.Context, base *worker.ProcessStarter, boot string, slot int) (*held, error) {
	spec := base.Spec
	spec.Boot = boot
	spec.LiveStdout, spec.LiveStderr = nil, nil
	env := append([]string(nil), spec.Env...)
	if base.SlotEnv != nil {
		env = append(env, base.SlotEnv(slot)...)
	}
	h := &held{
		spec: spec, env: env,
		// Room for everything a worker sends before it holds, so that
		// it never waits for the forwarder.
		events:   make(chan worker.Event, 64),
		attachCh: make(chan attachment, 1),
		resumed:  make(chan []string, 1),
		unfit:    make(chan struct{}),
		exited:   make(chan struct{}),
		dropped:  make(chan struct{}),
	}
	proc, err := worker.Start(ctx, spec, append(append([]string(nil), env...), protocol.EnvHold+"=1"), slot, 0, h.events)
	if err != nil {
		return nil, err
	}
	h.proc = proc
	go h.forward(ctx)
	return h, nil
}

// resume ends the worker's hold and waits for its answer: ok when it goes
// on, else the changed files that made it exit (none when it died, sent
// something unexpected, or did not answer in time).
func (h *held) resume() (stale []string, ok bool) {
	select {
	case <-h.unfit:
		return nil, false
	case <-h.exited:
		return nil, false
	default:
	}
	h.proc.Send(protocol.Command{Type: protocol.CmdResume})
	timer := time.NewTimer(ResumeTimeout)
	defer timer.Stop()
	select {
	case stale := <-h.resumed:
		return stale, len(stale) == 0
	case <-h.unfit:
	case <-h.exited:
	case <-timer.C:
	}
	return nil, false
}

// attach hands the worker to a run: its events so far, then every later
// one, go to out as those of slot and gen.
func (h *held) attach(ctx context.Context, slot, gen int, out chan<- worker.Event) {
	h.attachCh <- attachment{ctx: ctx, slot: slot, gen: gen, out: out}
}

// discard kills the worker and waits (briefly) for its end.
func (h *held) discard() {
	h.dropOnce.Do(func() { close(h.dropped) })
	select {
	case <-h.exited:
		return
	default:
	}
	h.proc.KillNow()
	select {
	case <-h.exited:
	case <-time.After(exitWait):
	}
}

// beforeHold reports whether a worker sends a message of type t before it
// holds; any other (a request for workerinput, which waits for an answer)
// makes it unfit.
func beforeHold(t string) bool {
	return t == protocol.TypeHello || t == protocol.TypeSession || t == protocol.TypeWarning
}

// forward owns the worker's events: kept until attach, handed to the run
// after, dropped once discarded. It ends at the worker's Exit.
func (h *held) forward(ctx context.Context) {
	var buf []worker.Event
	var to *attachment
	isHeld, unfit := false, false
	send := func(ev worker.Event) {
		ev.Slot, ev.Gen = to.slot, to.gen
		select {
		case to.out <- ev:
		case <-to.ctx.Done():
		}
	}
	for {
		select {
		case a := <-h.attachCh:
			to = &a
			for _, ev := range buf {
				send(ev)
			}
			buf = nil
			continue
		case ev := <-h.events:
			msgs := ev.Msgs
			if ev.Msg != nil {
				msgs = []*protocol.Message{ev.Msg}
			}
			kept := msgs[:0:0]
			for _, m := range msgs {
				switch {
				case m.Type == protocol.TypeHeld:
					isHeld = true
					continue
				case m.Type == protocol.TypeResumed:
					select {
					case h.resumed <- append([]string{}, m.IDs...):
					default:
					}
					continue
				case !isHeld && !beforeHold(m.Type) && !unfit:
					unfit = true
					close(h.unfit)
				}
				kept = append(kept, m)
			}
			if ev.Msg != nil || ev.Msgs != nil {
				if len(kept) == 0 {
					continue
				}
				ev.Msg, ev.Msgs = nil, kept
				if len(kept) == 1 {
					ev.Msg, ev.Msgs = kept[0], nil
				}
			}
			select {
			case <-h.dropped:
			default:
				if to != nil {
					send(ev)
				} else {
					buf = append(buf, ev)
				}
			}
			if ev.Exit != nil {
				close(h.exited)
				if to == nil {
					// It ended before the run took it (it answered resume
					// and finished at once): what it sent still goes to
					// the run that attaches, unless it is discarded.
					select {
					case a := <-h.attachCh:
						to = &a
						for _, ev := range buf {
							send(ev)
						}
					case <-h.dropped:
					case <-ctx.Done():
					}
				}
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
