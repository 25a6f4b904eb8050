// Package schedule decides which tests a worker runs next. It is pull-based:
// a worker that needs work asks, and gets a chunk of tests.
//
// Tests of one module form a unit and stay together on one worker while that
// costs no balance, so a module fixture is set up about once. Units run
// longest-first when earlier runs recorded durations. Chunks shrink as the
// run nears its end (guided self-scheduling: a chunk is about a quarter of a
// worker's share of what remains), and an idle worker takes the second half
// of the largest unit still being worked on, so the tail stays short.
package schedule

import (
	"sort"
	"strings"
	"time"
)

// Test is what the scheduler knows of one test.
type Test struct {
	// ID is the test's nodeid.
	ID string
	// Estimate is the expected duration; zero when unknown.
	Estimate time.Duration
	// First puts the test ahead of all others (pytest's --ff: the tests
	// that failed last time run first, in collection order).
	First bool
	// Home is 1 + the slot whose worker collected (imported) the test's
	// file in a split collection; 0 when every worker did. A worker goes
	// through the units at home first, and takes others' only when its own
	// are gone, so a file is mostly imported once.
	Home int
}

// unit is a run of tests of one module, in collection order.
type unit struct {
	tests []int
	cost  float64
	home  int
}

// Scheduler hands out tests by index into the slice given to New. It is not
// safe for concurrent use: the dispatcher owns it.
type Scheduler struct {
	tests    []Test
	cost     []float64
	queue    []*unit
	active   map[int]*unit // worker slot -> the unit it is working through
	workers  int
	left     int
	leftCost float64
}

// New returns a scheduler over tests for the given number of workers. Tests
// with a recorded duration make their modules run longest-first; the others
// count as the median recorded duration (or equal weights when nothing is
// recorded).
func New(tests []Test, workers int) *Scheduler {
	if workers < 1 {
		workers = 1
	}
	s := &Scheduler{tests: tests, workers: workers, active: make(map[int]*unit)}
	s.cost = costs(tests)
	var order []string
	byMod := make(map[string]*unit)
	first := &unit{}
	for i, t := range tests {
		if t.First {
			first.tests = append(first.tests, i)
			first.cost += s.cost[i]
			s.leftCost += s.cost[i]
			continue
		}
		mod := module(t.ID)
		u := byMod[mod]
		if u == nil {
			u = &unit{home: t.Home}
			byMod[mod] = u
			order = append(order, mod)
		}
		u.tests = append(u.tests, i)
		u.cost += s.cost[i]
		s.leftCost += s.cost[i]
	}
	for _, m := range order {
		s.queue = append(s.queue, byMod[m])
	}
	if hasEstimates(tests) {
		s.queue = s.splitLong(s.queue)
		// Longest first; a long test that stands alone goes before a
		// module of short ones, which can still be split between workers
		// at the end.
		sort.SliceStable(s.queue, func(i, j int) bool {
			a, b := s.queue[i], s.queue[j]
			if s.alone(a) != s.alone(b) {
				return s.alone(a)
			}
			return a.cost > b.cost
		})
	}
	if len(first.tests) > 0 {
		s.queue = append([]*unit{first}, s.queue...)
	}
	s.left = len(tests)
	return s
}

func hasEstimates(tests []Test) bool {
	for _, t := range tests {
		if t.Estimate > 0 {
			return true
		}
	}
	return false
}

// costs returns each test's weight in seconds: its estimate, or the median
// estimate for tests without one (1 for all when none has one).
func costs(tests []Test) []float64 {
	var known []float64
	for _, t := range tests {
		if t.Estimate > 0 {
			known = append(known, t.Estimate.Seconds())
		}
	}
	def := 1.0
	if len(known) > 0 {
		sort.Float64s(known)
		def = known[len(known)/2]
	}
	c := make([]float64, len(tests))
	for i, t := range tests {
		if t.Estimate > 0 {
			c[i] = t.Estimate.Seconds()
		} else {
			c[i] = def
		}
	}
	return c
}

// module returns the part of a nodeid that names its file.
func module(id string) string {
	if i := strings.Index(id, "::"); i >= 0 {
		return id[:i]
	}
	return id
}

// Remaining returns how many tests have not been handed out.
func (s *Scheduler) Remaining() int { return s.left }

// Next returns the next chunk of tests for the worker in slot, or nil when
// nothing is left. accept, when not nil, filters out tests the worker cannot
// run (it did not collect them); those stay for other workers.
func (s *Scheduler) Next(slot int, accept func(int) bool) []int {
	if s.left == 0 {
		return nil
	}
	// A worker that can run no test of a unit moves on to the next one;
	// each unit queued now is tried at most once.
	for tries := len(s.queue) + 1; tries > 0; tries-- {
		u := s.active[slot]
		if u == nil || len(u.tests) == 0 {
			u = s.take(slot)
			if u == nil {
				return nil
			}
		}
		if out := s.chunk(u, accept); len(out) > 0 {
			return out
		}
	}
	if accept == nil {
		return nil
	}
	// Last resort: any test left anywhere that accept lets through, alone,
	// so nil always means this worker can run nothing that is left.
	units := append([]*unit(nil), s.queue...)
	for _, u := range s.active {
		units = append(units, u)
	}
	for _, u := range units {
		for k, i := range u.tests {
			if accept(i) {
				u.tests = append(u.tests[:k:k], u.tests[k+1:]...)
				u.cost -= s.cost[i]
				s.left--
				s.leftCost -= s.cost[i]
				return []int{i}
			}
		}
	}
	return nil
}

