package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkGolden compares got with testdata/<name>.golden, rewriting the file
// instead when -update is given.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test ./internal/report -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s\n--- got ---\n%s\n--- want ---\n%s", name, path, got, want)
	}
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func intp(n int) *int { return &n }

// testInfo is the environment the fixtures' runs report.
func testInfo() result.Info {
	return result.Info{
		Version:    "0.1.0",
		Python:     "3.11.2",
		PythonPath: "/usr/bin/python3",
		Pytest:     "7.2.1",
		HeaderLines: []string{
			"platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack",
			"rootdir: /tmp/rep1",
			"plugins: timeout-2.1.0, xdist-3.1.0",
		},
		Rootdir: "/tmp/rep1",
		Workers: 2,
	}
}

// passedRun is three passing tests.
func passedRun() *result.Run {
	return &result.Run{
		Info:      testInfo(),
		Collected: 3,
		Duration:  ms(10),
		Tests: []*result.Test{
			{NodeID: "test_b.py::test_1", Outcome: result.Passed, Worker: "gw0", Duration: ms(1)},
			{NodeID: "test_b.py::test_2", Outcome: result.Passed, Worker: "gw1", Duration: ms(1)},
			{NodeID: "test_b.py::test_3", Outcome: result.Passed, Worker: "gw0", Duration: ms(1)},
		},
	}
}

const failLongrepr = `
    def test_fail():
        print("hello out")
        sys.stderr.write("hello err\n")
>       assert 1 == 2
E       assert 1 == 2

test_a.py:6: AssertionError
`

const errLongrepr = `
    @pytest.fixture
    def bad():
>       raise RuntimeError("boom")
E       RuntimeError: boom

test_a.py:9: RuntimeError
`

const methodLongrepr = `
self = <test_a.TestC object at 0x7f63796dbb50>

>   def test_m(self): assert 0
E   assert 0

test_a.py:19: AssertionError
`

// pytestRun mirrors what pytest itself reported for /tmp/rep1/test_a.py, so
// herd's rendering can be compared with pytest's real output.
func pytestRun() *result.Run {
	return &result.Run{
		Info:      testInfo(),
		Collected: 8,
		Duration:  ms(40),
		Tests: []*result.Test{
			{NodeID: "test_a.py::test_pass", Outcome: result.Passed, Worker: "gw0", Duration: ms(1)},
			{NodeID: "test_a.py::test_fail", Outcome: result.Failed, Worker: "gw0", Duration: ms(1),
				Longrepr: failLongrepr, Message: "assert 1 == 2", HeadLine: "test_fail",
				Sections: []result.Section{
					{Title: "Captured stdout call", Content: "hello out\n"},
					{Title: "Captured stderr call", Content: "hello err\n"},
				}},
			{NodeID: "test_a.py::test_err", Outcome: result.Error, Worker: "gw1", Duration: ms(1),
				Longrepr: errLongrepr, Message: "RuntimeError: boom", HeadLine: "test_err"},
			{NodeID: "test_a.py::test_skip", Outcome: result.Skipped, Worker: "gw1",
				Longrepr: "test_a.py:11: Skipped: nope", Message: "nope"},
			{NodeID: "test_a.py::test_xf", Outcome: result.XFailed, Worker: "gw0", Message: "known"},
			{NodeID: "test_a.py::test_xp", Outcome: result.XPassed, Worker: "gw1", Message: "known2"},
			{NodeID: "test_a.py::test_warn", Outcome: result.Passed, Worker: "gw1"},
			{NodeID: "test_a.py::TestC::test_m", Outcome: result.Failed, Worker: "gw0", Duration: ms(1),
				Longrepr: methodLongrepr, Message: "assert 0"},
		},
		Warnings: []result.Warning{{
			NodeID:  "test_a.py::test_warn",
			Message: "/tmp/rep1/test_a.py:17: UserWarning: careful\n  warnings.warn(UserWarning(\"careful\"))\n",
		}},
	}
}

