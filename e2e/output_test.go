//go:build unix

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run herd and pytest side by side on one suite and
// compare what they print: the header, the progress letters, and every
// section below them, as the report package's tests compare herd's output
// with pytest 7.2.1's byte for byte.

// writeSuite writes files (path relative to the suite -> content) into a
// fresh directory and returns it.
func writeSuite(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "suite")
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// termOut is a terminal output cut into the parts herd's and pytest's are
// compared by.
type termOut struct {
	// header is the session header up to the collected line included,
	// without herd's own lines (herd's version, seed and rerun notes).
	header []string
	// collect are the lines plugins print right below the collected line.
	collect []string
	// letters are the progress letters, sorted: herd's workers finish tests
	// in another order than serial pytest.
	letters string
	// blankAfterProgress says a blank line follows the progress letters.
	blankAfterProgress bool
	// between are the other lines among the progress letters.
	between []string
	// sections maps each "=== title ===" section below the progress to its
	// text; the closing line is under "closing" with its duration cut.
	sections map[string]string
	order    []string
}

var (
	herdLineRE     = regexp.MustCompile(`^(herd \S+: \d+ workers?, python |herd seed: |rerunfailures: reruns are done by herd)`)
	collectedRE    = regexp.MustCompile(`^(collecting \.\.\. )?collected \d+ items?|^gw\d+ \[\d+\]`)
	progressRE     = regexp.MustCompile(`^(\S+\.py )?([.FEsxXRCTn]+)\s*(\[\s*\d+%\])?$`)
	sepRE          = regexp.MustCompile(`^[=!]+ (.*?) [=!]+$`)
	closingTimeRE  = regexp.MustCompile(` in \d+\.\d\ds( \(\d+:\d\d:\d\d\))?`)
	closingCountRE = regexp.MustCompile(`^(=+ )?(\d+ \w+.*) in T( =+)?$`)
)

// cutTerminal cuts a herd or pytest terminal output into its parts.
func cutTerminal(t *testing.T, out string) termOut {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var to termOut
	to.sections = map[string]string{}
	i := 0
	if len(lines) > 0 && strings.Contains(lines[0], "test session starts") {
		for ; i < len(lines); i++ {
			l := lines[i]
			if herdLineRE.MatchString(l) || strings.HasPrefix(l, "gw") && !collectedRE.MatchString(l) {
				continue
			}
			to.header = append(to.header, l)
			if collectedRE.MatchString(l) {
				i++
				break
			}
		}
		for ; i < len(lines) && lines[i] != ""; i++ {
			to.collect = append(to.collect, lines[i])
		}
		if i < len(lines) && lines[i] == "" {
			i++
		}
	}
	// The progress area runs to the first separator: letters, and under
	// -s the output of tests.
	var letters []byte
	start := i
	for ; i < len(lines); i++ {
		if sepRE.MatchString(lines[i]) || closingCountRE.MatchString(closingTimeRE.ReplaceAllString(lines[i], " in T")) {
			break
		}
		if m := progressRE.FindStringSubmatch(lines[i]); m != nil {
			letters = append(letters, m[2]...)
		} else if lines[i] != "" {
			to.between = append(to.between, lines[i])
		}
	}
	sort.Slice(letters, func(a, b int) bool { return letters[a] < letters[b] })
	to.letters = string(letters)
	to.blankAfterProgress = i > start && lines[i-1] == ""
	title := ""
	var body []string
	flush := func() {
		if title != "" || len(body) > 0 {
			to.sections[title] = strings.Join(body, "\n")
			to.order = append(to.order, title)
		}
	}
	for ; i < len(lines); i++ {
		l := closingTimeRE.ReplaceAllString(lines[i], " in T")
		if m := closingCountRE.FindStringSubmatch(l); m != nil && i == len(lines)-1 {
			flush()
			title, body = "closing", []string{m[2] + " in T"}
			continue
		}
		if m := sepRE.FindStringSubmatch(l); m != nil && (strings.HasPrefix(l, "===") || strings.HasPrefix(l, "!!!")) {
			flush()
			title, body = m[1], nil
			continue
		}
		body = append(body, l)
	}
	flush()
	return to
}

// diffLines reports the first difference of two lists of lines.
func diffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	for k := 0; k < len(got) || k < len(want); k++ {
		var g, w string
		if k < len(got) {
			g = got[k]
		}
		if k < len(want) {
			w = want[k]
		}
		if g != w {
			t.Errorf("%s differs at line %d:\n  herd:   %q\n  pytest: %q\n--- herd ---\n%s\n--- pytest ---\n%s",
				what, k+1, g, w, strings.Join(got, "\n"), strings.Join(want, "\n"))
			return
		}
	}
}