// chunk takes the next chunk of u's tests that accept lets through; the
// others go back to the queue as a unit of their own.
func (s *Scheduler) chunk(u *unit, accept func(int) bool) []int {
	share := s.leftCost / float64(s.workers) / 4
	var out []int
	var sum float64
	var skipped []int
	for len(u.tests) > 0 && (len(out) == 0 || sum < share) {
		i := u.tests[0]
		u.tests = u.tests[1:]
		if accept != nil && !accept(i) {
			skipped = append(skipped, i)
			continue
		}
		out = append(out, i)
		sum += s.cost[i]
	}
	s.leftCost -= sum
	s.left -= len(out)
	if len(skipped) > 0 {
		back := &unit{tests: skipped, cost: s.sum(skipped)}
		sum += back.cost
		s.queue = append(s.queue, back)
	}
	u.cost -= sum
	return out
}

// take gives slot a unit of its own: the next queued one, or else the second
// half of the largest unit another worker is still going through.
func (s *Scheduler) take(slot int) *unit {
	delete(s.active, slot)
	// The first unit at home (or homeless) in queue order, else the first
	// of another worker's. A long test standing alone goes to whoever asks
	// first: the makespan matters more than one more import of its file.
	pick := -1
	for k, u := range s.queue {
		if len(u.tests) == 0 {
			continue
		}
		if u.home == 0 || u.home == slot+1 || s.alone(u) {
			pick = k
			break
		}
		if pick < 0 {
			pick = k
		}
	}
	if pick >= 0 {
		u := s.queue[pick]
		s.queue = append(s.queue[:pick:pick], s.queue[pick+1:]...)
		s.active[slot] = u
		return u
	}
	s.queue = s.queue[:0]
	var victim *unit
	for _, u := range s.active {
		if len(u.tests) > 0 && (victim == nil || u.cost > victim.cost) {
			victim = u
		}
	}
	if victim == nil {
		return nil
	}
	if len(victim.tests) == 1 {
		// One test left: take it rather than leave a worker idle.
		u := &unit{tests: victim.tests, cost: victim.cost}
		victim.tests, victim.cost = nil, 0
		s.active[slot] = u
		return u
	}
	half := s.splitPoint(victim.tests)
	u := &unit{tests: append([]int(nil), victim.tests[half:]...), home: victim.home}
	u.cost = s.sum(u.tests)
	victim.tests = victim.tests[:half]
	victim.cost -= u.cost
	s.active[slot] = u
	return u
}

func (s *Scheduler) sum(ix []int) float64 {
	var c float64
	for _, i := range ix {
		c += s.cost[i]
	}
	return c
}

// Requeue puts tests back (a worker died before it started them). They go
// first, as one unit, so they run soon and together.
func (s *Scheduler) Requeue(ix []int) {
	if len(ix) == 0 {
		return
	}
	u := &unit{tests: append([]int(nil), ix...), cost: s.sum(ix)}
	s.queue = append([]*unit{u}, s.queue...)
	s.left += len(ix)
	s.leftCost += u.cost
}

// Release forgets slot's active unit, returning its tests to the queue (the
// worker in slot died or stopped).
func (s *Scheduler) Release(slot int) {
	u := s.active[slot]
	delete(s.active, slot)
	if u != nil && len(u.tests) > 0 {
		s.queue = append([]*unit{u}, s.queue...)
	}
}

// Drain removes and returns every test not yet handed out, in index order.
func (s *Scheduler) Drain() []int {
	var out []int
	for _, u := range s.queue {
		out = append(out, u.tests...)
	}
	for _, u := range s.active {
		out = append(out, u.tests...)
	}
	s.queue = nil
	s.active = make(map[int]*unit)
	s.left = 0
	s.leftCost = 0
	sort.Ints(out)
	return out
}

// splitPoint returns where to cut ix in two for stealing: the class (or
// module) boundary nearest the middle, so a class fixture is not set up on
// two workers, or the middle itself when ix is one class.
func (s *Scheduler) splitPoint(ix []int) int {
	mid := len(ix) / 2
	boundary := func(k int) bool {
		return k > 0 && k < len(ix) && parent(s.tests[ix[k-1]].ID) != parent(s.tests[ix[k]].ID)
	}
	for d := 0; d < len(ix); d++ {
		if boundary(mid + d) {
			return mid + d
		}
		if boundary(mid - d) {
			return mid - d
		}
	}
	return mid
}

// parent returns the node that holds a test: its class, or its module.
func parent(id string) string {
	if i := strings.LastIndex(id, "::"); i >= 0 {
		return id[:i]
	}
	return id
}

// alone reports whether u is a single test taken out by splitLong.
func (s *Scheduler) alone(u *unit) bool {
	return len(u.tests) == 1 && u.cost > s.leftCost/float64(s.workers)/4
}

// splitLong takes each test that alone costs more than a quarter of a
// worker's share of the run out of its module's unit, into a unit of its
// own: long tests then spread over the workers longest-first, instead of
// queueing behind each other in one module (module affinity matters less
// than the makespan there). The rest of the module stays together.
func (s *Scheduler) splitLong(units []*unit) []*unit {
	limit := s.leftCost / float64(s.workers) / 4
	var out []*unit
	for _, u := range units {
		if len(u.tests) < 2 || u.cost <= limit {
			out = append(out, u)
			continue
		}
		rest := &unit{home: u.home}
		for _, i := range u.tests {
			if s.cost[i] > limit {
				out = append(out, &unit{tests: []int{i}, cost: s.cost[i], home: u.home})
			} else {
				rest.tests = append(rest.tests, i)
				rest.cost += s.cost[i]
			}
		}
		if len(rest.tests) > 0 {
			out = append(out, rest)
		}
	}
	return out
}
