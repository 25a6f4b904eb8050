package queue

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/schedule"
)

// The kinds of items. A normal item's tests run anywhere beside anything;
// the others carry their tests' policy, which the machine that leases the
// item applies.
const (
	KindNormal    = ""
	KindGroup     = "group"
	KindIsolated  = "isolated"
	KindExclusive = "exclusive"
)

// Item is one unit of the shared queue: tests that one machine runs
// together. It is stored as its JSON, which N makes unique within a run, so
// a lease list can remove exactly the item a machine finished.
type Item struct {
	// N numbers the item in the seeded queue, from 1.
	N int `json:"n"`
	// Kind is KindNormal, KindGroup, KindIsolated or KindExclusive.
	Kind string `json:"k,omitempty"`
	// Tests are node ids, in collection order.
	Tests []string `json:"t"`
}

// itemsPerRun is how many items a run's total estimated cost is cut into at
// least, before modules are kept whole: enough that 8 machines of 4 workers
// each get work from the queue to the end, few enough that a lease (one
// round trip to Redis) is rare next to the tests it brings.
const itemsPerRun = 32

// minChunk is the fewest tests a piece of a split module holds: a module's
// fixtures are set up once per piece (and per machine), so a piece must be
// worth that.
const minChunk = 8

// BuildItems cuts tests (test i has policy pols[i] and, when recorded,
// durations[nodeid]) into the items of a new queue, in the order machines
// should take them:
//
//   - a group's members form one item, so the group runs on one machine
//     and its limit holds across machines;
//   - an isolated test is an item of its own;
//   - exclusive tests form one item per module, flagged exclusive: the
//     machine that leases it runs them with nothing else running on that
//     machine;
//   - other tests form one item per module; a module that costs more than
//     a 32nd of the run is cut into pieces of at least 8 tests, and a test
//     with a recorded duration over that share is an item of its own.
//
// Items whose tests have recorded durations come first, longest first; then
// the items of tests never timed, in collection order; exclusive items last.
// Every test is in exactly one item.
func BuildItems(tests []protocol.TestInfo, pols []schedule.Policy, durations map[string]time.Duration) []Item {
	cost, timed := weigh(tests, durations)
	var total float64
	for _, c := range cost {
		total += c
	}
	target := total / itemsPerRun

	type piece struct {
		kind  string
		tests []int
		cost  float64
		timed bool
	}
	var pieces []*piece
	add := func(kind string, ix []int) {
		p := &piece{kind: kind, tests: ix}
		for _, i := range ix {
			p.cost += cost[i]
			p.timed = p.timed || timed[i]
		}
		pieces = append(pieces, p)
	}
	groups := map[string][]int{}
	var groupOrder []string
	normal := map[string][]int{}
	exclusive := map[string][]int{}
	var modOrder, exclOrder []string
	for i, t := range tests {
		var pol schedule.Policy
		if i < len(pols) {
			pol = pols[i]
		}
		switch pol.Kind {
		case schedule.Group:
			if _, ok := groups[pol.Group]; !ok {
				groupOrder = append(groupOrder, pol.Group)
			}
			groups[pol.Group] = append(groups[pol.Group], i)
		case schedule.Isolated:
			add(KindIsolated, []int{i})
		case schedule.Exclusive:
			m := module(t.ID)
			if _, ok := exclusive[m]; !ok {
				exclOrder = append(exclOrder, m)
			}
			exclusive[m] = append(exclusive[m], i)
		default:
			m := module(t.ID)
			if _, ok := normal[m]; !ok {
				modOrder = append(modOrder, m)
			}
			normal[m] = append(normal[m], i)
		}
	}
	for _, g := range groupOrder {
		add(KindGroup, groups[g])
	}
	for _, m := range modOrder {
		ix := normal[m]
		var rest []int
		for _, i := range ix {
			if timed[i] && cost[i] > target && len(ix) > 1 {
				// A long test goes alone, so long tests spread over the
				// machines longest-first instead of queueing behind each
				// other in one module.
				add(KindNormal, []int{i})
				continue
			}
			rest = append(rest, i)
		}
		for _, part := range split(rest, cost, target) {
			add(KindNormal, part)
		}
	}
	// Timed pieces longest first, then untimed ones in collection order
	// (pieces were made in module order; a stable sort keeps it).
	sort.SliceStable(pieces, func(a, b int) bool {
		pa, pb := pieces[a], pieces[b]
		if pa.timed != pb.timed {
			return pa.timed
		}
		if pa.timed {
			return pa.cost > pb.cost
		}
		return pa.tests[0] < pb.tests[0]
	})
	for _, m := range exclOrder {
		add(KindExclusive, exclusive[m])
	}
	items := make([]Item, len(pieces))
	for k, p := range pieces {
		ids := make([]string, len(p.tests))
		for j, i := range p.tests {
			ids[j] = tests[i].ID
		}
		items[k] = Item{N: k + 1, Kind: p.kind, Tests: ids}
	}
	return items
}

// split cuts a module's tests ix into pieces of about target cost each, in
// collection order, but into no more pieces than leaves minChunk tests in
// each. A module within target stays whole.
func split(ix []int, cost []float64, target float64) [][]int {
	if len(ix) == 0 {
		return nil
	}
	var sum float64
	for _, i := range ix {
		sum += cost[i]
	}
	n := 1
	if target > 0 && sum > target {
		n = min(int(math.Ceil(sum/target)), len(ix)/minChunk)
	}
	if n <= 1 {
		return [][]int{ix}
	}
	share := sum / float64(n)
	var out [][]int
	var cur []int
	var acc float64
	for k, i := range ix {
		cur = append(cur, i)
		acc += cost[i]
		left := len(ix) - k - 1
		if len(out) < n-1 && acc >= share*float64(len(out)+1) && len(cur) >= minChunk && left >= minChunk {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// weigh returns each test's estimated cost in seconds and whether it was
// timed: its recorded duration, else the median recorded duration, else 1
// for every test when none was recorded (as the local scheduler weighs
// them).
func weigh(tests []protocol.TestInfo, durations map[string]time.Duration) ([]float64, []bool) {
	var known []float64
	timed := make([]bool, len(tests))
	for i, t := range tests {
		if d := durations[t.ID]; d > 0 {
			known = append(known, d.Seconds())
			timed[i] = true
		}
	}
	def := 1.0
	if len(known) > 0 {
		sort.Float64s(known)
		def = known[len(known)/2]
	}
	cost := make([]float64, len(tests))
	for i, t := range tests {
		if timed[i] {
			cost[i] = durations[t.ID].Seconds()
		} else {
			cost[i] = def
		}
	}
	return cost, timed
}

// module returns the part of a node id that names its file.
func module(id string) string {
	if i := strings.Index(id, "::"); i >= 0 {
		return id[:i]
	}
	return id
}