// warningBlocks are the entries of a warnings summary (location lines and
// message), sorted: herd's workers raise them in another order.
func warningBlocks(section string) []string {
	var blocks []string
	for _, b := range strings.Split(section, "\n\n") {
		if b = strings.TrimSpace(b); b != "" {
			blocks = append(blocks, b)
		}
	}
	sort.Strings(blocks)
	return blocks
}

// compareSections checks that herd printed every section pytest printed,
// with the same text, in the same order; the warnings summary's entries
// may come in another order.
func compareSections(t *testing.T, herd, pytest termOut) {
	t.Helper()
	diffLines(t, "section titles", herd.order, pytest.order)
	for _, title := range pytest.order {
		got, want := herd.sections[title], pytest.sections[title]
		if title == "warnings summary" {
			diffLines(t, "warnings summary", warningBlocks(got), warningBlocks(want))
			continue
		}
		diffLines(t, "section "+title, strings.Split(got, "\n"), strings.Split(want, "\n"))
	}
}

// outputSuite has failures of every kind pytest words differently under
// --tb=line, warnings raised at import and in a test, testpaths and
// pytest-timeout's ini options (lines of the header).
var outputSuite = map[string]string{
	"pytest.ini": "[pytest]\ntestpaths = tests\ntimeout = 300\ntimeout_method = thread\n",
	"tests/test_fail.py": `import unittest
import warnings

import pytest

warnings.warn(UserWarning("raised while test_fail.py is imported"))


def test_pass():
    pass


def test_assert():
    x = 1
    assert x == 2, "one is not two"


def test_long_diff():
    assert "a" * 30 == "b" * 30


def test_raises_multiline():
    raise ValueError("first line\nsecond line")


class TestCase(unittest.TestCase):
    def test_unittest(self):
        self.assertEqual(1, 2)


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_setup_error(broken):
    pass


@pytest.mark.xfail(strict=True, reason="known")
def test_strict_xpass():
    pass


def test_skip():
    pytest.skip("not here")


def test_warns():
    warnings.warn(UserWarning("raised by a test"))
`,
	"tests/test_more.py": `import warnings

warnings.warn(UserWarning("raised while test_more.py is imported"))


def test_one():
    pass


def test_two():
    pass
`,
}

// TestOutputMatchesPytest compares herd's terminal output with pytest's on
// outputSuite: the header line for line (pytest's rootdir line with its
// testpaths note, the plugins line, pytest-timeout's lines), the progress
// letters, and every section, --tb=line's one line per failure included;
// and the line after the progress with pytest-xdist's, whose progress
// letters herd prints.
func TestOutputMatchesPytest(t *testing.T) {
	needHerd(t)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"tb=line", []string{"--tb=line", "-rfE"}},
		{"tb=short", []string{"--tb=short"}},
		{"tb=line quiet", []string{"--tb=line", "-q", "-rfE"}},
		{"collect-each", []string{"--tb=line", "-rfE", "--collect-each"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := writeSuite(t, outputSuite)
			var pyArgs []string
			for _, a := range c.args {
				if a != "--collect-each" {
					pyArgs = append(pyArgs, a)
				}
			}
			py := pytestRun(t, dir, nil, pyArgs...)
			if py.Code != 1 || len(py.Outcomes) != 11 {
				t.Fatalf("suite broken: pytest exits %d with %d tests, want 1 and 11\n%s", py.Code, len(py.Outcomes), tail(py.Stdout))
			}
			stdout, stderr, code, rep := runHerd(t, dir, append([]string{"-p", "no:cacheprovider"}, c.args...)...)
			if code != 1 {
				t.Errorf("herd exits %d, want 1\nstderr:\n%s", code, tail(stderr))
			}
			diffOutcomes(t, rep.outcomes(), py.Outcomes)
			h, p := cutTerminal(t, stdout), cutTerminal(t, py.Stdout)
			diffLines(t, "header", h.header, p.header)
			diffLines(t, "lines below the collected line", h.collect, p.collect)
			if h.letters != p.letters {
				t.Errorf("progress letters: herd %q, pytest %q", h.letters, p.letters)
			}
			compareSections(t, h, p)
			if c.name == "tb=line" {
				// The one line pytest prints per failure, for the record.
				want := filepath.Join(dir, "tests", "test_fail.py") + ":15: AssertionError: one is not two"
				if !strings.Contains(h.sections["FAILURES"], want) {
					t.Errorf("FAILURES has no line %q:\n%s", want, h.sections["FAILURES"])
				}
			}

			// herd's progress letters are pytest-xdist's: what follows
			// them is laid out as under pytest -n 2.
			xd := pytestRun(t, dir, nil, append([]string{"-n", "2"}, pyArgs...)...)
			x := cutTerminal(t, xd.Stdout)
			if h.blankAfterProgress != x.blankAfterProgress {
				t.Errorf("blank line after the progress letters: herd %v, pytest -n 2 %v\n--- herd ---\n%s\n--- pytest -n 2 ---\n%s",
					h.blankAfterProgress, x.blankAfterProgress, tail(stdout), tail(xd.Stdout))
			}
		})
	}
}

