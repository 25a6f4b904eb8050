package schedule_test

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/schedule"
)

// suite returns tests named mod<m>.py::t<k> for the given module sizes.
func suite(sizes ...int) []schedule.Test {
	var ts []schedule.Test
	for m, n := range sizes {
		for k := 0; k < n; k++ {
			ts = append(ts, schedule.Test{ID: fmt.Sprintf("mod%d.py::t%d", m, k)})
		}
	}
	return ts
}

func moduleOf(id string) string {
	for i := 0; i+1 < len(id); i++ {
		if id[i] == ':' && id[i+1] == ':' {
			return id[:i]
		}
	}
	return id
}

// roundRobin drives s like a set of workers that each ask once per round,
// and returns what every worker got, in order. It fails the test when a
// round hands out nothing while tests remain.
func roundRobin(t *testing.T, s *schedule.Scheduler, workers int) [][]int {
	t.Helper()
	got := make([][]int, workers)
	for round := 0; s.Remaining() > 0; round++ {
		if round > 100000 {
			t.Fatal("scheduler does not make progress")
		}
		progress := false
		for w := 0; w < workers; w++ {
			ix := s.Next(w, nil)
			if len(ix) > 0 {
				progress = true
			}
			got[w] = append(got[w], ix...)
		}
		if !progress {
			t.Fatalf("a round handed out nothing with %d tests remaining", s.Remaining())
		}
	}
	return got
}

// TestEveryTestOnce hands out random suites to random numbers of workers that
// ask in a random order, with random estimates, occasional requeues (a worker
// died) and releases, and checks that in the end every test was handed out
// and finished exactly once.
func TestEveryTestOnce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(20240601))
	for iter := 0; iter < 300; iter++ {
		nmods := 1 + rng.Intn(12)
		sizes := make([]int, nmods)
		for i := range sizes {
			sizes[i] = rng.Intn(25) // empty modules do not exist, but zero sizes are harmless
		}
		tests := suite(sizes...)
		withEstimates := rng.Intn(2) == 0
		if withEstimates {
			for i := range tests {
				if rng.Intn(3) > 0 {
					tests[i].Estimate = time.Duration(1+rng.Intn(5000)) * time.Millisecond
				}
			}
		}
		workers := 1 + rng.Intn(8)
		name := fmt.Sprintf("iter%d/tests=%d/workers=%d/estimates=%v", iter, len(tests), workers, withEstimates)

		s := schedule.New(tests, workers)
		if s.Remaining() != len(tests) {
			t.Fatalf("%s: Remaining = %d at start, want %d", name, s.Remaining(), len(tests))
		}
		finished := make([]int, len(tests))
		held := make([][]int, workers) // handed out, not yet run
		for steps := 0; ; steps++ {
			if steps > 100000 {
				t.Fatalf("%s: no progress", name)
			}
			busy := false
			for _, h := range held {
				if len(h) > 0 {
					busy = true
				}
			}
			if s.Remaining() == 0 && !busy {
				break
			}
			w := rng.Intn(workers)
			switch r := rng.Intn(20); {
			case r == 0 && len(held[w]) > 0:
				// The worker died with tests in hand: the first crashed (it
				// counts as run), the rest go back.
				finished[held[w][0]]++
				s.Requeue(held[w][1:])
				s.Release(w)
				held[w] = nil
			case len(held[w]) > 0:
				finished[held[w][0]]++
				held[w] = held[w][1:]
			default:
				before := s.Remaining()
				ix := s.Next(w, nil)
				if before > 0 && len(ix) == 0 {
					t.Fatalf("%s: Next gave an idle worker nothing with %d tests remaining", name, before)
				}
				if s.Remaining() != before-len(ix) {
					t.Fatalf("%s: Remaining went from %d to %d after handing out %d", name, before, s.Remaining(), len(ix))
				}
				held[w] = append(held[w], ix...)
			}
		}
		for i, n := range finished {
			if n != 1 {
				t.Fatalf("%s: test %s ran %d times", name, tests[i].ID, n)
			}
		}
		if ix := s.Next(0, nil); ix != nil {
			t.Fatalf("%s: Next after the end = %v, want nil", name, ix)
		}
	}
}

