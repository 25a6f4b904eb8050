package schedule_test

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"testing"

	"github.com/herd-run/herd/internal/schedule"
)

// Test states in the simulation.
const (
	simPending = iota
	simHanded
	simFinished
)

// simSlot is one worker slot as the simulation drives it.
type simSlot struct {
	// held are the tests handed to the slot and not finished, in the order
	// the worker runs them (held[0] is running).
	held []int
	// ran says the slot's current process finished a test: it is not fresh.
	ran bool
	// isolated says the current process got an isolated test: it asks for
	// nothing more and is replaced once that test ends.
	isolated bool
}

func (s *simSlot) fresh() bool { return !s.ran && len(s.held) == 0 }

// replace gives the slot a new process.
func (s *simSlot) replace() { s.ran, s.isolated = false, false }

// planSim drives a Plan like the dispatcher does, with random timing, and
// checks the policies' promises after every step.
type planSim struct {
	t       *testing.T
	rng     *rand.Rand
	plan    *schedule.Plan
	pols    []schedule.Policy
	slots   []*simSlot
	state   []int
	handed  []int // times each test was handed out
	finish  []int // times each test ended
	requeue []int // times each test was given back
	deaths  float64
	steps   int
}

func newPlanSim(t *testing.T, rng *rand.Rand, tests []schedule.Test, pols []schedule.Policy, workers int, deaths float64) *planSim {
	s := &planSim{
		t: t, rng: rng, pols: pols, deaths: deaths,
		plan:    schedule.NewPlan(tests, pols, workers),
		state:   make([]int, len(tests)),
		handed:  make([]int, len(tests)),
		finish:  make([]int, len(tests)),
		requeue: make([]int, len(tests)),
	}
	for w := 0; w < workers; w++ {
		s.slots = append(s.slots, &simSlot{})
	}
	return s
}

func (s *planSim) count(st int, kinds ...schedule.Kind) int {
	n := 0
	for i, x := range s.state {
		if x != st {
			continue
		}
		if len(kinds) == 0 {
			n++
			continue
		}
		for _, k := range kinds {
			if s.pols[i].Kind == k {
				n++
				break
			}
		}
	}
	return n
}

func (s *planSim) quiet() bool { return s.count(simHanded) == 0 }

// holders returns the slots holding unfinished members of group g.
func (s *planSim) holders(g string) map[int]bool {
	out := map[int]bool{}
	for w, sl := range s.slots {
		for _, i := range sl.held {
			if s.pols[i].Kind == schedule.Group && s.pols[i].Group == g {
				out[w] = true
			}
		}
	}
	return out
}

func limitOf(p schedule.Policy) int {
	if p.Limit < 1 {
		return 1
	}
	return p.Limit
}

