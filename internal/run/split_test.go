package run_test

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/worker"
)

// TestSplitCollection: each worker collects its share of the files; the
// run's collection is their union in collection order; every test runs
// once; and a file is imported by one process, or two when work moved.
func TestSplitCollection(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{2, 3, 4} {
		suite := suiteOf(7, 3, 9, 1, 5, 6, 2, 8)
		f := &fakeStarter{t: t, suite: suite, testTime: time.Millisecond, split: true}
		s := &sink{}
		res, err := execute(t, run.Config{Workers: workers, Starter: f, Sink: s})
		if err != nil {
			t.Fatalf("%d workers: Execute: %v", workers, err)
		}
		checkRun(t, f, s, res, false)
		if got := res.Summary()[result.Passed]; got != len(suite) || res.Collected != len(suite) {
			t.Fatalf("%d workers: %d passed, %d collected, want %d", workers, got, res.Collected, len(suite))
		}
		for i, tr := range res.Tests {
			if tr.NodeID != suite[i].ID {
				t.Fatalf("%d workers: result %d is %s, want %s (collection order)", workers, i, tr.NodeID, suite[i].ID)
			}
		}
		// The shares: each first-generation worker was told to collect
		// some files; together they are every file, once.
		var shared []string
		imports := map[string]int{}
		for _, p := range f.allProcs() {
			for _, c := range p.commands() {
				if c.Type == protocol.CmdCollect {
					shared = append(shared, c.Files...)
				}
			}
			for _, file := range p.importedFiles() {
				imports[file]++
			}
		}
		sort.Strings(shared)
		want := []string{"mod0.py", "mod1.py", "mod2.py", "mod3.py", "mod4.py", "mod5.py", "mod6.py", "mod7.py"}
		if !slices.Equal(shared, want) {
			t.Errorf("%d workers: shares cover %v, want every file once: %v", workers, shared, want)
		}
		// Work moves at the end (an idle worker takes half of a busy
		// one's module), and the taker imports that module too: a few
		// extra imports, against one per file and worker when every
		// worker collects everything.
		extra := 0
		for _, n := range imports {
			extra += n - 1
		}
		if len(imports) != len(want) || extra > 2*workers {
			t.Errorf("%d workers: imports %v (%d extra): want every file, and at most %d extra imports", workers, imports, extra, 2*workers)
		}
	}
}

// TestSplitCollectionShareCrashes: a worker that dies each time it
// collects its share (an import that segfaults) is replaced until the slot
// is given up; its files become collection errors, and the run stops as
// pytest does after a collection error.
func TestSplitCollectionShareCrashes(t *testing.T) {
	t.Parallel()
	suite := suiteOf(4, 4, 4, 4)
	f := &fakeStarter{t: t, suite: suite, split: true,
		script: func(slot, gen int) script {
			if slot == 1 {
				return script{dieOnCollect: &worker.Exit{Code: -1, Signal: "SIGSEGV", StderrTail: "Fatal Python error: Segmentation fault"}}
			}
			return script{}
		}}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	checkRun(t, f, s, res, false)
	if n := len(f.procsOf(1)); n != 3 {
		t.Errorf("slot 1 started %d processes, want 3 (then given up)", n)
	}
	if len(res.CollectionErrors) == 0 || !res.Interrupted {
		t.Fatalf("collection errors %v, interrupted %v: want the crashed share's files as errors, and an interrupted run", res.CollectionErrors, res.Interrupted)
	}
	for _, e := range res.CollectionErrors {
		if !strings.Contains(e.Message, "SIGSEGV") || !strings.Contains(e.Message, "Segmentation fault") {
			t.Errorf("collection error for %s says %q: want the signal and the stderr tail", e.Path, e.Message)
		}
	}
	for _, tr := range res.Tests {
		if tr.Outcome != result.NotRun {
			t.Errorf("%s is %s, want not_run after collection errors", tr.NodeID, tr.Outcome)
		}
	}
	// With --continue-on-collection-errors the other share's tests run.
	f2 := &fakeStarter{t: t, suite: suite, split: true, script: f.script}
	s2 := &sink{}
	res, err = execute(t, run.Config{Workers: 2, Starter: f2, Sink: s2, ContinueOnCollectionErrors: true})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	checkRun(t, f2, s2, res, false)
	if res.Summary()[result.Passed] == 0 || res.Summary()[result.Passed]+4*len(res.CollectionErrors) != len(suite) {
		t.Errorf("summary %v with %d collection errors: want the surviving share's tests passed", res.Summary(), len(res.CollectionErrors))
	}
}

