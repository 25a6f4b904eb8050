package run

import (
	"testing"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

// TestOutcomeOf checks how one phase report maps to an outcome: by its
// category when the worker gave one, else by pytest's outcome and phase.
func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		r    protocol.Report
		want result.Outcome
	}{
		{protocol.Report{When: "call", Category: "passed"}, result.Passed},
		{protocol.Report{When: "call", Category: "failed"}, result.Failed},
		{protocol.Report{When: "setup", Category: "failed"}, result.Error},
		{protocol.Report{When: "teardown", Category: "error"}, result.Error},
		{protocol.Report{When: "call", Category: "skipped"}, result.Skipped},
		{protocol.Report{When: "call", Category: "xfailed"}, result.XFailed},
		{protocol.Report{When: "call", Category: "xpassed"}, result.XPassed},
		{protocol.Report{When: "call", Outcome: "passed"}, result.Passed},
		{protocol.Report{When: "setup", Outcome: "skipped"}, result.Skipped},
		{protocol.Report{When: "call", Outcome: "failed"}, result.Failed},
		{protocol.Report{When: "setup", Outcome: "failed"}, result.Error},
		{protocol.Report{When: "call", Category: "weird", Outcome: "passed"}, result.Passed},
	}
	for _, tt := range tests {
		if got := outcomeOf(&tt.r); got != tt.want {
			t.Errorf("outcomeOf(%+v) = %s, want %s", tt.r, got, tt.want)
		}
	}
}

// TestWithPassed checks that the phases a done message says passed join
// the reports received, in phase order.
func TestWithPassed(t *testing.T) {
	call := protocol.Report{When: "call", Outcome: "failed"}
	got := withPassed([]protocol.Report{call}, &protocol.Message{PassedPhases: "st", PassedDurations: []float64{0.5, 0.25}})
	var whens []string
	for _, r := range got {
		whens = append(whens, r.When)
	}
	if len(got) != 3 || whens[0] != "setup" || whens[1] != "call" || whens[2] != "teardown" ||
		got[1].Outcome != "failed" || got[0].Duration != 0.5 || got[2].Duration != 0.25 {
		t.Errorf("withPassed = %+v", got)
	}
	reports := []protocol.Report{call}
	if got := withPassed(reports, &protocol.Message{}); len(got) != 1 || &got[0] != &reports[0] {
		t.Errorf("withPassed without passed phases = %+v, want the reports as they were", got)
	}
	got = withPassed(nil, &protocol.Message{PassedPhases: "sct"})
	if len(got) != 3 || got[1].Category != "passed" {
		t.Errorf("withPassed of a plain pass = %+v", got)
	}
}

func TestHeadLineAndSkipReason(t *testing.T) {
	for id, want := range map[string]string{
		"a.py::test_x":            "test_x",
		"a.py::TestC::test_y[1]":  "TestC.test_y[1]",
		"a.py":                    "a.py",
		"d/b.py::TestC::Inner::z": "TestC.Inner.z",
	} {
		if got := headLine(id); got != want {
			t.Errorf("headLine(%q) = %q, want %q", id, got, want)
		}
	}
	if got := skipReason("a.py:3: no numpy"); got != "no numpy" {
		t.Errorf("skipReason = %q", got)
	}
	if got := skipReason("no place"); got != "no place" {
		t.Errorf("skipReason without a place = %q", got)
	}
}

func TestToPropertiesAndSections(t *testing.T) {
	if toProperties(nil) != nil || toSections(nil) != nil {
		t.Error("empty input gave a non-nil slice")
	}
	p := toProperties([][2]string{{"k", "v"}})
	if len(p) != 1 || p[0] != (result.Property{Name: "k", Value: "v"}) {
		t.Errorf("toProperties = %+v", p)
	}
	s := toSections([]protocol.Section{{Title: "Captured stdout call", Content: "hi"}})
	if len(s) != 1 || s[0] != (result.Section{Title: "Captured stdout call", Content: "hi"}) {
		t.Errorf("toSections = %+v", s)
	}
	if plural(1, "error") != "error" || plural(2, "error") != "errors" || fmtSeconds(1500e6) != "1.5s" {
		t.Error("plural or fmtSeconds")
	}
}
