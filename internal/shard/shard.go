// Package shard splits a run's selected tests into N parts of about equal
// duration, so that N machines (a CI matrix) each run one part with
// `herd --shard K/N`. The split is a pure function of the tests' node ids,
// their scheduling policies and the known durations: every machine that
// collects the same tests and knows the same durations computes the same
// parts, whatever order it collected the tests in.
//
// The rule:
//
//   - Units. A unit is a set of tests that goes to one part. All members of
//     a group (policy group, same name) form one unit. When there are at
//     least 4×N test modules, each module is one unit too (a module's tests
//     then share their module-scoped fixtures on one machine), except a
//     module heavier than a part's fair share (total/N), whose tests are
//     spread; with fewer modules each test is its own unit. A group whose
//     members sit in several modules joins those modules into one unit.
//   - Weights. A test weighs its known duration; a test with none weighs
//     the median of the known durations of the tests being split (one
//     second when none is known). A unit weighs the sum of its tests.
//   - Assignment. Longest processing time first: units sorted by weight,
//     heaviest first, ties broken by an FNV-1a hash of the unit's key and
//     then the key itself; each goes to the part with the least weight so
//     far, the lowest-numbered on a tie.
//
// Every test lands in exactly one part, and each part's weight is within
// the heaviest unit's weight of the ideal total/N.
package shard

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/schedule"
)

// ModuleFactor is how many modules per part make the split keep modules
// whole: with at least ModuleFactor×N modules, modules are units.
const ModuleFactor = 4

// Spec is one part of a split: K of N, 1-based.
type Spec struct {
	K, N int
}

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// ParseSpec parses "K/N" with 1 <= K <= N.
func ParseSpec(v string) (Spec, error) {
	ks, ns, ok := strings.Cut(strings.TrimSpace(v), "/")
	if !ok {
		return Spec{}, fmt.Errorf("expects K/N, got %q", v)
	}
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil {
		return Spec{}, fmt.Errorf("expects K/N with whole numbers, got %q", v)
	}
	if n < 1 || k < 1 || k > n {
		return Spec{}, fmt.Errorf("expects K/N with 1 <= K <= N, got %q", v)
	}
	return Spec{K: k, N: n}, nil
}

// Partition is a split of tests into N parts.
type Partition struct {
	// Part holds each test's part, 0-based, in the order of the tests
	// given to Split.
	Part []int
	// Loads is each part's total weight.
	Loads []time.Duration
	// Counts is each part's number of tests.
	Counts []int
	// Units is the number of units; MaxUnit the heaviest unit's weight.
	Units   int
	MaxUnit time.Duration
	// ByModule says modules were units (there were enough of them).
	ByModule bool
	// Known counts the tests with a recorded duration.
	Known int
	// Fingerprint is a short hash of the whole assignment: machines that
	// print the same fingerprint split the suite the same way.
	Fingerprint string
}

// Select reports, for each test, whether it is in part k (1-based).
func (p *Partition) Select(k int) []bool {
	keep := make([]bool, len(p.Part))
	for i, s := range p.Part {
		keep[i] = s == k-1
	}
	return keep
}

// Module is the module part of a node id: what comes before the first
// "::" ("tests/test_a.py" of "tests/test_a.py::TestC::test_m[1]").
func Module(nodeid string) string {
	if i := strings.Index(nodeid, "::"); i >= 0 {
		return nodeid[:i]
	}
	return nodeid
}