// TestSplitCollectionSlowImport: a worker that imports a file it was handed
// (work moved to it) says so, and may then be silent for longer than
// StuckTimeout without being killed as stuck.
func TestSplitCollectionSlowImport(t *testing.T) {
	t.Parallel()
	suite := suiteOf(10)
	gate := make(chan struct{})
	f := &fakeStarter{t: t, suite: suite, split: true, testTime: 10 * time.Millisecond,
		script: func(slot, gen int) script {
			if slot == 1 {
				return script{slowImport: gate}
			}
			return script{}
		}}
	s := &sink{}
	c := &clock{}
	go func() {
		waitFor(t, "a lazy import", func() bool {
			for _, p := range f.procsOf(1) {
				for _, cmd := range p.commands() {
					if cmd.Type == protocol.CmdRun {
						return true
					}
				}
			}
			return false
		})
		time.Sleep(20 * time.Millisecond)
		c.advance(run.StuckTimeout + time.Second)
		time.Sleep(300 * time.Millisecond)
		close(gate)
	}()
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	if res.WorkerDeaths != 0 || res.Summary()[result.Passed] != len(suite) {
		t.Errorf("%d worker deaths, summary %v: want none killed as stuck, every test passed", res.WorkerDeaths, res.Summary())
	}
}

// TestSplitCollectionMissingGoesBack: a worker handed tests whose file it
// collects late and does not find them in (its collection differs) gives
// them back; they run on the worker that collected them first, never as
// errors, and are never handed to the refusing process again.
func TestSplitCollectionMissingGoesBack(t *testing.T) {
	t.Parallel()
	// mod0.py is slot 0's share (the larger file); slot 1 finishes its
	// own share while slot 0 is held on mod0's first test, and is handed
	// the rest of mod0, which its late collection lacks.
	suite := suiteOf(8, 2)
	gate := make(chan struct{})
	f := &fakeStarter{t: t, suite: suite, split: true, testTime: time.Millisecond,
		behave: map[string]behave{"mod0.py::test_0": {gate: gate}},
		script: func(slot, gen int) script {
			if slot == 1 {
				return script{lacks: func(id string) bool { return strings.HasPrefix(id, "mod0.py::") }}
			}
			return script{}
		}}
	go func() {
		waitFor(t, "mod0's tests handed to slot 1", func() bool {
			for _, p := range f.procsOf(1) {
				for _, id := range p.receivedIDs() {
					if strings.HasPrefix(id, "mod0.py::") {
						return true
					}
				}
			}
			return false
		})
		time.Sleep(50 * time.Millisecond)
		close(gate)
	}()
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	if got := res.Summary()[result.Passed]; got != len(suite) {
		t.Fatalf("summary %v: want all %d passed", res.Summary(), len(suite))
	}
	for _, tr := range res.Tests {
		if strings.HasPrefix(tr.NodeID, "mod0.py::") && tr.Worker != "gw0" {
			t.Errorf("%s ran on %s: want gw0, the only process that collected it", tr.NodeID, tr.Worker)
		}
	}
	// Each test slot 1 refused was handed to it once: not again.
	for _, p := range f.procsOf(1) {
		seen := map[string]int{}
		for _, id := range p.receivedIDs() {
			if seen[id]++; seen[id] > 1 {
				t.Errorf("%s handed to the process that could not collect it %d times", id, seen[id])
			}
		}
	}
}

// TestSplitCollectionMissingEverywhere: a test that no live process can
// collect (its first collector died; every other process's collection of
// its file lacks it) is tried in fresh processes, and after maxRefusals
// of them ends as an error that says its file collects differently: the
// run neither hangs nor loses it.
func TestSplitCollectionMissingEverywhere(t *testing.T) {
	t.Parallel()
	suite := suiteOf(3, 1)
	const drawn = "mod0.py::test_2"
	f := &fakeStarter{t: t, suite: suite, split: true, testTime: time.Millisecond,
		behave: map[string]behave{"mod0.py::test_0": {crash: "SIGSEGV"}},
		script: func(slot, gen int) script {
			return script{lacks: func(id string) bool { return id == drawn }}
		}}
	s := &sink{}
	res, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, f, s, res, false)
	var got *result.Test
	for _, tr := range res.Tests {
		if tr.NodeID == drawn {
			got = tr
		}
	}
	if got == nil {
		t.Fatalf("%s has no result", drawn)
	}
	t.Logf("%s: %s", drawn, got.Outcome)
	// Its first collector may have run it before the crash; otherwise it
	// ends as an error naming the cause.
	if got.Outcome != result.Passed {
		if got.Outcome != result.Error || !strings.Contains(got.Longrepr, "collects different tests from one process to another") {
			t.Fatalf("%s: %s %q: want error saying its file collects differently", drawn, got.Outcome, got.Longrepr)
		}
		refused := 0
		for _, p := range f.allProcs() {
			if slices.Contains(p.receivedIDs(), drawn) {
				refused++
			}
		}
		if refused < 3 {
			t.Errorf("%s was handed to %d processes before it was given up: want 3 (maxRefusals)", drawn, refused)
		}
	}
}