// ask makes slot w ask for work; it reports whether anything changed.
func (s *planSim) ask(w int) bool {
	t := s.t
	sl := s.slots[w]
	fresh, quiet := sl.fresh(), s.quiet()
	pendIso := s.count(simPending, schedule.Isolated)
	pendExcl := s.count(simPending, schedule.Exclusive)
	pendOther := s.count(simPending) - pendExcl
	b := s.plan.Next(w, nil, fresh, quiet)
	where := fmt.Sprintf("step %d, slot %d (fresh %v, quiet %v)", s.steps, w, fresh, quiet)

	if fresh && pendIso > 0 && (b.Kind != schedule.Isolated || len(b.Tests) != 1) {
		t.Fatalf("%s: a fresh worker with %d isolated tests pending got %+v, want one isolated test", where, pendIso, b)
	}
	if quiet && pendOther == 0 && pendExcl > 0 && b.Kind != schedule.Exclusive {
		t.Fatalf("%s: only exclusive tests are left and nothing runs, but the worker got %+v", where, b)
	}
	if b.Recycle {
		if len(b.Tests) > 0 {
			t.Fatalf("%s: Recycle with tests %v", where, b.Tests)
		}
		if fresh {
			t.Fatalf("%s: Recycle for a fresh worker", where)
		}
		if pendIso == 0 {
			t.Fatalf("%s: Recycle with no isolated test left", where)
		}
		if n := s.count(simPending, schedule.Normal); n > 0 {
			t.Fatalf("%s: Recycle while %d normal tests are pending", where, n)
		}
		if len(sl.held) == 0 {
			sl.replace()
			return true
		}
		return false
	}
	if len(b.Tests) == 0 {
		if pendIso > 0 {
			// A fresh worker takes an isolated test; a used one is told to
			// make room for a fresh process.
			t.Fatalf("%s: neither work nor Recycle with %d isolated tests pending", where, pendIso)
		}
		if n := s.count(simPending, schedule.Normal); n > 0 {
			t.Fatalf("%s: nothing for a worker while %d normal tests are pending", where, n)
		}
		return false
	}
	for _, i := range b.Tests {
		if i < 0 || i >= len(s.state) {
			t.Fatalf("%s: test index %d out of range", where, i)
		}
		if s.state[i] != simPending {
			t.Fatalf("%s: test %d handed out again (state %d)", where, i, s.state[i])
		}
		if s.pols[i].Kind != b.Kind {
			t.Fatalf("%s: test %d (%v) in a %v batch", where, i, s.pols[i].Kind, b.Kind)
		}
		s.state[i] = simHanded
		s.handed[i]++
	}
	sl.held = append(sl.held, b.Tests...)
	switch b.Kind {
	case schedule.Isolated:
		if !fresh {
			t.Fatalf("%s: isolated test %v to a worker that is not fresh", where, b.Tests)
		}
		if len(b.Tests) != 1 {
			t.Fatalf("%s: isolated batch %v, want one test", where, b.Tests)
		}
		sl.isolated = true
	case schedule.Group:
		if len(b.Tests) != 1 {
			t.Fatalf("%s: group batch %v, want one test", where, b.Tests)
		}
		p := s.pols[b.Tests[0]]
		if h := s.holders(p.Group); len(h) > limitOf(p) {
			t.Fatalf("%s: group %s (limit %d) is now on %d slots", where, p.Group, limitOf(p), len(h))
		}
	case schedule.Exclusive:
		if !quiet {
			t.Fatalf("%s: exclusive tests %v handed out while tests were out", where, b.Tests)
		}
		if pendOther > 0 {
			t.Fatalf("%s: exclusive tests %v handed out while %d other tests were pending", where, b.Tests, pendOther)
		}
		if len(b.Tests) != pendExcl {
			t.Fatalf("%s: exclusive batch has %d tests, %d were pending: want them all in one batch", where, len(b.Tests), pendExcl)
		}
		for _, o := range s.slots {
			if o != sl && len(o.held) > 0 {
				t.Fatalf("%s: exclusive batch beside held tests %v", where, o.held)
			}
		}
	}
	return true
}

// finishFirst ends the test slot w runs.
func (s *planSim) finishFirst(w int) {
	sl := s.slots[w]
	i := sl.held[0]
	sl.held = sl.held[1:]
	s.state[i] = simFinished
	s.finish[i]++
	sl.ran = true
	s.plan.Finished(w, i)
	if sl.isolated && len(sl.held) == 0 {
		sl.replace()
	}
}

// die kills slot w's process: its running test ends (crashed) and the rest
// go back; or, when started is false, it died before starting any and all
// of them go back.
func (s *planSim) die(w int, started bool) {
	sl := s.slots[w]
	if started {
		s.finishFirst(w)
	}
	back := sl.held
	sl.held = nil
	for _, i := range back {
		s.state[i] = simPending
		s.requeue[i]++
	}
	if len(back) > 0 {
		s.plan.Requeue(w, back, s.pols)
	}
	sl.replace()
}

