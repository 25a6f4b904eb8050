package schedule_test

import (
	"slices"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/schedule"
)

// TestShareFiles: every file is in exactly one share, shares keep
// collection order, and they balance by recorded durations, or by size
// when none are recorded.
func TestShareFiles(t *testing.T) {
	files := []protocol.File{{ID: "a.py", Size: 100}, {ID: "b.py", Size: 100}, {ID: "c.py", Size: 900}, {ID: "d.py", Size: 100}, {ID: "pkg/e.py", Size: 100}}
	tests := []struct {
		name      string
		durations map[string]time.Duration
		workers   int
		want      [][]string
	}{
		{"sizes", nil, 2, [][]string{{"c.py"}, {"a.py", "b.py", "d.py", "pkg/e.py"}}},
		{"durations", map[string]time.Duration{
			"a.py::t1": 4 * time.Second, "a.py::t2": 4 * time.Second,
			"b.py::t": time.Second, "c.py::t": time.Second, "d.py::T::t": 2 * time.Second,
			"pkg/e.py::t[x::y]": 5 * time.Second,
		}, 2, [][]string{{"a.py", "c.py"}, {"b.py", "d.py", "pkg/e.py"}}},
		// Files without a recorded duration weigh as the median file.
		{"some durations", map[string]time.Duration{"a.py::t": 10 * time.Second, "b.py::t": time.Second, "c.py::t": time.Second}, 3,
			[][]string{{"a.py"}, {"b.py", "d.py"}, {"c.py", "pkg/e.py"}}},
		{"one worker", nil, 1, [][]string{{"a.py", "b.py", "c.py", "d.py", "pkg/e.py"}}},
		{"more workers than files", nil, 7, [][]string{{"c.py"}, {"a.py"}, {"b.py"}, {"d.py"}, {"pkg/e.py"}, nil, nil}},
	}
	for _, tc := range tests {
		got := schedule.ShareFiles(files, tc.durations, tc.workers)
		if !slices.EqualFunc(got, tc.want, func(a, b []string) bool { return slices.Equal(a, b) }) {
			t.Errorf("%s: ShareFiles = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestSchedulerHome: a worker goes through the modules its own process
// collected first, and takes another's only when its own are gone.
func TestSchedulerHome(t *testing.T) {
	var tests []schedule.Test
	for m, home := range []int{1, 2, 1, 2, 1, 1} {
		for k := 0; k < 3; k++ {
			tests = append(tests, schedule.Test{ID: "m" + string(rune('0'+m)) + ".py::t" + string(rune('0'+k)), Home: home})
		}
	}
	s := schedule.New(tests, 2)
	mods := func(ix []int) string {
		if len(ix) == 0 {
			return ""
		}
		return tests[ix[0]].ID[:5]
	}
	// Slot 1 (home 2) asks first: it gets its own modules, m1 and m3,
	// before any other.
	var got []string
	for {
		m := mods(s.Next(1, nil))
		got = append(got, m)
		if m != "m1.py" && m != "m3.py" {
			break
		}
	}
	if n := len(got); n < 3 || got[0] != "m1.py" || got[n-2] != "m3.py" {
		t.Fatalf("slot 1 got %v, want m1.py and m3.py before any other module", got)
	}
	// Its own are gone: it takes slot 0's first module in queue order.
	if last := got[len(got)-1]; last != "m0.py" {
		t.Errorf("slot 1 then got %s, want m0.py (the first of slot 0's)", last)
	}
	if m := mods(s.Next(0, nil)); m != "m2.py" {
		t.Errorf("slot 0 got %s, want m2.py", m)
	}
}
