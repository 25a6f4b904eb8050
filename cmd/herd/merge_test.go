package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/report"
	"github.com/herd-run/herd/internal/result"
)

// shardOf is one shard of a six-test suite: the tests named, the others
// deselected, a module skipped at import and a collection warning as every
// shard reports them.
func shardOf(tests ...*result.Test) *result.Run {
	r := &result.Run{
		Info:       result.Info{Version: "0.1.0", Workers: 2, Rootdir: "/src"},
		Collected:  len(tests),
		Deselected: 6 - len(tests) + 1, // one deselected by -k
		Duration:   time.Second,
		Tests:      append(tests, &result.Test{NodeID: "test_skipmod.py", Outcome: result.Skipped, Longrepr: "skip"}),
		Warnings:   []result.Warning{{Message: "collection warning"}},
	}
	return r
}

func TestMergeRuns(t *testing.T) {
	a := shardOf(
		&result.Test{NodeID: "a.py::t1", Outcome: result.Passed, Worker: "gw0"},
		&result.Test{NodeID: "a.py::t2", Outcome: result.Failed, Worker: "gw1",
			Attempts: []result.Attempt{{Outcome: result.Crashed, Worker: "gw1"}}},
		&result.Test{NodeID: "a.py::t3", Outcome: result.Passed, Worker: "gw0"},
	)
	a.Warnings = append(a.Warnings, result.Warning{NodeID: "a.py::t1", Message: "w"})
	b := shardOf(
		&result.Test{NodeID: "b.py::t4", Outcome: result.Passed, Worker: "gw0"},
		&result.Test{NodeID: "b.py::t5", Outcome: result.Skipped, Worker: "gw0"},
		&result.Test{NodeID: "b.py::t6", Outcome: result.NotRun, Reason: "not run: interrupted"},
	)
	b.Duration = 3 * time.Second
	m, err := mergeRuns([]*result.Run{a, b}, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	var ids, workers []string
	for _, tc := range m.Tests {
		ids = append(ids, tc.NodeID)
		workers = append(workers, tc.Worker)
	}
	if got := strings.Join(ids, " "); got != "a.py::t1 a.py::t2 a.py::t3 test_skipmod.py b.py::t4 b.py::t5 b.py::t6" {
		t.Errorf("tests %s", got)
	}
	if got := strings.Join(workers, " "); got != "shard1/gw0 shard1/gw1 shard1/gw0  shard2/gw0 shard2/gw0 " {
		t.Errorf("workers %q", got)
	}
	if w := m.Tests[1].Attempts[0].Worker; w != "shard1/gw1" || a.Tests[1].Attempts[0].Worker != "gw1" {
		t.Errorf("attempt worker %q (input changed to %q)", w, a.Tests[1].Attempts[0].Worker)
	}
	if m.Collected != 6 || m.Deselected != 1 || m.Duration != 3*time.Second || m.Info.Workers != 4 || len(m.Warnings) != 2 {
		t.Errorf("collected %d deselected %d duration %v workers %d warnings %v", m.Collected, m.Deselected, m.Duration, m.Info.Workers, m.Warnings)
	}
	if got := report.ClosingText(m); got != "1 failed, 3 passed, 2 skipped, 1 deselected, 2 warnings, 1 not run in 3.00s" {
		t.Errorf("closing %q", got)
	}
	if exitCode(m) != exitTestsFailed {
		t.Errorf("exit %d", exitCode(m))
	}

	// A test in two shards is an error naming it.
	_, err = mergeRuns([]*result.Run{a, a}, []string{"a.json", "again.json"})
	if err == nil || !strings.Contains(err.Error(), "a.py::t1 is in both a.json and again.json") || !strings.Contains(err.Error(), "2 more") {
		t.Errorf("duplicate: %v", err)
	}

	// Runs that are not shards of one suite add up their deselected.
	c := &result.Run{Collected: 1, Deselected: 5, Tests: []*result.Test{{NodeID: "c.py::t", Outcome: result.Passed}}}
	m, err = mergeRuns([]*result.Run{a, c}, []string{"a.json", "c.json"})
	if err != nil || m.Deselected != 9 {
		t.Errorf("deselected %d, want 4+5 (err %v)", m.Deselected, err)
	}
}

func TestMergeRunsInterrupted(t *testing.T) {
	pass := func(id string) *result.Run {
		return &result.Run{Collected: 1, Tests: []*result.Test{{NodeID: id, Outcome: result.Passed, Worker: "gw0"}}}
	}
	maxf := pass("m.py::t")
	maxf.Tests[0].Outcome = result.Failed
	maxf.Interrupted, maxf.MaxfailReached, maxf.InterruptReason = true, true, "stopping after 1 failures"
	ctrlC := pass("c.py::t")
	ctrlC.Interrupted, ctrlC.InterruptReason = true, "KeyboardInterrupt"
	for _, c := range []struct {
		name string
		runs []*result.Run
		code int
	}{
		{"passed", []*result.Run{pass("a.py::t"), pass("b.py::t")}, exitOK},
		{"maxfail", []*result.Run{pass("a.py::t"), maxf}, exitTestsFailed},
		{"interrupted", []*result.Run{maxf, ctrlC}, exitInterrupted},
		{"empty", []*result.Run{{}, {}}, exitNoTests},
	} {
		m, err := mergeRuns(c.runs, []string{"1", "2"})
		if err != nil {
			t.Fatal(err)
		}
		if got := exitCode(m); got != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.code)
		}
	}
}

// TestReportMergeMain merges two JSON reports end to end and writes the
// merged JSON, which reads back.
func TestReportMergeMain(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, r *result.Run) string {
		var b bytes.Buffer
		if err := report.WriteJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := write("1.json", shardOf(&result.Test{NodeID: "a.py::t1", Outcome: result.Passed, Worker: "gw0"}))
	p2 := write("2.json", shardOf(&result.Test{NodeID: "a.py::t2", Outcome: result.Passed, Worker: "gw0"}))
	out := filepath.Join(dir, "m.json")
	var stdout, stderr bytes.Buffer
	code := mainCode([]string{"report", "merge", "--report-json", out, p1, p2}, &stdout, &stderr, func(string) string { return "" })
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "2 passed, 1 skipped, 5 deselected, 1 warning in 1.00s") {
		t.Errorf("output:\n%s", stdout.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := report.ReadJSON(f)
	if err != nil || len(m.Tests) != 3 || m.Tests[2].Worker != "shard2/gw0" {
		t.Errorf("merged JSON: %v %+v", err, m)
	}
	for _, bad := range [][]string{{"report", "merge"}, {"report", "merge", "--bogus", p1}, {"report", "merge", filepath.Join(dir, "none.json")}} {
		stderr.Reset()
		if code := mainCode(bad, &stdout, &stderr, func(string) string { return "" }); code != exitUsage || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", bad, code, stderr.String())
		}
	}
}