func (s *planSim) run() {
	t := s.t
	idle := 0
	for s.count(simFinished) < len(s.state) {
		s.steps++
		if s.steps > 200000 {
			t.Fatalf("no end after %d steps: %d pending, %d handed out", s.steps, s.count(simPending), s.count(simHanded))
		}
		if got, want := s.plan.Remaining(), s.count(simPending); got != want {
			t.Fatalf("step %d: Remaining() = %d, %d tests are pending", s.steps, got, want)
		}
		var holding, asking []int
		for w, sl := range s.slots {
			if len(sl.held) > 0 {
				holding = append(holding, w)
			}
			if !sl.isolated {
				asking = append(asking, w)
			}
		}
		r := s.rng.Float64()
		switch {
		case len(holding) > 0 && (r < 0.4 || len(asking) == 0):
			s.finishFirst(holding[s.rng.Intn(len(holding))])
			idle = 0
		case len(holding) > 0 && r < 0.4+s.deaths:
			s.die(holding[s.rng.Intn(len(holding))], s.rng.Intn(2) == 0)
			idle = 0
		default:
			if s.ask(asking[s.rng.Intn(len(asking))]) {
				idle = 0
			} else if idle++; idle > 200 && len(holding) == 0 {
				t.Fatalf("stuck at step %d: nothing runs, %d tests pending, no worker gets any", s.steps, s.count(simPending))
			}
		}
	}
	if n := s.plan.Remaining(); n != 0 {
		t.Errorf("Remaining() = %d after every test ended", n)
	}
	if d := s.plan.Drain(); len(d) != 0 {
		t.Errorf("Drain() = %v after every test ended", d)
	}
	for i := range s.state {
		if s.finish[i] != 1 {
			t.Errorf("test %d (%v) ended %d times", i, s.pols[i].Kind, s.finish[i])
		}
		if s.handed[i] != 1+s.requeue[i] {
			t.Errorf("test %d (%v) handed out %d times, given back %d times", i, s.pols[i].Kind, s.handed[i], s.requeue[i])
		}
	}
}

// randomPolicies returns n tests over a few modules with random policies.
// Members of one group share its limit, as configuration gives them.
func randomPolicies(rng *rand.Rand, n int) ([]schedule.Test, []schedule.Policy) {
	limits := map[string]int{"a": rng.Intn(2), "b": 1 + rng.Intn(3), "c": 2 + rng.Intn(3)}
	names := []string{"a", "b", "c"}
	mods := 1 + rng.Intn(5)
	var tests []schedule.Test
	var pols []schedule.Policy
	for i := 0; i < n; i++ {
		tests = append(tests, schedule.Test{ID: fmt.Sprintf("mod%d.py::t%d", rng.Intn(mods), i)})
		var p schedule.Policy
		switch r := rng.Float64(); {
		case r < 0.4:
		case r < 0.65:
			g := names[rng.Intn(len(names))]
			p = schedule.Policy{Kind: schedule.Group, Group: g, Limit: limits[g]}
		case r < 0.8:
			p = schedule.Policy{Kind: schedule.Isolated}
		default:
			p = schedule.Policy{Kind: schedule.Exclusive}
		}
		pols = append(pols, p)
	}
	// Tests of one module are collected together.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return moduleOf(tests[idx[a]].ID) < moduleOf(tests[idx[b]].ID) })
	st := make([]schedule.Test, n)
	sp := make([]schedule.Policy, n)
	for k, i := range idx {
		st[k], sp[k] = tests[i], pols[i]
	}
	return st, sp
}

// TestPolicyPlanRandom drives plans over random mixes of policies and
// workers and checks, after every step, that every test is handed out once,
// groups stay within their limits, isolated tests go only to fresh workers
// and exclusive tests go out together only when nothing else is left or
// running.
func TestPolicyPlanRandom(t *testing.T) {
	t.Parallel()
	for seed := int64(1); seed <= 400; seed++ {
		rng := rand.New(rand.NewSource(seed))
		n := rng.Intn(40)
		workers := 1 + rng.Intn(5)
		tests, pols := randomPolicies(rng, n)
		deaths := 0.0
		if seed%2 == 0 {
			deaths = 0.05
		}
		t.Run(fmt.Sprintf("seed%d_n%d_w%d_deaths%v", seed, n, workers, deaths > 0), func(t *testing.T) {
			sim := newPlanSim(t, rng, tests, pols, workers, deaths)
			sim.run()
			if deaths == 0 {
				for i, h := range sim.handed {
					if h != 1 {
						t.Errorf("test %d handed out %d times without deaths", i, h)
					}
				}
			}
		})
	}
}

func pol(k schedule.Kind) schedule.Policy { return schedule.Policy{Kind: k} }

func grp(name string, limit int) schedule.Policy {
	return schedule.Policy{Kind: schedule.Group, Group: name, Limit: limit}
}

func tests(n int) []schedule.Test {
	var ts []schedule.Test
	for i := 0; i < n; i++ {
		ts = append(ts, schedule.Test{ID: fmt.Sprintf("mod.py::t%d", i)})
	}
	return ts
}