// Split divides tests into n parts (n >= 1). pols, when not nil, holds each
// test's policy (same length as tests); durations holds the recorded
// durations by node id (nil: none known). A node id given twice counts
// once: both copies go to the same part.
func Split(tests []protocol.TestInfo, pols []schedule.Policy, durations map[string]time.Duration, n int) Partition {
	if n < 1 {
		n = 1
	}
	p := Partition{Part: make([]int, len(tests)), Loads: make([]time.Duration, n), Counts: make([]int, n)}

	// Weights.
	var known []time.Duration
	seen := make(map[string]bool, len(tests))
	for _, t := range tests {
		if seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		if d := durations[t.ID]; d > 0 {
			known = append(known, d)
		}
	}
	p.Known = len(known)
	fallback := time.Second
	if len(known) > 0 {
		sort.Slice(known, func(i, j int) bool { return known[i] < known[j] })
		m := len(known) / 2
		fallback = known[m]
		if len(known)%2 == 0 {
			fallback = (known[m-1] + known[m]) / 2
		}
		if fallback <= 0 {
			fallback = 1
		}
	}
	weight := func(id string) time.Duration {
		if d := durations[id]; d > 0 {
			return d
		}
		return fallback
	}

	// Modules: units when there are enough of them, but a module heavier
	// than a part's fair share is spread.
	modWeight := map[string]time.Duration{}
	var total time.Duration
	for id := range seen {
		w := weight(id)
		modWeight[Module(id)] += w
		total += w
	}
	p.ByModule = len(modWeight) >= ModuleFactor*n
	fair := total / time.Duration(n)
	baseKey := func(id string) string {
		if m := Module(id); p.ByModule && modWeight[m] <= fair {
			return "m:" + m
		}
		return "t:" + id
	}

	// Units: connected components of tests' base keys and group names.
	uf := newUnionFind()
	for i, t := range tests {
		b := uf.add(baseKey(t.ID))
		if pols != nil && i < len(pols) && pols[i].Kind == schedule.Group {
			uf.union(b, uf.add("g:"+pols[i].Group))
		}
	}
	type unit struct {
		key    string
		hash   uint64
		weight time.Duration
		part   int
	}
	units := map[int]*unit{}
	rootOf := make([]int, len(tests))
	for i, t := range tests {
		r := uf.find(uf.add(baseKey(t.ID)))
		rootOf[i] = r
		if units[r] == nil {
			units[r] = &unit{key: uf.keys[r]}
		}
	}
	// A unit's key is the least key among its members, whatever the order
	// they were added in.
	for idx, k := range uf.keys {
		u := units[uf.find(idx)]
		if u != nil && k < u.key {
			u.key = k
		}
	}
	counted := make(map[string]bool, len(seen))
	for i, t := range tests {
		if counted[t.ID] {
			continue
		}
		counted[t.ID] = true
		units[rootOf[i]].weight += weight(t.ID)
	}
	order := make([]*unit, 0, len(units))
	for _, u := range units {
		u.hash = hash64(u.key)
		order = append(order, u)
		if u.weight > p.MaxUnit {
			p.MaxUnit = u.weight
		}
	}
	p.Units = len(order)
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.weight != b.weight {
			return a.weight > b.weight
		}
		if a.hash != b.hash {
			return a.hash < b.hash
		}
		return a.key < b.key
	})

	// Longest processing time first.
	for _, u := range order {
		best := 0
		for s := 1; s < n; s++ {
			if p.Loads[s] < p.Loads[best] {
				best = s
			}
		}
		u.part = best
		p.Loads[best] += u.weight
	}
	done := make(map[string]bool, len(seen))
	for i, t := range tests {
		p.Part[i] = units[rootOf[i]].part
		if !done[t.ID] {
			done[t.ID] = true
			p.Counts[p.Part[i]]++
		}
	}
	p.Fingerprint = fingerprint(tests, p.Part)
	return p
}

// fingerprint hashes the sorted (node id, part) pairs.
func fingerprint(tests []protocol.TestInfo, part []int) string {
	idx := make([]int, len(tests))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return tests[idx[a]].ID < tests[idx[b]].ID })
	h := fnv.New64a()
	var buf [8]byte
	last := ""
	for k, i := range idx {
		if k > 0 && tests[i].ID == last {
			continue
		}
		last = tests[i].ID
		h.Write([]byte(tests[i].ID))
		binary.LittleEndian.PutUint64(buf[:], uint64(part[i]))
		h.Write(buf[:])
	}
	return fmt.Sprintf("%08x", uint32(h.Sum64()^(h.Sum64()>>32)))
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// unionFind joins keys into components.
type unionFind struct {
	index  map[string]int
	keys   []string
	parent []int
}

func newUnionFind() *unionFind { return &unionFind{index: map[string]int{}} }

func (u *unionFind) add(key string) int {
	if i, ok := u.index[key]; ok {
		return i
	}
	i := len(u.keys)
	u.index[key] = i
	u.keys = append(u.keys, key)
	u.parent = append(u.parent, i)
	return i
}

func (u *unionFind) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

func (u *unionFind) union(a, b int) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u.parent[rb] = ra
	}
}
