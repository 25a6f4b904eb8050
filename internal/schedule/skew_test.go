package schedule

import (
	"fmt"
	"testing"
	"time"
)

// TestSkewedMakespan: with recorded durations, a few long tests placed late
// in one module among many short ones spread over the workers, so the
// simulated makespan stays within 10% of the lower bound
// max(longest test, total / workers).
func TestSkewedMakespan(t *testing.T) {
	t.Parallel()
	var tests []Test
	for i := 0; i < 200; i++ {
		tests = append(tests, Test{ID: fmt.Sprintf("test_mod.py::test_short_%d", i), Estimate: 10 * time.Millisecond})
	}
	for i := 0; i < 4; i++ {
		tests = append(tests, Test{ID: fmt.Sprintf("test_mod.py::test_long_%d", i), Estimate: 1500 * time.Millisecond})
	}
	run := func(t *testing.T, workers int) {
		s := New(tests, workers)
		var total, longest float64
		for _, tc := range tests {
			total += tc.Estimate.Seconds()
			longest = max(longest, tc.Estimate.Seconds())
		}
		// Event-driven simulation: the worker that is free first asks next.
		free := make([]float64, workers)
		for s.Remaining() > 0 {
			w := 0
			for k := range free {
				if free[k] < free[w] {
					w = k
				}
			}
			chunk := s.Next(w, nil)
			if len(chunk) == 0 {
				free[w] = 1e18 // nothing left for it
				continue
			}
			for _, i := range chunk {
				free[w] += tests[i].Estimate.Seconds()
			}
		}
		var makespan float64
		for _, f := range free {
			if f < 1e17 {
				makespan = max(makespan, f)
			}
		}
		bound := max(longest, total/float64(workers))
		if makespan > 1.1*bound {
			t.Errorf("%d workers: makespan %.2fs, lower bound %.2fs (%.2fx, want <= 1.1x)", workers, makespan, bound, makespan/bound)
		}
	}
	// With 3 workers four 1.5 s tests cannot beat 3 s, above the bound;
	// 2 and 4 workers can reach it.
	for _, w := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d workers", w), func(t *testing.T) { run(t, w) })
	}
}

// TestSkewedMakespanSplitCollection: the same with a split collection, as
// ShareFiles gives it on a second run (the file of long tests is one
// worker's, the short files the other's), and with the worker's lookahead
// (it asks for its next chunk when it starts the last test it holds). The
// long tests must still spread over the workers.
func TestSkewedMakespanSplitCollection(t *testing.T) {
	t.Parallel()
	var tests []Test
	for m := 0; m < 10; m++ {
		for k := 0; k < 20; k++ {
			tests = append(tests, Test{ID: fmt.Sprintf("test_s%d.py::test_%d", m, k), Estimate: 10 * time.Millisecond, Home: 2})
		}
	}
	for k := 0; k < 4; k++ {
		tests = append(tests, Test{ID: fmt.Sprintf("test_zlong.py::test_long%d", k), Estimate: 1500 * time.Millisecond, Home: 1})
	}
	s := New(tests, 2)
	ask := []float64{0, 0.001} // slot 0 asks first
	busy := []float64{0, 0}
	for s.Remaining() > 0 {
		w := 0
		if ask[1] < ask[0] {
			w = 1
		}
		chunk := s.Next(w, nil)
		if len(chunk) == 0 {
			ask[w] = 1e18
			continue
		}
		start := max(busy[w], ask[w])
		var sum float64
		for _, i := range chunk {
			sum += tests[i].Estimate.Seconds()
		}
		busy[w] = start + sum
		ask[w] = busy[w] - tests[chunk[len(chunk)-1]].Estimate.Seconds()
	}
	makespan := max(busy[0], busy[1])
	bound := 8.0 / 2
	if makespan > 1.1*bound {
		t.Errorf("makespan %.2fs, lower bound %.2fs (%.2fx, want <= 1.1x)", makespan, bound, makespan/bound)
	}
}