func wantBatch(t *testing.T, what string, got schedule.Batch, kind schedule.Kind, ix ...int) {
	t.Helper()
	if got.Kind != kind || got.Recycle || !reflect.DeepEqual(append([]int(nil), got.Tests...), append([]int(nil), ix...)) {
		t.Fatalf("%s: got %+v, want %v batch %v", what, got, kind, ix)
	}
}

func wantNothing(t *testing.T, what string, got schedule.Batch) {
	t.Helper()
	if len(got.Tests) != 0 || got.Recycle {
		t.Fatalf("%s: got %+v, want nothing", what, got)
	}
}

func TestPolicyGroupLimit(t *testing.T) {
	t.Parallel()
	pols := []schedule.Policy{grp("g", 2), grp("g", 2), grp("g", 2), grp("g", 2), grp("g", 2)}
	p := schedule.NewPlan(tests(5), pols, 4)
	wantBatch(t, "slot 0", p.Next(0, nil, true, true), schedule.Group, 0)
	wantBatch(t, "slot 1", p.Next(1, nil, true, false), schedule.Group, 1)
	wantNothing(t, "slot 2 beyond the limit", p.Next(2, nil, true, false))
	wantNothing(t, "slot 3 beyond the limit", p.Next(3, nil, true, false))
	// A slot that holds a member may take more: the group stays on two
	// slots, and the worker runs them one after the other.
	wantBatch(t, "slot 0 again", p.Next(0, nil, false, false), schedule.Group, 2)
	p.Finished(1, 1)
	wantBatch(t, "slot 2 once slot 1 is done", p.Next(2, nil, false, false), schedule.Group, 3)
	wantNothing(t, "slot 1, its place taken", p.Next(1, nil, false, false))
	p.Finished(0, 0)
	wantNothing(t, "slot 3 while slot 0 still holds one", p.Next(3, nil, false, false))
	p.Finished(0, 2)
	wantBatch(t, "slot 3 once slot 0 is done", p.Next(3, nil, false, false), schedule.Group, 4)
	if n := p.Remaining(); n != 0 {
		t.Errorf("Remaining() = %d, want 0", n)
	}
}

func TestPolicyGroupLimitZeroMeansOne(t *testing.T) {
	t.Parallel()
	pols := []schedule.Policy{grp("g", 0), grp("g", 0), pol(schedule.Normal)}
	p := schedule.NewPlan(tests(3), pols, 2)
	wantBatch(t, "slot 0", p.Next(0, nil, true, true), schedule.Group, 0)
	// Slot 1 gets the normal test, not the second group member.
	wantBatch(t, "slot 1", p.Next(1, nil, true, false), schedule.Normal, 2)
	wantNothing(t, "slot 1 again", p.Next(1, nil, false, false))
	p.Finished(0, 0)
	wantBatch(t, "slot 1 after the first ended", p.Next(1, nil, false, false), schedule.Group, 1)
}

func TestPolicyGroupsAreIndependent(t *testing.T) {
	t.Parallel()
	pols := []schedule.Policy{grp("a", 1), grp("a", 1), grp("b", 1), grp("b", 1)}
	p := schedule.NewPlan(tests(4), pols, 3)
	wantBatch(t, "slot 0", p.Next(0, nil, true, true), schedule.Group, 0)
	wantBatch(t, "slot 1", p.Next(1, nil, true, false), schedule.Group, 2)
	wantNothing(t, "slot 2", p.Next(2, nil, true, false))
}

