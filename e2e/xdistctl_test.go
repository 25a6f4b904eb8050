//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// xdist's controller-side hooks run where xdist runs them, and when:
// testdata/suites/xdist_ctl memoizes a setting in the controller's
// pytest_configure, hands it to each worker from pytest_configure_node (bytes,
// a tuple, a frozenset and a complex included), restores it in the worker's
// pytest_configure (KeyError if absent), and logs pytest_testnodedown and the
// controller's pytest_sessionfinish. herd -n 2 and pytest -n 2 must agree.

const ctlSuite = "xdist_ctl"

// ctlLog reads the suite's log, lines sorted: the order of two workers'
// hooks is the order they happened to end in.
func ctlLog(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the controller hooks' log: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	sort.Strings(lines)
	return lines
}

func TestXdistControllerHooksMatchXdist(t *testing.T) {
	dir := copySuite(t, ctlSuite)
	herdLog := filepath.Join(t.TempDir(), "herd.log")
	stdout, stderr, code, rep := runHerdEnv(t, dir, []string{"CTL_LOG=" + herdLog})
	if !rep.Present {
		t.Fatalf("herd wrote no report (exit %d)\nstdout:\n%s\nstderr:\n%s", code, tail(stdout), tail(stderr))
	}
	pyLog := filepath.Join(t.TempDir(), "pytest.log")
	py := pytestRun(t, dir, []string{"CTL_LOG=" + pyLog}, "-n", "2")
	if code != py.Code || code != 1 {
		t.Errorf("exit codes: herd %d, pytest -n 2 %d, want 1 (one test fails)\nherd stderr:\n%s", code, py.Code, tail(stderr))
	}
	diffOutcomes(t, rep.outcomes(), py.Outcomes)
	got, want := ctlLog(t, herdLog), ctlLog(t, pyLog)
	// Which worker ran the failing test (and so ended with exit status 1)
	// is the scheduler's choice, under xdist as under herd: compare the
	// down calls without their worker, and check each worker went down.
	for _, w := range []string{"gw0", "gw1"} {
		if !hasPrefixLine(got, "testnodedown "+w+" ") {
			t.Errorf("herd called no pytest_testnodedown for %s:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if a, b := anyWorker(got), anyWorker(want); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("controller hooks differ\nherd:\n%s\npytest -n 2:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range []string{
		"controller configure numprocesses=2",
		"configure_node gw0", "configure_node gw1",
		"controller sessionfinish exitstatus=1",
	} {
		if !containsLine(got, line) {
			t.Errorf("herd's log lacks %q:\n%s", line, strings.Join(got, "\n"))
		}
	}
	if strings.Contains(stdout+stderr, "INTERNALERROR") {
		t.Errorf("herd reported an internal error:\n%s\n%s", tail(stdout), tail(stderr))
	}
}

// A worker that was handed no test ends its session as an xdist worker
// does, which collected the whole suite: exit status 0 (1 where its tests
// failed), never 5 (no tests collected). With one selected test, one of
// herd's two workers never runs any.
func TestXdistControllerIdleWorkerExitStatus(t *testing.T) {
	dir := copySuite(t, ctlSuite)
	herdLog := filepath.Join(t.TempDir(), "herd.log")
	stdout, stderr, code, rep := runHerdEnv(t, dir, []string{"CTL_LOG=" + herdLog}, "-k", "test_memo_restored")
	if !rep.Present {
		t.Fatalf("herd wrote no report (exit %d)\nstdout:\n%s\nstderr:\n%s", code, tail(stdout), tail(stderr))
	}
	pyLog := filepath.Join(t.TempDir(), "pytest.log")
	py := pytestRun(t, dir, []string{"CTL_LOG=" + pyLog}, "-n", "2", "-k", "test_memo_restored")
	if code != 0 || py.Code != 0 {
		t.Errorf("exit codes: herd %d, pytest -n 2 %d, want 0\nherd stderr:\n%s", code, py.Code, tail(stderr))
	}
	diffOutcomes(t, rep.outcomes(), py.Outcomes)
	got, want := anyWorker(ctlLog(t, herdLog)), anyWorker(ctlLog(t, pyLog))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("controller hooks differ\nherd:\n%s\npytest -n 2:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !containsLine(got, "testnodedown gw? error=None ran=yes exitstatus=0") || containsLine(got, "testnodedown gw? error=None ran=yes exitstatus=5") {
		t.Errorf("want every worker down with exit status 0:\n%s", strings.Join(got, "\n"))
	}
}

// A worker that crashes gets pytest_testnodedown with xdist's error, and its
// replacement gets pytest_configure_node before it starts. xdist names the
// replacement gw2; herd's keeps its slot's id.
func TestXdistControllerCrashedWorker(t *testing.T) {
	dir := copySuite(t, ctlSuite)
	tmp := t.TempDir()
	herdLog := filepath.Join(tmp, "herd.log")
	_, stderr, code, rep := runHerdEnv(t, dir, []string{"CTL_LOG=" + herdLog, "CRASH_FLAG=" + filepath.Join(tmp, "herd.flag")},
		"--no-diagnose", "crash", "tests")
	if !rep.Present {
		t.Fatalf("herd wrote no report (exit %d)\nstderr:\n%s", code, tail(stderr))
	}
	pyLog := filepath.Join(tmp, "pytest.log")
	py := pytestRun(t, dir, []string{"CTL_LOG=" + pyLog, "CRASH_FLAG=" + filepath.Join(tmp, "pytest.flag")}, "-n", "2", "crash", "tests")
	if code != 1 || py.Code != 1 {
		t.Errorf("exit codes: herd %d, pytest -n 2 %d, want 1", code, py.Code)
	}
	got, want := ctlLog(t, herdLog), ctlLog(t, pyLog)
	count := func(lines []string, prefix string) int {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	// Both: three worker processes configured and ended, one of them with
	// xdist's error, then the controller's sessionfinish with exit 1.
	for _, log := range []struct {
		name  string
		lines []string
	}{{"herd", got}, {"pytest -n 2", want}} {
		if n := count(log.lines, "configure_node "); n != 3 {
			t.Errorf("%s: %d pytest_configure_node calls, want 3 (two workers and a replacement):\n%s", log.name, n, strings.Join(log.lines, "\n"))
		}
		if n := count(log.lines, "testnodedown "); n != 3 {
			t.Errorf("%s: %d pytest_testnodedown calls, want 3:\n%s", log.name, n, strings.Join(log.lines, "\n"))
		}
		crashed := 0
		for _, l := range log.lines {
			if strings.HasPrefix(l, "testnodedown ") && strings.Contains(l, "error=Not properly terminated ran=None exitstatus=None") {
				crashed++
			}
		}
		if crashed != 1 {
			t.Errorf("%s: want one pytest_testnodedown with error=Not properly terminated:\n%s", log.name, strings.Join(log.lines, "\n"))
		}
		if !containsLine(log.lines, "controller sessionfinish exitstatus=1") {
			t.Errorf("%s: no controller sessionfinish with exit status 1:\n%s", log.name, strings.Join(log.lines, "\n"))
		}
	}
	// herd's replacement keeps the crashed worker's id.
	var crashedID string
	for _, l := range got {
		if strings.Contains(l, "error=Not properly terminated") {
			crashedID = strings.Fields(l)[1]
		}
	}
	if count(got, "configure_node "+crashedID) != 2 {
		t.Errorf("herd: the replacement of %s was not configured as %s:\n%s", crashedID, crashedID, strings.Join(got, "\n"))
	}
	if !containsLine(want, "configure_node gw2") {
		t.Errorf("pytest -n 2: the replacement was expected as gw2:\n%s", strings.Join(want, "\n"))
	}
}

// A controller hook that raises ends herd's run with the hook's traceback,
// one herd line and pytest's INTERNALERROR exit code, 3.
func TestXdistControllerHookRaises(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"conftest.py": "def pytest_configure_node(node):\n    raise RuntimeError('no database for ' + node.gateway.id)\n",
		"test_a.py":   "def test_a():\n    pass\n",
	})
	stdout, stderr, code, _ := runHerd(t, dir)
	py := pytestRun(t, dir, nil, "-n", "2")
	if code != 3 || py.Code != 3 {
		t.Errorf("exit codes: herd %d, pytest -n 2 %d, want 3", code, py.Code)
	}
	if !strings.Contains(stderr, "herd: xdist controller: pytest_configure_node for gw") ||
		!strings.Contains(stderr, "RuntimeError: no database for gw") {
		t.Errorf("herd's stderr lacks the error line or the hook's traceback:\n%s", stderr)
	}
	if strings.Contains(stdout+stderr, "herd_ctl.py") || strings.Contains(stdout+stderr, "panic") {
		t.Errorf("herd showed its own traceback:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
}

func containsLine(lines []string, line string) bool {
	for _, l := range lines {
		if l == line {
			return true
		}
	}
	return false
}

// hasPrefixLine reports whether a line of lines starts with prefix.
func hasPrefixLine(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// anyWorker is the hook log with the worker left out of its
// pytest_testnodedown lines, sorted.
func anyWorker(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "testnodedown "); ok {
			if _, after, ok := strings.Cut(rest, " "); ok {
				l = "testnodedown gw? " + after
			}
		}
		out[i] = l
	}
	sort.Strings(out)
	return out
}
