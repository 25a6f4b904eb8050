package queue

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/schedule"
)

// suite returns tests named "test_mM.py::test_K" for modules of the given
// sizes.
func suite(sizes ...int) []protocol.TestInfo {
	var out []protocol.TestInfo
	for m, n := range sizes {
		for k := 0; k < n; k++ {
			out = append(out, protocol.TestInfo{ID: fmt.Sprintf("test_m%d.py::test_%d", m, k)})
		}
	}
	return out
}

// checkOnce fails unless every test is in exactly one item and items hold
// no other tests.
func checkOnce(t *testing.T, tests []protocol.TestInfo, items []Item) {
	t.Helper()
	seen := map[string]int{}
	for k, it := range items {
		if it.N != k+1 {
			t.Errorf("item %d is numbered %d", k, it.N)
		}
		if len(it.Tests) == 0 {
			t.Errorf("item %d is empty", it.N)
		}
		for _, id := range it.Tests {
			seen[id]++
		}
	}
	for _, tc := range tests {
		if seen[tc.ID] != 1 {
			t.Errorf("%s is in %d items", tc.ID, seen[tc.ID])
		}
		delete(seen, tc.ID)
	}
	for id := range seen {
		t.Errorf("items hold %s, which is not a test", id)
	}
}

func TestBuildItemsModulesInCollectionOrder(t *testing.T) {
	tests := suite(3, 5, 2)
	items := BuildItems(tests, nil, nil)
	checkOnce(t, tests, items)
	if len(items) != 3 {
		t.Fatalf("%d items, want one per module: %v", len(items), items)
	}
	for k, it := range items {
		if want := fmt.Sprintf("test_m%d.py", k); module(it.Tests[0]) != want || it.Kind != KindNormal {
			t.Errorf("item %d is %v, want module %s", k, it, want)
		}
	}
}

func TestBuildItemsLongestFirst(t *testing.T) {
	tests := suite(4, 4, 4, 2)
	d := map[string]time.Duration{}
	// Module 0 is short, module 1 long, module 2 medium; module 3 has one
	// test far longer than a 32nd of the run and one never timed.
	for k := 0; k < 4; k++ {
		d[fmt.Sprintf("test_m0.py::test_%d", k)] = 10 * time.Millisecond
		d[fmt.Sprintf("test_m1.py::test_%d", k)] = time.Second
		d[fmt.Sprintf("test_m2.py::test_%d", k)] = 100 * time.Millisecond
	}
	d["test_m3.py::test_0"] = 30 * time.Second
	items := BuildItems(tests, nil, d)
	checkOnce(t, tests, items)
	var got []string
	for _, it := range items {
		got = append(got, strings.Join(it.Tests, ","))
	}
	want := []string{
		"test_m3.py::test_0",
		"test_m1.py::test_0,test_m1.py::test_1,test_m1.py::test_2,test_m1.py::test_3",
		"test_m2.py::test_0,test_m2.py::test_1,test_m2.py::test_2,test_m2.py::test_3",
		"test_m0.py::test_0,test_m0.py::test_1,test_m0.py::test_2,test_m0.py::test_3",
		// Untimed: the median of the known durations, after the timed.
		"test_m3.py::test_1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("items\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestBuildItemsSplitsBigModules(t *testing.T) {
	// 40 modules of 2 tests and one of 200: the big one is 200/280 of the
	// run, far more than a 32nd, so it is cut; every piece has at least
	// minChunk tests and they stay in collection order.
	sizes := []int{200}
	for k := 0; k < 40; k++ {
		sizes = append(sizes, 2)
	}
	tests := suite(sizes...)
	items := BuildItems(tests, nil, nil)
	checkOnce(t, tests, items)
	var pieces []Item
	for _, it := range items {
		if module(it.Tests[0]) == "test_m0.py" {
			pieces = append(pieces, it)
		}
	}
	if len(pieces) < 2 || len(pieces) > 200/minChunk {
		t.Fatalf("the big module is in %d pieces", len(pieces))
	}
	next := 0
	for _, p := range pieces {
		if len(p.Tests) < minChunk {
			t.Errorf("piece %d has %d tests, fewer than %d", p.N, len(p.Tests), minChunk)
		}
		for _, id := range p.Tests {
			if want := fmt.Sprintf("test_m0.py::test_%d", next); id != want {
				t.Fatalf("piece %d holds %s where %s was next", p.N, id, want)
			}
			next++
		}
	}
	// A module of fewer than 2*minChunk tests stays whole however costly
	// (unless a timed test in it is long enough to go alone).
	small := suite(15, 1)
	if items := BuildItems(small, nil, nil); len(items) != 2 || len(items[0].Tests) != 15 {
		t.Errorf("a 15-test module was split: %v", items)
	}
}

func TestBuildItemsPolicies(t *testing.T) {
	tests := suite(4, 4, 3)
	pols := make([]schedule.Policy, len(tests))
	// A group across two modules, an isolated test, exclusive tests in two
	// modules.
	pols[1] = schedule.Policy{Kind: schedule.Group, Group: "db", Limit: 1}
	pols[5] = schedule.Policy{Kind: schedule.Group, Group: "db", Limit: 1}
	pols[2] = schedule.Policy{Kind: schedule.Isolated}
	pols[3] = schedule.Policy{Kind: schedule.Exclusive}
	pols[9] = schedule.Policy{Kind: schedule.Exclusive}
	pols[10] = schedule.Policy{Kind: schedule.Exclusive}
	items := BuildItems(tests, pols, nil)
	checkOnce(t, tests, items)
	kinds := map[string][]string{}
	for _, it := range items {
		kinds[it.Kind] = append(kinds[it.Kind], strings.Join(it.Tests, ","))
	}
	if g := kinds[KindGroup]; len(g) != 1 || g[0] != "test_m0.py::test_1,test_m1.py::test_1" {
		t.Errorf("group items %q, want one with both members", g)
	}
	if g := kinds[KindIsolated]; len(g) != 1 || g[0] != "test_m0.py::test_2" {
		t.Errorf("isolated items %q", g)
	}
	if g := kinds[KindExclusive]; len(g) != 2 || g[0] != "test_m0.py::test_3" || g[1] != "test_m2.py::test_1,test_m2.py::test_2" {
		t.Errorf("exclusive items %q, want one per module", g)
	}
	for k, it := range items {
		if it.Kind == KindExclusive && k < len(items)-2 {
			t.Errorf("exclusive item %v is not last", it)
		}
	}
}

func TestBuildItemsEmpty(t *testing.T) {
	if items := BuildItems(nil, nil, nil); len(items) != 0 {
		t.Errorf("items of no tests: %v", items)
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint([]string{"a", "b", "c"})
	if b := Fingerprint([]string{"c", "a", "b"}); a != b {
		t.Errorf("order changes the fingerprint: %s, %s", a, b)
	}
	if b := Fingerprint([]string{"a", "bc"}); a == b {
		t.Errorf("different tests, same fingerprint %s", a)
	}
	if b := Fingerprint([]string{"ab", "c"}); Fingerprint([]string{"a", "bc"}) == b {
		t.Errorf("node ids run together in the fingerprint")
	}
}
