package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/codec"
	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/schedule"
)

var _ run.Source = (*Consumer)(nil)
var _ result.Sink = (*Consumer)(nil)

// testOpts are fast settings: leases lapse 300 ms after the last
// heartbeat, idle machines poll every 10 ms.
func testOpts(name string, workers int) Options {
	return Options{Name: name, Workers: workers, LeaseTTL: 300 * time.Millisecond, Poll: 10 * time.Millisecond,
		GiveUp: time.Minute, Herd: "test"}
}

// machine drives a Consumer as the dispatcher does, with fake workers that
// run each test in testTime: it asks Next for work for each idle slot,
// reports every test through the sink, takes Elsewhere's tests out, and
// ends when every test is done and the source is closed.
type machine struct {
	t       *testing.T
	c       *Consumer
	tests   []protocol.TestInfo
	pols    []schedule.Policy
	workers int
	// outcome gives each test's outcome (passed when nil).
	outcome func(id string) result.Outcome
	// killAfter, when positive, makes the machine die (SIGKILL: no more
	// calls, no Close) after that many results.
	killAfter int
	// stopAfter, when positive, makes the machine stop (Ctrl-C: Drain, the
	// tests it held end not_run) after that many results.
	stopAfter int
	testTime  time.Duration

	wake chan struct{}
	// Results.
	ran       []string
	elsewhere map[string]bool
	notRun    []string
	killed    bool
	batches   []schedule.Batch
}

func newMachine(t *testing.T, store Store, name string, tests []protocol.TestInfo, pols []schedule.Policy, workers int) *machine {
	m := &machine{t: t, tests: tests, pols: pols, workers: workers, wake: make(chan struct{}, 1), elsewhere: map[string]bool{}}
	m.c = NewConsumer(context.Background(), store, testOpts(name, workers))
	return m
}

// start joins the run, as the dispatcher's Queue hook does.
func (m *machine) start() error {
	if m.pols == nil {
		m.pols = make([]schedule.Policy, len(m.tests))
	}
	_, err := m.c.Start(m.tests, m.pols, nil, func() {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	})
	return err
}

func (m *machine) emit(ev result.Event) { m.c.Handle(ev) }