// TestOutputHeaderVerboseAndLastFailed compares the header under -v
// (pytest's executable, cachedir line, "collecting ... collected") with
// herd's --timeout given as pytest-timeout's, and under --lf the
// "run-last-failure:" line below the collected line.
func TestOutputHeaderVerboseAndLastFailed(t *testing.T) {
	needHerd(t)
	dir := writeSuite(t, outputSuite)
	env := baseEnv()
	// A first run records the failures --lf reruns.
	if r := run(t, dir, env, python, "-m", "pytest", "-q", "--tb=no"); r.Code != 1 {
		t.Fatalf("suite broken: pytest exits %d, want 1\n%s", r.Code, tail(r.Stdout))
	}
	for _, args := range [][]string{
		{"-v", "--timeout", "7", "--tb=no"},
		{"--lf", "--tb=no"},
		{"--lf", "-v", "--tb=no"},
	} {
		py := run(t, dir, env, python, append([]string{"-m", "pytest"}, args...)...)
		hd := run(t, dir, env, herdBin, append([]string{"--python", python, "-n", "2"}, args...)...)
		if py.Code != 1 || hd.Code != 1 {
			t.Errorf("%v: pytest exits %d, herd %d, want 1 and 1\n%s", args, py.Code, hd.Code, tail(hd.Stderr))
		}
		h, p := cutTerminal(t, hd.Stdout), cutTerminal(t, py.Stdout)
		name := strings.Join(args, " ")
		diffLines(t, name+": header", h.header, p.header)
		diffLines(t, name+": lines below the collected line", h.collect, p.collect)
		if strings.Contains(name, "--lf") && (len(h.collect) == 0 || !strings.HasPrefix(h.collect[0], "run-last-failure: ")) {
			t.Errorf("%s: no run-last-failure line below the collected line: %q", name, h.collect)
		}
	}
}

// killSuite has a test that outlives its timeout, a test that crashes its
// process, and slow tests that write a file when they start, so a test can
// press Ctrl-C while they run.
var killSuite = map[string]string{
	"test_kill.py": `import os
import time

import pytest


def test_before():
    pass


@pytest.mark.timeout(2)
def test_hang():
    time.sleep(60)


def test_crash():
    os._exit(3)


def test_after():
    pass
`,
	"slow/test_slow0.py": slowModule,
	"slow/test_slow1.py": slowModule,
}

// slowModule is a test that notes its start in $STARTED_DIR and then
// sleeps; two such modules run on two workers at once.
const slowModule = `import os
import time


def test_slow():
    open(os.path.join(os.environ["STARTED_DIR"], os.path.basename(__file__)), "w").close()
    time.sleep(60)
`

