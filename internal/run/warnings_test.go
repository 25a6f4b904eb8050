package run

import (
	"reflect"
	"testing"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

func TestAddWarning(t *testing.T) {
	type report struct {
		slot, gen int
		w         protocol.Warning
	}
	imp := protocol.Warning{NodeID: "test_x.py:2", Message: "test_x.py:2: UserWarning: at import", When: "collect"}
	cfg := protocol.Warning{NodeID: "conftest.py:1", Message: "PytestConfigWarning: unknown", When: "config"}
	inTest := func(id string) protocol.Warning {
		return protocol.Warning{NodeID: id, Message: "test_x.py:9: UserWarning: in test", When: "runtest"}
	}
	tests := []struct {
		name    string
		reports []report
		want    []protocol.Warning
	}{
		{"two workers import one file", []report{{0, 1, imp}, {1, 1, imp}}, []protocol.Warning{imp}},
		{"a replacement imports it again", []report{{0, 1, imp}, {0, 2, imp}}, []protocol.Warning{imp}},
		{"every worker configures", []report{{0, 1, cfg}, {1, 1, cfg}, {2, 1, cfg}}, []protocol.Warning{cfg}},
		{"raised twice by one import", []report{{0, 1, imp}, {0, 1, imp}, {1, 1, imp}}, []protocol.Warning{imp, imp}},
		{"more often by the second process", []report{{0, 1, imp}, {1, 1, imp}, {1, 1, imp}}, []protocol.Warning{imp, imp}},
		{"tests' warnings are all kept",
			[]report{{0, 1, inTest("test_x.py::a")}, {1, 1, inTest("test_x.py::b")}, {0, 1, inTest("test_x.py::a")}},
			[]protocol.Warning{inTest("test_x.py::a"), inTest("test_x.py::b"), inTest("test_x.py::a")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &dispatcher{run: &result.Run{}}
			for _, r := range tt.reports {
				w := r.w
				d.addWarning(&slotState{idx: r.slot, gen: r.gen}, &w)
			}
			var want []result.Warning
			for _, w := range tt.want {
				want = append(want, result.Warning{NodeID: w.NodeID, Message: w.Message})
			}
			if !reflect.DeepEqual(d.run.Warnings, want) {
				t.Errorf("warnings = %v, want %v", d.run.Warnings, want)
			}
		})
	}
}

// TestSortWarnings: the run lists warnings in serial pytest's order, the
// one they were raised in by a process that runs everything in turn,
// whichever worker reported first.
func TestSortWarnings(t *testing.T) {
	tests := []*result.Test{
		{NodeID: "test_a.py::test_1"}, {NodeID: "test_a.py::test_2"},
		{NodeID: "pkg/test_b.py::TestB::test_3"}, {NodeID: "pkg/test_b.py::test_4"},
	}
	w := func(id, msg string) result.Warning { return result.Warning{NodeID: id, Message: msg} }
	got := []result.Warning{
		w("pkg/test_b.py::test_4", "late test"),
		w("test_a.py::test_2", "second test"),
		w("pkg/test_b.py:3", "import of b"),
		w("test_a.py::test_1", "first test, first"),
		w("test_a.py:1", "import of a"),
		w("conftest.py:5", "configuration"),
		w("test_a.py::test_1", "first test, second"),
		w("pkg/test_b.py::TestB::test_3", "class test"),
	}
	sortWarnings(tests, got)
	want := []string{"configuration", "import of a", "import of b", "first test, first", "first test, second", "second test", "class test", "late test"}
	var msgs []string
	for _, w := range got {
		msgs = append(msgs, w.Message)
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("order %q\nwant  %q", msgs, want)
	}
}