func TestPolicyIsolatedFreshOnly(t *testing.T) {
	t.Parallel()
	pols := []schedule.Policy{pol(schedule.Normal), pol(schedule.Isolated), pol(schedule.Normal), pol(schedule.Isolated)}
	p := schedule.NewPlan(tests(4), pols, 2)
	// A fresh worker takes an isolated test first, alone.
	wantBatch(t, "fresh slot 0", p.Next(0, nil, true, true), schedule.Isolated, 1)
	// A used worker gets normal tests while there are any.
	b := p.Next(1, nil, false, false)
	if b.Kind != schedule.Normal || len(b.Tests) == 0 || b.Recycle {
		t.Fatalf("used slot 1: got %+v, want normal tests", b)
	}
	for _, i := range b.Tests {
		if pols[i].Kind != schedule.Normal {
			t.Fatalf("used slot 1 got test %d (%v)", i, pols[i].Kind)
		}
	}
	for p.Remaining() > 1 {
		b := p.Next(1, nil, false, false)
		if b.Kind != schedule.Normal || len(b.Tests) == 0 {
			t.Fatalf("used slot 1: got %+v with %d left, want normal tests", b, p.Remaining())
		}
	}
	// Only an isolated test is left: a used worker is told to recycle, and
	// gets no test.
	b = p.Next(1, nil, false, true)
	if !b.Recycle || len(b.Tests) != 0 {
		t.Fatalf("used slot 1 with only isolated tests left: got %+v, want Recycle", b)
	}
	if n := p.Remaining(); n != 1 {
		t.Fatalf("Remaining() = %d after Recycle, want 1", n)
	}
	// Its replacement takes it.
	wantBatch(t, "fresh slot 1", p.Next(1, nil, true, false), schedule.Isolated, 3)
	wantNothing(t, "used slot 0 with nothing left", p.Next(0, nil, false, false))
}

func TestPolicyIsolatedAccept(t *testing.T) {
	t.Parallel()
	pols := []schedule.Policy{pol(schedule.Isolated), pol(schedule.Normal)}
	p := schedule.NewPlan(tests(2), pols, 2)
	noIso := func(i int) bool { return i != 0 }
	// A fresh worker that did not collect the isolated test gets other work.
	wantBatch(t, "fresh slot 0 without test 0", p.Next(0, noIso, true, true), schedule.Normal, 1)
	// ... and no Recycle: a fresh process would not have it either.
	wantNothing(t, "used slot 0 without test 0", p.Next(0, noIso, false, false))
	wantBatch(t, "fresh slot 1", p.Next(1, nil, true, false), schedule.Isolated, 0)
}

func TestPolicyExclusive(t *testing.T) {
	t.Parallel()
	pols := []schedule.Policy{
		pol(schedule.Exclusive), pol(schedule.Normal), pol(schedule.Exclusive),
		grp("g", 1), pol(schedule.Isolated), pol(schedule.Exclusive),
	}
	p := schedule.NewPlan(tests(6), pols, 2)
	// Others first, even when quiet.
	wantBatch(t, "fresh slot 0", p.Next(0, nil, true, true), schedule.Isolated, 4)
	wantBatch(t, "slot 1", p.Next(1, nil, false, false), schedule.Group, 3)
	wantBatch(t, "slot 1 again", p.Next(1, nil, false, false), schedule.Normal, 1)
	// Everything else is out but runs: no exclusive test.
	wantNothing(t, "slot 1 while others run", p.Next(1, nil, false, false))
	p.Finished(0, 4)
	p.Finished(1, 3)
	p.Finished(1, 1)
	// Quiet: all exclusive tests in one batch, in collection order.
	wantBatch(t, "slot 1 when quiet", p.Next(1, nil, false, true), schedule.Exclusive, 0, 2, 5)
	wantNothing(t, "slot 0 after the exclusive batch", p.Next(0, nil, false, false))
	if n := p.Remaining(); n != 0 {
		t.Errorf("Remaining() = %d, want 0", n)
	}
}

func TestPolicyExclusiveWaitsForEveryKind(t *testing.T) {
	t.Parallel()
	for _, other := range []schedule.Policy{pol(schedule.Normal), grp("g", 3), pol(schedule.Isolated)} {
		t.Run(other.Kind.String(), func(t *testing.T) {
			pols := []schedule.Policy{pol(schedule.Exclusive), other}
			p := schedule.NewPlan(tests(2), pols, 2)
			// A worker that did not collect the other test gets no
			// exclusive test while the other is pending (another worker
			// may run it), even when nothing runs.
			b := p.Next(0, func(i int) bool { return i == 0 }, false, true)
			if b.Kind == schedule.Exclusive || (len(b.Tests) > 0 && b.Tests[0] == 0) {
				t.Fatalf("exclusive test handed out while a %v test was pending: %+v", other.Kind, b)
			}
			if b.Recycle && other.Kind == schedule.Isolated {
				t.Fatalf("Recycle for a worker that did not collect the isolated test: %+v", b)
			}
		})
	}
}