// TestOutputHerdKills checks what herd prints mid-progress when it kills a
// worker itself: the cause (a timeout, Ctrl-C) in its own words, never
// "worker died: killed by SIGTERM"; a crash herd did not cause still says
// how the worker died. pytest runs the same tests alongside (with
// pytest-timeout's signal method, and a real SIGINT), for the outcomes
// around the kills and the exit codes.
func TestOutputHerdKills(t *testing.T) {
	needHerd(t)
	t.Run("timeout and crash", func(t *testing.T) {
		t.Parallel()
		dir := writeSuite(t, killSuite)
		// pytest's os._exit would end its whole session: pytest runs the
		// others.
		py := pytestRun(t, dir, nil, "-o", "timeout_method=signal", "-k", "not crash", "test_kill.py")
		stdout, stderr, code, rep := runHerd(t, dir, "-p", "no:cacheprovider", "test_kill.py")
		if code != 1 || py.Code != 1 {
			t.Errorf("herd exits %d, pytest %d; want 1 and 1\nstderr:\n%s", code, py.Code, tail(stderr))
		}
		if rep.outcomes()["test_kill.py::test_crash"] != "crashed" {
			t.Errorf("test_crash: %s, want crashed", rep.outcomes()["test_kill.py::test_crash"])
		}
		// pytest-timeout fails the test; herd says timeout.
		for _, id := range []string{"test_kill.py::test_before", "test_kill.py::test_hang", "test_kill.py::test_after"} {
			want := py.Outcomes[id]
			if id == "test_kill.py::test_hang" && want == "failed" {
				want = "timeout"
			}
			if got := rep.outcomes()[id]; got != want {
				t.Errorf("%s: herd %s, pytest %s (timeout for herd)", id, got, py.Outcomes[id])
			}
		}
		extras := cutTerminal(t, stdout).between
		want := []string{
			`^\[gw\d\] test_kill\.py::test_hang timed out after 2s: worker killed \(SIGTERM after stack dump\)$`,
			`^\[gw\d\] worker died: exit code 3$`,
		}
		sort.Strings(extras)
		if len(extras) != len(want) {
			t.Fatalf("lines among the progress letters: %q, want one per death\n%s", extras, tail(stdout))
		}
		for k, re := range want {
			if !regexp.MustCompile(re).MatchString(extras[k]) {
				t.Errorf("line %q does not match %s", extras[k], re)
			}
		}
	})
	t.Run("ctrl-c", func(t *testing.T) {
		t.Parallel()
		dir := writeSuite(t, killSuite)
		py := interruptRun(t, dir, 1, python, "-m", "pytest", "-p", "no:cacheprovider", "slow")
		hd := interruptRun(t, dir, 2, herdBin, "--python", python, "-n", "2", "-p", "no:cacheprovider", "slow")
		if py.Code != 2 || hd.Code != 2 {
			t.Errorf("after Ctrl-C herd exits %d, pytest %d; want 2 and 2\nherd stderr:\n%s", hd.Code, py.Code, tail(hd.Stderr))
		}
		if !strings.Contains(py.Stdout, "KeyboardInterrupt") {
			t.Errorf("pytest did not see the Ctrl-C:\n%s", tail(py.Stdout))
		}
		// A worker herd killed after Ctrl-C did not die: no death line
		// among the progress letters; its test is interrupted, and says so.
		for _, l := range cutTerminal(t, hd.Stdout).between {
			if strings.Contains(l, "worker died") || strings.Contains(l, "killed by") {
				t.Errorf("a kill after Ctrl-C printed as a death: %q\n%s", l, tail(hd.Stdout))
			}
		}
		for _, id := range []string{"slow/test_slow0.py::test_slow", "slow/test_slow1.py::test_slow"} {
			if !strings.Contains(hd.Stdout, "INTERRUPTED "+id+" - still running") {
				t.Errorf("%s is not reported interrupted:\n%s", id, tail(hd.Stdout))
			}
		}
	})
}