func TestModuleAffinity(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name    string
		sizes   []int
		workers int
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		tests := suite(tc.sizes...)
		got := roundRobin(t, schedule.New(tests, tc.workers), tc.workers)
		owners := map[string]map[int]int{} // module -> worker -> count
		for w, ix := range got {
			for _, i := range ix {
				m := moduleOf(tests[i].ID)
				if owners[m] == nil {
					owners[m] = map[int]int{}
				}
				owners[m][w]++
			}
		}
		split := 0
		for m, ws := range owners {
			if len(ws) > 1 {
				split++
			}
			// Stealing takes the second half of a unit at most, so one
			// worker keeps at least half of every module.
			most, total := 0, 0
			for _, n := range ws {
				most = max(most, n)
				total += n
			}
			if most*2 < total {
				t.Errorf("module %s has no worker with half its tests: %v", m, ws)
			}
		}
		// Only the tail of the run splits modules (an idle worker steals
		// from a busy one), so at most workers-1 modules are split.
		if split > tc.workers-1 {
			t.Errorf("%d of %d modules were split across workers: %v", split, len(owners), owners)
		}
		if tc.workers == 2 && split > 1 {
			t.Errorf("with 2 workers %d modules were split: %v", split, owners)
		}
		// Within one worker, a module's tests keep collection order.
		for w, ix := range got {
			last := map[string]int{}
			for _, i := range ix {
				m := moduleOf(tests[i].ID)
				if p, ok := last[m]; ok && i < p {
					t.Errorf("worker %d ran %s after %s", w, tests[i].ID, tests[p].ID)
				}
				last[m] = i
			}
		}
	}
	for _, tc := range []testCase{
		{name: "2 workers 4 modules of 10", sizes: []int{10, 10, 10, 10}, workers: 2},
		{name: "3 workers 6 modules of 12", sizes: []int{12, 12, 12, 12, 12, 12}, workers: 3},
		{name: "4 workers 8 modules of 25", sizes: []int{25, 25, 25, 25, 25, 25, 25, 25}, workers: 4},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestLongestFirst(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name      string
		estimates map[string]time.Duration // by module; per test
		sizes     []int
		wantFirst string // module of the first chunk
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		tests := suite(tc.sizes...)
		for i := range tests {
			tests[i].Estimate = tc.estimates[moduleOf(tests[i].ID)]
		}
		s := schedule.New(tests, 1)
		var order []string
		for s.Remaining() > 0 {
			for _, i := range s.Next(0, nil) {
				m := moduleOf(tests[i].ID)
				if len(order) == 0 || order[len(order)-1] != m {
					order = append(order, m)
				}
			}
		}
		if order[0] != tc.wantFirst {
			t.Errorf("module order %v, want %s first", order, tc.wantFirst)
		}
	}
	for _, tc := range []testCase{
		{
			name:      "slowest module first although collected last",
			sizes:     []int{3, 3, 3},
			estimates: map[string]time.Duration{"mod0.py": 10 * time.Millisecond, "mod1.py": 20 * time.Millisecond, "mod2.py": 5 * time.Second},
			wantFirst: "mod2.py",
		},
		{
			name:      "many quick tests outweigh one slow module",
			sizes:     []int{1, 100},
			estimates: map[string]time.Duration{"mod0.py": time.Second, "mod1.py": 100 * time.Millisecond},
			wantFirst: "mod1.py",
		},
		{
			name:  "unknown tests count as the median",
			sizes: []int{2, 5, 2},
			// mod1 has no history: 5 tests at the median (1s) = 5s > mod0 (4s) > mod2 (0.2s).
			estimates: map[string]time.Duration{"mod0.py": 2 * time.Second, "mod2.py": 100 * time.Millisecond},
			wantFirst: "mod1.py",
		},
		{
			name:      "no history keeps collection order",
			sizes:     []int{2, 50, 3},
			wantFirst: "mod0.py",
		},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestRequeueGoesFirst(t *testing.T) {
	t.Parallel()
	tests := suite(10, 10, 10)
	s := schedule.New(tests, 2)
	a := s.Next(0, nil)
	if len(a) < 2 {
		t.Fatalf("first chunk %v too small for the test", a)
	}
	before := s.Remaining()
	// Worker 0 dies after its first test; the rest of its chunk goes back.
	s.Requeue(a[1:])
	if s.Remaining() != before+len(a)-1 {
		t.Fatalf("Remaining = %d after requeueing %d, want %d", s.Remaining(), len(a)-1, before+len(a)-1)
	}
	// Worker 1 has no unit yet: it must get the requeued tests first.
	b := s.Next(1, nil)
	if len(b) == 0 || b[0] != a[1] {
		t.Fatalf("next chunk after requeue = %v, want it to start with requeued %d (requeued %v)", b, a[1], a[1:])
	}
}

func TestReleaseReturnsTheUnit(t *testing.T) {
	t.Parallel()
	tests := suite(10, 10)
	s := schedule.New(tests, 2)
	a := s.Next(0, nil) // worker 0 starts on mod0
	s.Release(0)        // and dies
	before := s.Remaining()
	// Worker 1 takes the rest of mod0 before mod1, from where worker 0 was.
	b := s.Next(1, nil)
	if len(b) == 0 || b[0] != a[len(a)-1]+1 {
		t.Fatalf("after Release, next chunk = %v, want it to continue mod0 at %d", b, a[len(a)-1]+1)
	}
	if s.Remaining() != before-len(b) {
		t.Errorf("Remaining = %d, want %d", s.Remaining(), before-len(b))
	}
	got := roundRobin(t, s, 2)
	n := len(a) + len(b) + len(got[0]) + len(got[1])
	if n != len(tests) {
		t.Errorf("handed out %d tests in all, want %d", n, len(tests))
	}
}

func TestDrain(t *testing.T) {
	t.Parallel()
	tests := suite(10, 10, 10)
	s := schedule.New(tests, 3)
	handed := map[int]bool{}
	for w := 0; w < 3; w++ {
		for _, i := range s.Next(w, nil) {
			handed[i] = true
		}
	}
	rest := s.Drain()
	if s.Remaining() != 0 {
		t.Errorf("Remaining after Drain = %d", s.Remaining())
	}
	if !sort.IntsAreSorted(rest) {
		t.Errorf("Drain = %v, want index order", rest)
	}
	seen := map[int]bool{}
	for _, i := range rest {
		if handed[i] {
			t.Errorf("Drain returned %d, which was handed out", i)
		}
		if seen[i] {
			t.Errorf("Drain returned %d twice", i)
		}
		seen[i] = true
	}
	if len(rest)+len(handed) != len(tests) {
		t.Errorf("handed out %d + drained %d != %d tests", len(handed), len(rest), len(tests))
	}
	for w := 0; w < 3; w++ {
		if ix := s.Next(w, nil); ix != nil {
			t.Errorf("Next after Drain = %v, want nil", ix)
		}
	}
}

func TestAcceptFilter(t *testing.T) {
	t.Parallel()
	tests := suite(6, 6)
	lacks := map[string]bool{}
	for _, tt := range tests[:6] { // worker 0 did not collect mod0
		lacks[tt.ID] = true
	}
	s := schedule.New(tests, 2)
	accept0 := func(i int) bool { return !lacks[tests[i].ID] }
	got := map[int]int{}
	for rounds := 0; s.Remaining() > 0; rounds++ {
		if rounds > 1000 {
			t.Fatal("no progress")
		}
		for _, i := range s.Next(0, accept0) {
			if lacks[tests[i].ID] {
				t.Fatalf("worker 0 got %s, which it did not collect", tests[i].ID)
			}
			got[i]++
		}
		for _, i := range s.Next(1, nil) {
			got[i]++
		}
	}
	for i := range tests {
		if got[i] != 1 {
			t.Errorf("%s handed out %d times", tests[i].ID, got[i])
		}
	}
}

// A worker whose filter rejects the first queued module still gets work from
// the next module, rather than waiting idle while tests it can run remain.
func TestAcceptFilterFindsOtherWork(t *testing.T) {
	t.Parallel()
	tests := suite(4, 4)
	s := schedule.New(tests, 2)
	accept := func(i int) bool { return moduleOf(tests[i].ID) == "mod1.py" }
	ix := s.Next(0, accept)
	if len(ix) == 0 {
		t.Fatalf("Next with a filter that rejects mod0 only = nil, want tests of mod1")
	}
	for _, i := range ix {
		if !accept(i) {
			t.Fatalf("got rejected test %s", tests[i].ID)
		}
	}
}

// TestFilteredWorkers drives random suites with workers that each collected
// a random part of the suite (at least one collected it all): a worker gets
// only tests it accepts, Next returns nothing only when no test it accepts is
// left, and every test is handed out exactly once.
func TestFilteredWorkers(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(77))
	for iter := 0; iter < 300; iter++ {
		sizes := make([]int, 1+rng.Intn(8))
		for i := range sizes {
			sizes[i] = 1 + rng.Intn(15)
		}
		tests := suite(sizes...)
		workers := 2 + rng.Intn(4)
		lacks := make([]map[int]bool, workers) // worker 0 lacks nothing
		for w := 1; w < workers; w++ {
			lacks[w] = map[int]bool{}
			for i := range tests {
				// Whole modules or single tests missing.
				if rng.Intn(4) == 0 {
					lacks[w][i] = true
				}
			}
		}
		name := fmt.Sprintf("iter%d/tests=%d/workers=%d", iter, len(tests), workers)
		s := schedule.New(tests, workers)
		handed := make([]int, len(tests))
		for steps := 0; s.Remaining() > 0; steps++ {
			if steps > 100000 {
				t.Fatalf("%s: no progress", name)
			}
			w := rng.Intn(workers)
			var accept func(int) bool
			if w > 0 {
				l := lacks[w]
				accept = func(i int) bool { return !l[i] }
			}
			before := s.Remaining()
			ix := s.Next(w, accept)
			if s.Remaining() != before-len(ix) {
				t.Fatalf("%s: Remaining %d -> %d after handing out %d", name, before, s.Remaining(), len(ix))
			}
			for _, i := range ix {
				if accept != nil && !accept(i) {
					t.Fatalf("%s: worker %d got %s, which it lacks", name, w, tests[i].ID)
				}
				handed[i]++
			}
			if len(ix) == 0 {
				for i := range tests {
					if handed[i] == 0 && (accept == nil || accept(i)) {
						t.Fatalf("%s: Next gave worker %d nothing, but it can run %s, which is left", name, w, tests[i].ID)
					}
				}
			}
		}
		for i, n := range handed {
			if n != 1 {
				t.Fatalf("%s: %s handed out %d times", name, tests[i].ID, n)
			}
		}
	}
}

func TestChunksShrink(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name    string
		sizes   []int
		workers int
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		tests := suite(tc.sizes...)
		s := schedule.New(tests, tc.workers)
		var sizes []int
		for s.Remaining() > 0 {
			for w := 0; w < tc.workers; w++ {
				if ix := s.Next(w, nil); len(ix) > 0 {
					sizes = append(sizes, len(ix))
				}
			}
		}
		first, last := sizes[0], sizes[len(sizes)-1]
		if first <= 1 {
			t.Errorf("first chunk has %d tests; with %d tests and %d workers it should be larger", first, len(tests), tc.workers)
		}
		if last != 1 {
			t.Errorf("last chunk has %d tests, want 1 (chunks: %v)", last, sizes)
		}
		// Chunks never grow by much: each is at most the first one.
		for i, n := range sizes {
			if n > first {
				t.Errorf("chunk %d has %d tests, more than the first (%d): %v", i, n, first, sizes)
				break
			}
		}
		// Guided: the first chunk is about a quarter of a worker's share.
		want := len(tests) / tc.workers / 4
		if first < want-1 || first > want+1 {
			t.Errorf("first chunk = %d, want about %d", first, want)
		}
	}
	for _, tc := range []testCase{
		{name: "one big module 2 workers", sizes: []int{400}, workers: 2},
		{name: "many modules 4 workers", sizes: []int{100, 100, 100, 100, 100, 100, 100, 100}, workers: 4},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestEmptyAndZeroWorkers(t *testing.T) {
	t.Parallel()
	s := schedule.New(nil, 0)
	if s.Remaining() != 0 || s.Next(0, nil) != nil || s.Drain() != nil {
		t.Error("an empty scheduler handed something out")
	}
	s = schedule.New(suite(3), 0) // workers < 1 behaves as 1
	got := roundRobin(t, s, 1)
	if len(got[0]) != 3 {
		t.Errorf("one worker got %v, want all 3 tests", got[0])
	}
}