func TestPolicyExclusiveAccept(t *testing.T) {
	t.Parallel()
	pols := []schedule.Policy{pol(schedule.Exclusive), pol(schedule.Exclusive), pol(schedule.Exclusive)}
	p := schedule.NewPlan(tests(3), pols, 2)
	// A worker that did not collect test 1 gets the others; test 1 stays
	// for another worker.
	wantBatch(t, "slot 0 without test 1", p.Next(0, func(i int) bool { return i != 1 }, false, true), schedule.Exclusive, 0, 2)
	wantNothing(t, "slot 1 while the batch runs", p.Next(1, nil, false, false))
	p.Finished(0, 0)
	p.Finished(0, 2)
	wantBatch(t, "slot 1 when quiet", p.Next(1, nil, false, true), schedule.Exclusive, 1)
}

func TestPolicyRequeue(t *testing.T) {
	t.Parallel()
	pols := []schedule.Policy{
		pol(schedule.Normal), pol(schedule.Normal),
		grp("g", 1), grp("g", 1),
		pol(schedule.Isolated), pol(schedule.Isolated),
		pol(schedule.Exclusive), pol(schedule.Exclusive),
	}
	ts := tests(8)
	ts[1].ID = "other.py::t1" // its own module, so the normal tests go out one at a time
	p := schedule.NewPlan(ts, pols, 3)

	// Isolated: handed to a fresh worker, given back, handed out again
	// first, to a fresh worker only.
	wantBatch(t, "isolated", p.Next(0, nil, true, true), schedule.Isolated, 4)
	p.Requeue(0, []int{4}, pols)
	if n := p.Remaining(); n != 8 {
		t.Fatalf("Remaining() = %d after requeue, want 8", n)
	}
	wantBatch(t, "isolated again", p.Next(0, nil, true, true), schedule.Isolated, 4)
	p.Requeue(0, []int{4}, pols)

	// Group: the requeue gives the group's room back, so another slot can
	// take the test at once.
	onlyGroup := func(i int) bool { return pols[i].Kind == schedule.Group }
	wantBatch(t, "group", p.Next(1, nil, false, true), schedule.Group, 2)
	wantNothing(t, "slot 2 while the group is full", p.Next(2, onlyGroup, false, false))
	p.Requeue(1, []int{2}, pols)
	wantBatch(t, "group again, on another slot", p.Next(2, onlyGroup, false, true), schedule.Group, 2)
	wantBatch(t, "group, next member, same slot", p.Next(2, onlyGroup, false, false), schedule.Group, 3)
	p.Requeue(2, []int{2, 3}, pols)

	// Normal: given back and handed out again first. (Group members go
	// before normal tests, so the workers take only normal ones here.)
	onlyNormal := func(i int) bool { return pols[i].Kind == schedule.Normal }
	b := p.Next(1, onlyNormal, false, true)
	if b.Kind != schedule.Normal || len(b.Tests) == 0 {
		t.Fatalf("normal: got %+v", b)
	}
	first := b.Tests
	p.Requeue(1, first, pols)
	b = p.Next(0, onlyNormal, false, true)
	if b.Kind != schedule.Normal || !reflect.DeepEqual(b.Tests, first) {
		t.Fatalf("normal after requeue: got %+v, want %v first", b, first)
	}
	p.Requeue(0, b.Tests, pols)
	if n := p.Remaining(); n != 8 {
		t.Fatalf("Remaining() = %d after requeues, want 8", n)
	}

	// Drain everything that is not exclusive, by hand, so the exclusive
	// tests can go out; then give them back.
	handed := map[int]bool{}
	for k := 0; k < 50 && p.Remaining() > 2; k++ {
		slot := k % 3
		b := p.Next(slot, nil, true, false)
		for _, i := range b.Tests {
			handed[i] = true
			p.Finished(slot, i)
		}
	}
	if p.Remaining() != 2 || len(handed) != 6 {
		t.Fatalf("after handing out the rest: Remaining() = %d, handed %v", p.Remaining(), handed)
	}
	wantBatch(t, "exclusive", p.Next(0, nil, false, true), schedule.Exclusive, 6, 7)
	p.Requeue(0, []int{7}, pols)
	wantBatch(t, "exclusive again", p.Next(1, nil, false, true), schedule.Exclusive, 7)
	if d := p.Drain(); len(d) != 0 {
		t.Errorf("Drain() = %v, want nothing", d)
	}
}