// interruptRun runs a command in dir whose tests write a file in
// $STARTED_DIR when they start, sends it SIGINT (the terminal's Ctrl-C)
// once n have, and returns what it did.
func interruptRun(t *testing.T, dir string, n int, name string, args ...string) execResult {
	t.Helper()
	started := t.TempDir()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = baseEnv("STARTED_DIR=" + started)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(commandTimeout)
	for {
		if ents, _ := os.ReadDir(started); len(ents) >= n {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			t.Fatalf("%s: the slow tests never started\n%s\n%s", name, tail(stdout.String()), tail(stderr.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(commandTimeout):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("%s did not end after SIGINT\n%s", name, tail(stdout.String()))
	}
	return execResult{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
}

// liveModule prints, in every phase of every test, lines that name the
// test: on stdout, on stderr, without a newline at the end of the call,
// from a child process; and one line when it is imported.
const liveModule = `import subprocess
import sys

import pytest

print("LIVE import %s" % __name__)


@pytest.fixture
def fx(request):
    print("LIVE %s setup" % request.node.nodeid)
    yield
    print("LIVE %s teardown" % request.node.nodeid)


@pytest.mark.parametrize("n", range(80))
def test_print(fx, n, request):
    name = request.node.nodeid
    print("LIVE %s out" % name)
    sys.stderr.write("LIVE %s err\n" % name)
    if n % 20 == 0:
        subprocess.run([sys.executable, "-c", "print('LIVE %s child')" % name], check=True)
    print("LIVE %s unfinished" % name, end="")
`

var (
	liveRE     = regexp.MustCompile(`LIVE (test_live_\w\.py::test_print\[\d+\]) (setup|teardown|out|err|child|unfinished)`)
	livePrefix = regexp.MustCompile(`^\[gw\d+\]( (\S+::\S+):)? (.*)$`)
)

// liveRecords counts the "LIVE nodeid what" records in out.
func liveRecords(out string) map[string]int {
	m := map[string]int{}
	for _, l := range strings.Split(out, "\n") {
		for _, r := range liveRE.FindAllString(l, -1) {
			m[r]++
		}
	}
	return m
}

// TestOutputLive runs a suite whose tests print in every phase under -s,
// with herd -n 2 and serial pytest: herd passes every line through (stdout
// to stdout, stderr to stderr) as pytest does, each prefixed with the test
// that printed it, which the line itself names; lines printed while a file
// is imported carry the worker only. What herd prints besides matches
// pytest's.
//
// -s works the same from ini addopts, which herd does not read itself: the
// workers tell it.
func TestOutputLive(t *testing.T) {
	needHerd(t)
	for _, tc := range []struct {
		name string
		ini  bool
	}{
		{name: "command line"},
		{name: "ini addopts", ini: true},
	} {
		t.Run(tc.name, func(t *testing.T) { checkLive(t, tc.ini) })
	}
}

func checkLive(t *testing.T, ini bool) {
	files := map[string]string{}
	for _, m := range []string{"a", "b", "c"} {
		files["test_live_"+m+".py"] = liveModule
	}
	var args []string
	if ini {
		files["pytest.ini"] = "[pytest]\naddopts = -s\n"
	} else {
		args = []string{"-s"}
	}
	dir := writeSuite(t, files)
	py := pytestRun(t, dir, nil, args...)
	if py.Code != 0 || len(py.Outcomes) != 240 {
		t.Fatalf("suite broken: pytest exits %d with %d tests\n%s", py.Code, len(py.Outcomes), tail(py.Stdout))
	}
	stdout, stderr, code, rep := runHerd(t, dir, append(args, "-p", "no:cacheprovider")...)
	if code != 0 {
		t.Fatalf("herd exits %d\n%s", code, tail(stderr))
	}
	diffOutcomes(t, rep.outcomes(), py.Outcomes)

	// Every line of live output names its test, and it is the test that
	// printed it.
	imports := 0
	var rest []string
	for _, stream := range []struct{ name, out string }{{"stdout", stdout}, {"stderr", stderr}} {
		for _, l := range strings.Split(stream.out, "\n") {
			m := livePrefix.FindStringSubmatch(l)
			if m == nil || !strings.Contains(l, "LIVE") {
				if stream.name == "stdout" {
					rest = append(rest, l)
				}
				continue
			}
			nodeid, text := m[2], m[3]
			if strings.HasPrefix(text, "LIVE import ") {
				imports++
				if nodeid != "" {
					t.Errorf("%s: a line printed at import is given to %s: %q", stream.name, nodeid, l)
				}
				continue
			}
			recs := liveRE.FindAllStringSubmatch(text, -1)
			if len(recs) == 0 {
				t.Errorf("%s: unexpected line %q", stream.name, l)
				continue
			}
			for _, r := range recs {
				if nodeid != r[1] {
					t.Errorf("%s: %q printed by %s is given to %q", stream.name, r[0], r[1], nodeid)
				}
				if (r[2] == "err") != (stream.name == "stderr") {
					t.Errorf("%q is on herd's %s", r[0], stream.name)
				}
			}
		}
	}
	if imports < 3 {
		t.Errorf("%d lines printed while a file was imported, want one per file at least", imports)
	}

	// herd passes through every line pytest shows, as often.
	want := liveRecords(py.Stdout + "\n" + py.Stderr)
	got := liveRecords(stdout + "\n" + stderr)
	var diffs []string
	for r, n := range want {
		if got[r] != n {
			diffs = append(diffs, fmt.Sprintf("%s: herd %d, pytest %d", r, got[r], n))
		}
	}
	for r, n := range got {
		if _, ok := want[r]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: herd %d, pytest 0", r, n))
		}
	}
	if len(want) != 240*5+3*4 || len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("%d records from pytest; differences:\n  %s", len(want), strings.Join(limit(diffs, 20), "\n  "))
	}

	// Without the live lines, herd's output is pytest's: its header (where
	// pytest prints what files print at import), the letters and the
	// summary.
	var pyRest []string
	for _, l := range strings.Split(py.Stdout, "\n") {
		if !strings.HasPrefix(l, "LIVE import ") {
			pyRest = append(pyRest, l)
		}
	}
	h, p := cutTerminal(t, strings.Join(rest, "\n")), cutTerminal(t, strings.Join(pyRest, "\n"))
	diffLines(t, "header", h.header, p.header)
	if len(h.between) > 0 || h.letters != strings.Repeat(".", 240) {
		t.Errorf("progress: letters %q and other lines %q", h.letters, h.between)
	}
	compareSections(t, h, p)
}