// run drives the machine until its run ends; start must have succeeded.
func (m *machine) run() {
	n := len(m.tests)
	done := make([]bool, n)
	ndone := 0
	fresh := make([]bool, m.workers)
	for k := range fresh {
		fresh[k] = true
	}
	r := &result.Run{Info: result.Info{Workers: m.workers, Python: "3.11"}, Collected: n}
	for _, ti := range m.tests {
		r.Tests = append(r.Tests, &result.Test{NodeID: ti.ID})
	}
	m.emit(result.Event{Kind: result.Collected, Run: r})
	stopping := false
	for {
		for _, i := range m.c.Elsewhere() {
			if !done[i] {
				done[i] = true
				ndone++
				m.elsewhere[m.tests[i].ID] = true
			}
		}
		if ndone == n && (stopping || !m.c.Open()) {
			break
		}
		progressed := false
		for slot := 0; slot < m.workers && !stopping; slot++ {
			b := m.c.Next(slot, nil, fresh[slot], true)
			if b.Recycle {
				fresh[slot] = true
				continue
			}
			if len(b.Tests) == 0 {
				continue
			}
			m.batches = append(m.batches, b)
			progressed = true
			fresh[slot] = b.Kind == schedule.Isolated
			for k, i := range b.Tests {
				id := m.tests[i].ID
				if stopping {
					// Handed out, never started: the worker drops it.
					for _, j := range b.Tests[k:] {
						m.finish(slot, j, result.NotRun)
						done[j] = true
						ndone++
					}
					break
				}
				m.emit(result.Event{Kind: result.TestStarted, Worker: fmt.Sprintf("gw%d", slot), NodeID: id})
				time.Sleep(m.testTime)
				o := result.Passed
				if m.outcome != nil {
					o = m.outcome(id)
				}
				m.finish(slot, i, o)
				done[i] = true
				ndone++
				if m.killAfter > 0 && len(m.ran) >= m.killAfter {
					m.killed = true
					m.die()
					return
				}
				if m.stopAfter > 0 && len(m.ran) >= m.stopAfter && !stopping {
					stopping = true
					for _, j := range m.c.Drain() {
						m.finish(-1, j, result.NotRun)
						done[j] = true
						ndone++
					}
					// Never leased here: left to the other machines.
					for j := range done {
						if !done[j] {
							done[j] = true
							ndone++
						}
					}
				}
			}
		}
		if !progressed {
			select {
			case <-m.wake:
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	r.Tests = nil
	m.emit(result.Event{Kind: result.RunFinished, Run: r})
}

func (m *machine) finish(slot, i int, o result.Outcome) {
	id := m.tests[i].ID
	tr := &result.Test{NodeID: id, Outcome: o, Duration: m.testTime}
	if o == result.NotRun {
		tr.Reason = "not run: interrupted"
		m.notRun = append(m.notRun, id)
	} else {
		tr.Worker = fmt.Sprintf("gw%d", slot)
		tr.Process = 1
		m.ran = append(m.ran, id)
	}
	m.emit(result.Event{Kind: result.TestFinished, Worker: tr.Worker, NodeID: id, Test: tr})
	if slot >= 0 {
		m.c.Finished(slot, i)
	}
}

// die ends the consumer as SIGKILL would: its goroutines stop, and
// nothing more reaches the store, not even what it had yet to write.
func (m *machine) die() {
	m.c.wmu.Lock()
	m.c.ops = nil
	m.c.wmu.Unlock()
	m.c.cancel()
	m.c.wg.Wait()
}

func (m *machine) close() {
	if !m.killed {
		if err := m.c.Close(context.Background()); err != nil {
			m.t.Errorf("close %s: %v", m.c.Name(), err)
		}
	}
}

// runMachines starts the machines one after the other (the first seeds),
// runs them at once, and closes those still alive.
func runMachines(t *testing.T, ms ...*machine) {
	t.Helper()
	for _, m := range ms {
		if err := m.start(); err != nil {
			t.Fatalf("start: %v", err)
		}
	}
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.run()
		}()
	}
	wg.Wait()
	for _, m := range ms {
		m.close()
	}
}

// whole reads the whole run back, as a machine does at its end.
func whole(t *testing.T, store Store) (*result.Run, *Status) {
	t.Helper()
	snap, err := store.Snapshot(context.Background(), false)
	if err != nil || snap == nil {
		t.Fatalf("snapshot: %v %v", snap, err)
	}
	r, st, err := Whole(snap)
	if err != nil {
		t.Fatal(err)
	}
	return r, st
}

// checkWhole checks that the whole run has every test once, in collection
// order, with the outcome want gives it.
func checkWhole(t *testing.T, r *result.Run, st *Status, tests []protocol.TestInfo, want func(string) result.Outcome) {
	t.Helper()
	if !st.Complete() {
		t.Errorf("run incomplete: %d missing, first %+v", len(st.Missing), st.Missing[0])
	}
	if len(r.Tests) != len(tests) || r.Collected != len(tests) {
		t.Fatalf("whole run has %d tests (collected %d), want %d", len(r.Tests), r.Collected, len(tests))
	}
	for k, tc := range r.Tests {
		if tc.NodeID != tests[k].ID {
			t.Fatalf("test %d is %s, want %s", k, tc.NodeID, tests[k].ID)
		}
		o := result.Passed
		if want != nil {
			o = want(tc.NodeID)
		}
		if tc.Outcome != o {
			t.Errorf("%s: %s, want %s", tc.NodeID, tc.Outcome, o)
		}
		if tc.Outcome != result.NotRun && !strings.Contains(tc.Worker, ":gw") {
			t.Errorf("%s ran on worker %q, want MACHINE:gwN", tc.NodeID, tc.Worker)
		}
	}
}

// checkOnceOverall checks that each test was reported by exactly one
// machine, counting only results that reached the store.
func checkRanOnce(t *testing.T, store *memStore, tests []protocol.TestInfo) {
	t.Helper()
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.results) != len(tests) {
		t.Errorf("the store has %d results for %d tests", len(store.results), len(tests))
	}
}