// TestPolicyRequeueKeepsOrder checks that tests given back go ahead of the
// rest in the order given, as Scheduler.Requeue keeps them: an exclusive
// batch cut short by a crash runs the rest in collection order again.
func TestPolicyRequeueKeepsOrder(t *testing.T) {
	t.Parallel()
	t.Run("exclusive", func(t *testing.T) {
		pols := []schedule.Policy{pol(schedule.Exclusive), pol(schedule.Exclusive), pol(schedule.Exclusive), pol(schedule.Exclusive)}
		p := schedule.NewPlan(tests(4), pols, 2)
		wantBatch(t, "exclusive", p.Next(0, nil, false, true), schedule.Exclusive, 0, 1, 2, 3)
		p.Finished(0, 0)
		p.Requeue(0, []int{1, 2, 3}, pols)
		wantBatch(t, "exclusive after requeue", p.Next(1, nil, false, true), schedule.Exclusive, 1, 2, 3)
	})
	t.Run("group", func(t *testing.T) {
		pols := []schedule.Policy{grp("g", 1), grp("g", 1), grp("g", 1), grp("g", 1)}
		p := schedule.NewPlan(tests(4), pols, 2)
		wantBatch(t, "group", p.Next(0, nil, false, true), schedule.Group, 0)
		wantBatch(t, "group", p.Next(0, nil, false, false), schedule.Group, 1)
		wantBatch(t, "group", p.Next(0, nil, false, false), schedule.Group, 2)
		// The worker dies running test 0; 1 and 2 go back.
		p.Finished(0, 0)
		p.Requeue(0, []int{1, 2}, pols)
		wantBatch(t, "group after requeue", p.Next(1, nil, false, true), schedule.Group, 1)
		wantBatch(t, "group after requeue", p.Next(1, nil, false, false), schedule.Group, 2)
		wantBatch(t, "group after requeue", p.Next(1, nil, false, false), schedule.Group, 3)
	})
	t.Run("isolated", func(t *testing.T) {
		pols := []schedule.Policy{pol(schedule.Isolated), pol(schedule.Isolated), pol(schedule.Isolated)}
		p := schedule.NewPlan(tests(3), pols, 2)
		wantBatch(t, "isolated", p.Next(0, nil, true, true), schedule.Isolated, 0)
		wantBatch(t, "isolated", p.Next(1, nil, true, false), schedule.Isolated, 1)
		p.Requeue(0, []int{0}, pols)
		p.Requeue(1, []int{1}, pols)
		// Both given back, one at a time, by two dying workers: the
		// later requeue goes first, which is fine; what matters is a
		// multi-test requeue, checked above. Both come back before test 2.
		got := map[int]bool{}
		for k := 0; k < 2; k++ {
			b := p.Next(k, nil, true, false)
			if b.Kind != schedule.Isolated || len(b.Tests) != 1 {
				t.Fatalf("isolated after requeue: %+v", b)
			}
			got[b.Tests[0]] = true
		}
		if !got[0] || !got[1] {
			t.Fatalf("requeued isolated tests did not go first: got %v", got)
		}
	})
}

func TestPolicyDrain(t *testing.T) {
	t.Parallel()
	pols := []schedule.Policy{
		pol(schedule.Normal), grp("g", 1), pol(schedule.Isolated), pol(schedule.Exclusive), pol(schedule.Normal), grp("h", 2),
	}
	p := schedule.NewPlan(tests(6), pols, 2)
	wantBatch(t, "group", p.Next(0, nil, false, true), schedule.Group, 1)
	d := p.Drain()
	sort.Ints(d)
	if want := []int{0, 2, 3, 4, 5}; !reflect.DeepEqual(d, want) {
		t.Errorf("Drain() = %v, want %v", d, want)
	}
	if n := p.Remaining(); n != 0 {
		t.Errorf("Remaining() = %d after Drain, want 0", n)
	}
	wantNothing(t, "after Drain", p.Next(1, nil, true, true))
}

func TestPolicyKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[schedule.Kind]string{
		schedule.Normal: "normal", schedule.Group: "group", schedule.Isolated: "isolated", schedule.Exclusive: "exclusive",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