// mixedRun holds every outcome herd knows, including a crash by signal, a
// timeout, a teardown error after a failure and a test that never ran.
func mixedRun() *result.Run {
	run := pytestRun()
	run.Collected = 12
	run.Deselected = 1
	run.Duration = ms(75120)
	run.Tests[1].Extra = []result.Phase{{
		When:     "teardown",
		Longrepr: "\n    def fin():\n>       raise OSError(\"cleanup\")\nE       OSError: cleanup\n\nconftest.py:4: OSError\n",
		Message:  "OSError: cleanup",
	}}
	run.Tests = append(run.Tests,
		&result.Test{NodeID: "test_native.py::test_segv", Outcome: result.Crashed, Worker: "gw1",
			Duration: ms(120),
			Crash: &result.Crash{
				Death:      result.Death{Reason: result.DeathCrash, Signal: "SIGSEGV"},
				StderrTail: "Fatal Python error: Segmentation fault\n\nCurrent thread 0x00007f (most recent call first):\n  File \"/tmp/rep1/test_native.py\", line 5 in test_segv\n",
				Phase:      "call",
				PriorTests: []string{"test_a.py::test_err", "test_a.py::test_skip"},
			},
			Diagnosis: &result.Diagnosis{
				Rerun:   result.Passed,
				Cause:   "parallel-unsafe",
				Marker:  "@pytest.mark.parallel_unsafe",
				Summary: "crashed only beside other tests: rerun alone in a fresh worker it passed. Likely parallel-unsafe; add @pytest.mark.parallel_unsafe",
			}},
		&result.Test{NodeID: "test_native.py::test_exit", Outcome: result.Crashed, Worker: "gw0",
			Duration: ms(30),
			Crash:    &result.Crash{Death: result.Death{Reason: result.DeathCrash, ExitCode: intp(3)}, Phase: "setup"}},
		&result.Test{NodeID: "test_slow.py::test_hang", Outcome: result.Timeout, Worker: "gw0",
			Duration: 5 * time.Second, Message: "timeout after 5s",
			Longrepr: "Timeout: stack of MainThread:\n  File \"/tmp/rep1/test_slow.py\", line 3 in test_hang\n",
			Crash: &result.Crash{
				Death: result.Death{Reason: result.DeathTimeout, Signal: "SIGKILL", KillStage: "SIGKILL",
					Limit: 5 * time.Second},
				Phase:      "call",
				StderrTail: "Thread 0x00007f (most recent call first):\n  File \"/tmp/rep1/test_slow.py\", line 3 in test_hang\n",
			}},
		&result.Test{NodeID: "test_slow.py::test_after", Outcome: result.NotRun,
			Reason: "not run: interrupted"},
	)
	return run
}

// collectionErrorRun is a run that stopped because a module failed to
// import, as pytest does without --continue-on-collection-errors.
func collectionErrorRun() *result.Run {
	return &result.Run{
		Info:      testInfo(),
		Collected: 3,
		Duration:  ms(60),
		CollectionErrors: []result.CollectionError{{
			Path: "test_bad.py",
			Message: "ImportError while importing test module '/tmp/rep2/test_bad.py'.\n" +
				"Hint: make sure your test modules/packages have valid Python names.\n" +
				"Traceback:\n" +
				"/usr/lib/python3.11/importlib/__init__.py:126: in import_module\n" +
				"    return _bootstrap._gcd_import(name[level:], package, level)\n" +
				"test_bad.py:1: in <module>\n" +
				"    import nonexistent_mod\n" +
				"E   ModuleNotFoundError: No module named 'nonexistent_mod'\n",
		}},
		Interrupted:     true,
		InterruptReason: "1 error during collection",
	}
}

// replay feeds a Terminal the events a run would produce.
func replay(term *Terminal, run *result.Run) {
	info := run.Info
	term.Handle(result.Event{Kind: result.RunStarted, Info: &info})
	term.Handle(result.Event{Kind: result.Collected, Run: run})
	elapsed := time.Duration(0)
	for _, test := range run.Tests {
		if test.Worker == "" && test.Outcome == result.Skipped && !strings.Contains(test.NodeID, "::") {
			// A module skipped at collection has no events of its own.
			continue
		}
		if test.Outcome != result.NotRun {
			term.Handle(result.Event{Kind: result.TestStarted, Time: elapsed, Worker: test.Worker, NodeID: test.NodeID})
		}
		elapsed += test.Duration
		term.Handle(result.Event{Kind: result.TestFinished, Time: elapsed, Worker: test.Worker, NodeID: test.NodeID, Test: test})
	}
	term.Handle(result.Event{Kind: result.RunFinished, Time: run.Duration, Run: run})
}

// render replays run into a new Terminal and returns its output.
func render(t *testing.T, run *result.Run, opts TerminalOptions) string {
	t.Helper()
	var b bytes.Buffer
	term := NewTerminal(&b, opts)
	replay(term, run)
	if err := term.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