func TestThreeMachines(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := suite(10, 10, 10, 10, 10, 10)
	fail := func(id string) result.Outcome {
		if strings.HasSuffix(id, "::test_3") {
			return result.Failed
		}
		return result.Passed
	}
	var ms []*machine
	for k := 0; k < 3; k++ {
		m := newMachine(t, store, "host", tests, nil, 2)
		m.outcome, m.testTime = fail, time.Millisecond
		ms = append(ms, m)
	}
	runMachines(t, ms...)
	names := map[string]bool{}
	total := 0
	for _, m := range ms {
		names[m.c.Name()] = true
		total += len(m.ran)
		if len(m.ran)+len(m.elsewhere) != len(tests) {
			t.Errorf("%s: ran %d, elsewhere %d, of %d", m.c.Name(), len(m.ran), len(m.elsewhere), len(tests))
		}
		if !m.c.Complete() {
			t.Errorf("%s: run not complete at its end", m.c.Name())
		}
	}
	if len(names) != 3 {
		t.Errorf("machine names %v, want 3 different", names)
	}
	if total != len(tests) {
		t.Errorf("the machines ran %d tests in all, want %d (each once)", total, len(tests))
	}
	r, st := whole(t, store)
	checkWhole(t, r, st, tests, fail)
	checkRanOnce(t, store, tests)
	if seeded, meta := ms[0].c.Seeded(); !seeded || meta.Total != len(tests) {
		t.Errorf("first machine seeded %v, meta %+v", seeded, meta)
	}
	if seeded, _ := ms[1].c.Seeded(); seeded {
		t.Errorf("second machine seeded too")
	}
	if r.Info.Workers != 6 || len(st.Machines) != 3 {
		t.Errorf("whole run: %d workers, %d machines", r.Info.Workers, len(st.Machines))
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.queue) != 0 {
		t.Errorf("queue left with %d items", len(store.queue))
	}
	for m, l := range store.leases {
		if len(l) > 0 {
			t.Errorf("%s still leases %v", m, l)
		}
	}
}

// TestKilledMachine: a machine dies midway, holding leased tests; after
// its lease lapses the others take them back; no test is lost and none is
// reported twice.
func TestKilledMachine(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := suite(12, 12, 12, 12, 12)
	victim := newMachine(t, store, "victim", tests, nil, 1)
	victim.killAfter, victim.testTime = 3, 2*time.Millisecond
	a := newMachine(t, store, "a", tests, nil, 1)
	b := newMachine(t, store, "b", tests, nil, 1)
	a.testTime, b.testTime = 2*time.Millisecond, 2*time.Millisecond
	start := time.Now()
	runMachines(t, victim, a, b)
	if !victim.killed {
		t.Fatalf("the victim was not killed")
	}
	if len(a.ran)+len(b.ran)+len(victim.ran) < len(tests) {
		t.Errorf("ran %d+%d+%d tests", len(a.ran), len(b.ran), len(victim.ran))
	}
	r, st := whole(t, store)
	checkWhole(t, r, st, tests, nil)
	checkRanOnce(t, store, tests)
	// The victim's three results were written before it died, or rerun.
	var victimLane int
	for _, tc := range r.Tests {
		if strings.HasPrefix(tc.Worker, "victim:") {
			victimLane++
		}
	}
	if victimLane > 3 {
		t.Errorf("%d results from the victim, which ran 3", victimLane)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
	var dead *MachineStatus
	for k := range st.Machines {
		if st.Machines[k].Name == "victim" {
			dead = &st.Machines[k]
		}
	}
	if dead == nil || dead.Alive || dead.Finished {
		t.Errorf("victim's status %+v, want not alive, not finished", dead)
	}
}

// TestStoppedMachine: a machine interrupted (Ctrl-C) gives back the tests
// it held and did not run; the others run them.
func TestStoppedMachine(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := suite(20, 20, 20)
	quitter := newMachine(t, store, "quitter", tests, nil, 2)
	quitter.stopAfter, quitter.testTime = 2, time.Millisecond
	other := newMachine(t, store, "other", tests, nil, 2)
	other.testTime = time.Millisecond
	runMachines(t, quitter, other)
	if len(quitter.notRun) == 0 {
		t.Fatalf("the quitter gave nothing back (ran %d)", len(quitter.ran))
	}
	r, st := whole(t, store)
	checkWhole(t, r, st, tests, nil)
	checkRanOnce(t, store, tests)
	for _, id := range quitter.notRun {
		var got *result.Test
		for _, tc := range r.Tests {
			if tc.NodeID == id {
				got = tc
			}
		}
		if got == nil || !strings.HasPrefix(got.Worker, "other:") {
			t.Errorf("%s, given back, was not run by the other machine: %+v", id, got)
		}
	}
}

// TestMachineJoinsLate: a machine that joins a complete run runs nothing
// and ends at once, every test elsewhere.
func TestMachineJoinsLate(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := suite(5, 5)
	runMachines(t, newMachine(t, store, "early", tests, nil, 2))
	late := newMachine(t, store, "late", tests, nil, 2)
	runMachines(t, late)
	if len(late.ran) != 0 || len(late.elsewhere) != len(tests) {
		t.Errorf("late machine ran %d, elsewhere %d", len(late.ran), len(late.elsewhere))
	}
}

func TestMismatchedCollection(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	a := newMachine(t, store, "a", suite(3, 3), nil, 1)
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	defer a.close()
	b := newMachine(t, store, "b", suite(3, 4), nil, 1)
	err := b.start()
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("start with other tests: %v, want a MismatchError", err)
	}
	for _, want := range []string{"holds 6", "collected 7 tests", "1 only here", "test_m1.py::test_3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	store.mu.Lock()
	if len(store.machines) != 1 {
		t.Errorf("machines %v: the one that could not join is still one", store.machines)
	}
	store.mu.Unlock()
	b.c.Close(context.Background())
}

// TestPoliciesOnOneMachine: a group's members all run on one machine, and
// an exclusive item goes out only when nothing else runs on its machine.
func TestPoliciesOnOneMachine(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := suite(6, 6, 6, 6)
	pols := make([]schedule.Policy, len(tests))
	for _, i := range []int{1, 7, 13} {
		pols[i] = schedule.Policy{Kind: schedule.Group, Group: "db", Limit: 1}
	}
	for _, i := range []int{20, 21} {
		pols[i] = schedule.Policy{Kind: schedule.Exclusive}
	}
	pols[2] = schedule.Policy{Kind: schedule.Isolated}
	a := newMachine(t, store, "a", tests, pols, 2)
	b := newMachine(t, store, "b", tests, pols, 2)
	a.testTime, b.testTime = time.Millisecond, time.Millisecond
	runMachines(t, a, b)
	r, st := whole(t, store)
	checkWhole(t, r, st, tests, nil)
	machineOf := map[string]string{}
	for _, tc := range r.Tests {
		machineOf[tc.NodeID], _, _ = strings.Cut(tc.Worker, ":")
	}
	if g := []string{machineOf[tests[1].ID], machineOf[tests[7].ID], machineOf[tests[13].ID]}; g[0] != g[1] || g[1] != g[2] {
		t.Errorf("the group ran on %v, want one machine", g)
	}
	for _, m := range []*machine{a, b} {
		for _, bt := range m.batches {
			if bt.Kind == schedule.Exclusive {
				if len(bt.Tests) != 2 {
					t.Errorf("exclusive batch %v, want both exclusive tests of the module", bt.Tests)
				}
			}
			for _, i := range bt.Tests {
				if (pols[i].Kind == schedule.Exclusive) != (bt.Kind == schedule.Exclusive) {
					t.Errorf("test %d (%v) in a %v batch", i, pols[i].Kind, bt.Kind)
				}
			}
		}
	}
}

// TestExclusiveWaitsForQuiet: with normal work leased too, the exclusive
// item goes out only once the machine holds nothing else, and the machine
// leases nothing more while it waits.
func TestExclusiveWaitsForQuiet(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := suite(2, 2)
	pols := []schedule.Policy{{Kind: schedule.Exclusive}, {Kind: schedule.Exclusive}, {}, {}}
	m := newMachine(t, store, "m", tests, pols, 4)
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	defer m.close()
	// Wait for both items: the normal one first (exclusive items are last).
	deadline := time.Now().Add(2 * time.Second)
	for m.c.Remaining() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	b := m.c.Next(0, nil, true, true)
	if b.Kind != schedule.Normal || len(b.Tests) == 0 {
		t.Fatalf("first batch %+v, want normal tests", b)
	}
	got := append([]int(nil), b.Tests...)
	for len(got) < 2 {
		nb := m.c.Next(1, nil, false, false)
		if nb.Kind == schedule.Exclusive {
			t.Fatalf("exclusive batch while normal tests are left")
		}
		got = append(got, nb.Tests...)
	}
	if nb := m.c.Next(2, nil, false, false); len(nb.Tests) != 0 {
		t.Errorf("exclusive batch %+v while other tests run (not quiet)", nb)
	}
	if nb := m.c.Next(2, nil, false, true); nb.Kind != schedule.Exclusive || len(nb.Tests) != 2 {
		t.Errorf("batch %+v when quiet, want the exclusive tests", nb)
	}
}

// TestLostRedis: when the store stops answering for longer than GiveUp,
// the machine gives up: its run is no longer open, and the tests it did not
// start are elsewhere.
func TestLostRedis(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := suite(5)
	m := newMachine(t, store, "m", tests, nil, 1)
	m.c.opts.GiveUp = 200 * time.Millisecond
	store.mu.Lock()
	store.meta = &Meta{Version: SchemaVersion, Fingerprint: Fingerprint(ids(tests)), Total: 5, SeededBy: "x"}
	store.nodeids = ids(tests)
	store.mu.Unlock()
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	store.setDown(true)
	deadline := time.Now().Add(3 * time.Second)
	for m.c.Lost() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var le *LostError
	if err := m.c.Lost(); !errors.As(err, &le) || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("Lost() = %v", err)
	}
	if m.c.Open() {
		t.Errorf("still open after losing Redis")
	}
	if got := m.c.Elsewhere(); len(got) != len(tests) {
		t.Errorf("elsewhere %v, want all %d", got, len(tests))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	m.c.Close(ctx)
	m.killed = true
}

func ids(tests []protocol.TestInfo) []string {
	var out []string
	for _, t := range tests {
		out = append(out, t.ID)
	}
	return out
}

// TestReclaimedFromLiveMachine: a machine taken for dead while it still
// runs (its heartbeat stalled) loses its lease; the tests it was running
// are in no item, and the sweep queues them again.
func TestSweepRequeuesOrphans(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := suite(4)
	m := newMachine(t, store, "m", tests, nil, 1)
	store.mu.Lock()
	store.meta = &Meta{Version: SchemaVersion, Fingerprint: Fingerprint(ids(tests)), Total: 4, SeededBy: "gone"}
	store.nodeids = ids(tests)
	// Two tests have results; two are in no item (their lease was lost).
	store.results[tests[0].ID] = "r"
	store.results[tests[1].ID] = "r"
	store.mu.Unlock()
	m.c.opts.LeaseTTL = 50 * time.Millisecond
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for m.c.Remaining() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if m.c.Remaining() != 2 {
		t.Fatalf("remaining %d, want the 2 orphans leased", m.c.Remaining())
	}
	var got []int
	for {
		b := m.c.Next(0, nil, true, true)
		if len(b.Tests) == 0 {
			break
		}
		got = append(got, b.Tests...)
	}
	sort.Ints(got)
	if fmt.Sprint(got) != "[2 3]" {
		t.Errorf("orphans handed out %v, want [2 3]", got)
	}
	m.close()
}

// TestWholeRun: results from several machines make one run: collection
// order, clocks aligned, skips and collection errors once, warnings that
// every machine has once, missing tests not_run with where they are.
func TestWholeRun(t *testing.T) {
	a := &machineRecord{Name: "a", Start: 1000, Stop: 4000, Workers: 2, Python: "3.11", Rootdir: "/src", Deselected: 1,
		CollectionErrs: []result.CollectionError{{Path: "bad.py", Message: "boom"}}}
	b := &machineRecord{Name: "b", Start: 2500, Workers: 1, Python: "3.11",
		CollectionErrs: []result.CollectionError{{Path: "bad.py", Message: "boom"}}}
	skip, _ := codec.MarshalTest(&result.Test{NodeID: "skipmod.py", Outcome: result.Skipped, Longrepr: "skipped"})
	a.Skips = []json.RawMessage{skip}
	b.Skips = []json.RawMessage{skip}
	enc := func(r *machineRecord) string { s, _ := jsonString(r); return s }
	res := func(machine string, tc *result.Test) string {
		s, err := encodeResult(machine, tc)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	snap := &Snapshot{
		Meta:    Meta{Total: 4, Items: 3, SeededBy: "a", Herd: "0.1.0"},
		NodeIDs: []string{"t::1", "t::2", "t::3", "t::4"},
		Results: map[string]string{
			"t::2": res("b", &result.Test{NodeID: "t::2", Outcome: result.Failed, Worker: "gw0", Start: time.Second, Stop: 2 * time.Second,
				Attempts: []result.Attempt{{Outcome: result.Crashed, Worker: "gw0", Start: 0, Stop: time.Second}}}),
			"t::1": res("a", &result.Test{NodeID: "t::1", Outcome: result.Passed, Worker: "gw1", Start: 0, Stop: time.Second}),
		},
		Machines: map[string]string{"a": enc(a), "b": enc(b)},
		Warnings: map[string][]string{
			"a": {`{"message":"collection"}`, `{"nodeid":"t::1","message":"w1"}`},
			"b": {`{"message":"collection"}`},
		},
		Deaths: map[string]int{"b": 2},
		Queue:  []string{`{"n":3,"t":["t::4"]}`},
		Leases: map[string][]string{"c": {`{"n":2,"t":["t::3"]}`}},
		Alive:  map[string]bool{"a": false, "b": true, "c": false},
	}
	r, st, err := Whole(snap)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tc := range r.Tests {
		got = append(got, fmt.Sprintf("%s %s %s %v-%v", tc.NodeID, tc.Outcome, tc.Worker, tc.Start, tc.Stop))
	}
	want := []string{
		"t::1 passed a:gw1 0s-1s",
		"t::2 failed b:gw0 2.5s-3.5s",
		"t::3 not_run  0s-0s",
		"t::4 not_run  0s-0s",
		"skipmod.py skipped  0s-0s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tests\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if a := r.Tests[1].Attempts[0]; a.Worker != "b:gw0" || a.Start != 1500*time.Millisecond {
		t.Errorf("attempt %+v, want on b:gw0 from 1.5s", a)
	}
	if !strings.Contains(r.Tests[2].Reason, "leased by c, which stopped answering") || !strings.Contains(r.Tests[3].Reason, "in the queue") {
		t.Errorf("reasons %q, %q", r.Tests[2].Reason, r.Tests[3].Reason)
	}
	if st.Complete() || len(st.Missing) != 2 || !st.Live() {
		t.Errorf("status %+v", st)
	}
	if r.Collected != 4 || r.Deselected != 1 || len(r.CollectionErrors) != 1 || r.WorkerDeaths != 2 || r.Info.Workers != 3 {
		t.Errorf("run: collected %d deselected %d errors %v deaths %d workers %d", r.Collected, r.Deselected, r.CollectionErrors, r.WorkerDeaths, r.Info.Workers)
	}
	if len(r.Warnings) != 2 || r.Warnings[0].Message != "collection" || r.Warnings[1].NodeID != "t::1" {
		t.Errorf("warnings %v", r.Warnings)
	}
	// a stopped at 4s - 1s = 3s; b's last test ends at 3.5s.
	if r.Duration != 3500*time.Millisecond {
		t.Errorf("duration %v, want 3.5s", r.Duration)
	}
	if st.Machines[0].Name != "a" || st.Machines[0].Ran != 1 || !st.Machines[0].Finished {
		t.Errorf("machines %+v", st.Machines)
	}
	lines := strings.Join(st.Lines(snap.Meta), "\n")
	for _, w := range []string{"4 tests in 3 items, seeded by a; 3 machines", "b: 1 test reported, 1 worker, running", "c: 0 tests reported, 0 workers, stopped answering", "2 tests without a result"} {
		if !strings.Contains(lines, w) {
			t.Errorf("lines do not say %q:\n%s", w, lines)
		}
	}
}

// TestPrefetch: a machine leases its next item ahead while its worker is
// due to finish soon, but not while the worker runs a long test, so the
// rest stays in the queue for idle machines.
func TestPrefetch(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := []protocol.TestInfo{{ID: "test_a.py::test_long"}, {ID: "test_b.py::test_short"}, {ID: "test_c.py::test_short"}}
	durations := map[string]time.Duration{tests[0].ID: 10 * time.Second, tests[1].ID: 10 * time.Millisecond, tests[2].ID: 10 * time.Millisecond}
	c := NewConsumer(context.Background(), store, testOpts("m", 1))
	defer c.Close(context.Background())
	woke := make(chan struct{}, 1)
	if _, err := c.Start(tests, make([]schedule.Policy, 3), durations, func() {
		select {
		case woke <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	queued := func() int {
		store.mu.Lock()
		defer store.mu.Unlock()
		return len(store.queue)
	}
	waitFor("the first item", func() bool { return c.Remaining() == 1 })
	if b := c.Next(0, nil, true, true); len(b.Tests) != 1 || b.Tests[0] != 0 {
		t.Fatalf("first batch %v, want the long test", b.Tests)
	}
	time.Sleep(100 * time.Millisecond)
	if n := c.Remaining(); n != 0 || queued() != 2 {
		t.Fatalf("with a 10 s test running the machine leased ahead: remaining %d, queue %d", n, queued())
	}
	c.Finished(0, 0)
	waitFor("the next item once the long test ended", func() bool { return c.Remaining() == 1 })
	b := c.Next(0, nil, false, true)
	if len(b.Tests) != 1 {
		t.Fatalf("batch %v", b.Tests)
	}
	// A 10 ms test is due within the horizon: the last item comes ahead.
	waitFor("the item after the short test, ahead", func() bool { return c.Remaining() == 1 && queued() == 0 })
}

// TestLostLease: an item moved into this machine's lease list by a lease
// whose answer never came back is found there and run.
func TestLostLease(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	tests := suite(3, 3)
	a := newMachine(t, store, "a", tests, nil, 1)
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	// Make sure the queue still holds an item, then lose it into a's list.
	deadline := time.Now().Add(2 * time.Second)
	for a.c.Remaining() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	lost := store.lose(a.c.Name())
	a.run()
	a.close()
	r, st := whole(t, store)
	checkWhole(t, r, st, tests, nil)
	if !strings.Contains(lost, "test_m1.py") || len(a.ran) != 6 {
		t.Errorf("lost item %s; a ran %d tests", lost, len(a.ran))
	}
}
