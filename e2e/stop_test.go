//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// event is one line of herd's --events stream.
type event struct {
	Event   string  `json:"event"`
	Time    float64 `json:"time"`
	Worker  string  `json:"worker"`
	NodeID  string  `json:"nodeid"`
	Outcome string  `json:"outcome"`
}

func readEvents(t *testing.T, path string) []event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read event stream: %v", err)
	}
	var evs []event
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("bad event line %q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// bangLine is the "!!!!! text !!!!!" line of stdout, or "".
func bangLine(stdout string) string {
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "!!!") {
			return strings.TrimRight(l, " ")
		}
	}
	return ""
}

// notRunLines are the "NOT RUN ..." lines of the short test summary.
func notRunLines(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "NOT RUN ") {
			out = append(out, l)
		}
	}
	return out
}

// stopSuite: a test that fails at once first, then tests of 1 s, in two
// files so that both workers have work of their own from the start.
var stopSuite = map[string]string{
	"test_a.py": `import time

def test_fail_first():
    time.sleep(0.2)
    assert False

def test_fail_second():
    time.sleep(0.2)
    assert False
` + slowTests("a", 5),
	"test_b.py": slowTests("b", 6),
}

func slowTests(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("import time\n")
	for i := 0; i < n; i++ {
		b.WriteString("\ndef test_" + prefix + "_slow_" + string(rune('0'+i)) + "():\n    time.sleep(1)\n")
	}
	return b.String()
}

// TestStopAfterFailures: once the failure that reaches -x or --maxfail is
// known, no worker starts another test; the tests that were running finish.
// The failures and the stop line are pytest's (serial and -n 2), the closing
// line counts the tests not run, and the short summary lists them one by
// one only when -r asks for herd's letter n (-ra and -rA include it).
func TestStopAfterFailures(t *testing.T) {
	needHerd(t)
	t.Parallel()
	for _, c := range []struct {
		name       string
		args       []string
		wantFailed int
		wantReason string
	}{
		{"-x", []string{"-x"}, 1, "stopped after the first failure (-x)"},
		{"--maxfail=2", []string{"--maxfail=2"}, 2, "stopped after 2 failures (--maxfail=2)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, stopSuite)
			serial := pytestRun(t, dir, nil, c.args...)
			xdist := pytestRun(t, dir, nil, append([]string{"-n", "2"}, c.args...)...)
			evPath := filepath.Join(t.TempDir(), "events.ndjson")
			stdout, stderr, code, rep := runHerd(t, dir, append([]string{"--events", evPath}, c.args...)...)
			// xdist exits with 2 under --maxfail=2 (its controller raises
			// Interrupted and says so in a second "!!!" line); herd exits
			// as serial pytest does.
			if code != 1 || serial.Code != 1 {
				t.Errorf("exit codes: herd %d, pytest %d (pytest -n 2: %d); want 1\nherd stderr:\n%s", code, serial.Code, xdist.Code, tail(stderr))
			}
			checkReport(t, rep, 13)
			got := lineCounts(closingLine(stdout))
			for _, ref := range []struct {
				name string
				out  string
			}{{"pytest", serial.Stdout}, {"pytest -n 2", xdist.Stdout}} {
				want := lineCounts(closingLine(ref.out))
				if got["failed"] != want["failed"] || got["failed"] != c.wantFailed {
					t.Errorf("herd: %q, %s: %q; want %d failed in both", closingLine(stdout), ref.name, closingLine(ref.out), c.wantFailed)
				}
				// pytest's own words, framed alike: "stopping after N failures".
				if hb, pb := bangLine(stdout), bangLine(ref.out); hb != pb || hb == "" {
					t.Errorf("stop line:\n  herd:   %q\n  %s: %q", hb, ref.name, pb)
				}
			}
			// Only the tests running when the run stopped may have passed
			// (one per other worker): xdist lets as many finish.
			if got["passed"] > 1 {
				t.Errorf("%d tests passed after the stop, at most 1 (the one running on the other worker) may: %q", got["passed"], closingLine(stdout))
			}
			notRun := 13 - c.wantFailed - got["passed"]
			if rep.Summary["not_run"] != notRun || notRunCount(closingLine(stdout)) != notRun {
				t.Errorf("closing line %q, summary %v; want %d not run", closingLine(stdout), rep.Summary, notRun)
			}
			for _, tc := range rep.Tests {
				if tc.Outcome == "not_run" && !strings.Contains(string(rep.raw), `"reason": "not run: `+c.wantReason+`"`) {
					t.Errorf("%s: no reason %q in the JSON report", tc.NodeID, c.wantReason)
					break
				}
			}
			// No test starts once the failure that stopped the run is known.
			fails := 0
			stopped := -1.0
			for _, ev := range readEvents(t, evPath) {
				switch {
				case ev.Event == "test_finished" && ev.Outcome == "failed":
					fails++
					if fails == c.wantFailed {
						stopped = ev.Time
					}
				case ev.Event == "test_started" && stopped >= 0:
					t.Errorf("%s started on %s at %.3fs, after the run stopped at %.3fs", ev.NodeID, ev.Worker, ev.Time, stopped)
				}
			}
			if stopped < 0 {
				t.Errorf("the event stream shows no %d-th failure", c.wantFailed)
			}
			// The default -r (fE) lists no test that did not run.
			if lines := notRunLines(stdout); len(lines) != 0 {
				t.Errorf("default -r lists %d NOT RUN lines:\n%s", len(lines), strings.Join(limit(lines, 5), "\n"))
			}
			// -rn, -ra and -rA list each, with the option the user gave.
			for _, r := range []string{"-rn", "-ra", "-rA"} {
				out, _, _, _ := runHerd(t, dir, append([]string{r}, c.args...)...)
				lines := notRunLines(out)
				if len(lines) == 0 || len(lines) != notRunCount(closingLine(out)) {
					t.Errorf("herd %s: %d NOT RUN lines, closing line %q", r, len(lines), closingLine(out))
				}
				for _, l := range lines {
					if !strings.HasSuffix(l, " - "+c.wantReason) {
						t.Errorf("herd %s: %q does not end with the reason %q", r, l, c.wantReason)
						break
					}
				}
			}
			if out, _, _, _ := runHerd(t, dir, append([]string{"-qq"}, c.args...)...); len(notRunLines(out)) != 0 {
				t.Errorf("herd -qq lists tests not run:\n%s", tail(out))
			}
		})
	}
}

var notRunRE = regexp.MustCompile(`(\d+) not run`)

// notRunCount is the "N not run" count of a closing line.
func notRunCount(line string) int {
	m := notRunRE.FindStringSubmatch(line)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// interruptSuite: two tests that sleep long (they note when they start),
// then quick ones.
var interruptSuite = map[string]string{
	"test_int.py": `import os
import time


def _started(name):
    open(os.path.join(os.environ["STARTED_DIR"], name), "w").close()


def test_slow_a():
    _started("a")
    time.sleep(60)


def test_slow_b():
    _started("b")
    time.sleep(60)


def test_fast_1():
    pass


def test_fast_2():
    pass


def test_fast_3():
    pass
`,
}

// runUntil starts name args in dir, waits until ready holds, sends it SIGINT
// (twice, 300 ms apart, when twice), and returns what it printed and its
// exit code once it ended.
func runUntil(t *testing.T, dir string, env []string, ready func() bool, twice bool, name string, args ...string) (execResult, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); !ready(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatalf("%s never got ready\nstdout:\n%s\nstderr:\n%s", name, tail(stdout.String()), tail(stderr.String()))
		}
	}
	// Only the process itself, as a terminal's Ctrl-C reaches pytest
	// (herd's workers lead process groups of their own).
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	if twice {
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGINT)
	}
	err := cmd.Wait()
	took := time.Since(sent)
	res := execResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s did not end after SIGINT\nstdout:\n%s", name, tail(res.Stdout))
	}
	if exitErr, ok := err.(*exec.ExitError); ok {
		res.Code = exitErr.ExitCode()
	}
	return res, took
}

// TestCtrlC: SIGINT while tests sleep. Like pytest, herd prints the
// KeyboardInterrupt line and exits with 2, and no test starts after the
// signal; the tests still running after the grace period (or at a second
// Ctrl-C) are "interrupted", those never started are not run.
func TestCtrlC(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, interruptSuite)

	// pytest, serial: interrupted in test_slow_a.
	pyStarted := t.TempDir()
	py, _ := runUntil(t, dir, baseEnv("STARTED_DIR="+pyStarted), func() bool {
		_, err := os.Stat(filepath.Join(pyStarted, "a"))
		return err == nil
	}, false, python, "-m", "pytest", "-p", "no:cacheprovider")
	if py.Code != 2 || !strings.Contains(bangLine(py.Stdout), " KeyboardInterrupt ") {
		t.Fatalf("pytest: exit %d, stop line %q; want 2 and KeyboardInterrupt\n%s", py.Code, bangLine(py.Stdout), tail(py.Stdout))
	}

	for _, c := range []struct {
		name       string
		twice      bool
		wantReason string
		within     time.Duration
	}{
		{"first Ctrl-C", false, "still running 2s after Ctrl-C, killed", 2 * time.Second},
		{"second Ctrl-C", true, "killed at the second Ctrl-C", 300 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			started := t.TempDir()
			reportPath := filepath.Join(t.TempDir(), "herd.json")
			evPath := filepath.Join(t.TempDir(), "events.ndjson")
			// Ready once test_slow_a runs and the run is quiet: every other
			// test that started has finished, and nothing happened for
			// half a second.
			var startedBefore map[string]bool
			lastLen, quietSince := -1, time.Now()
			ready := func() bool {
				if _, err := os.Stat(filepath.Join(started, "a")); err != nil {
					return false
				}
				data, _ := os.ReadFile(evPath)
				if len(data) != lastLen {
					lastLen, quietSince = len(data), time.Now()
					return false
				}
				if time.Since(quietSince) < 500*time.Millisecond {
					return false
				}
				startedBefore = map[string]bool{}
				for _, ev := range readEvents(t, evPath) {
					if ev.Event == "test_started" {
						startedBefore[ev.NodeID] = true
					}
				}
				return true
			}
			res, took := runUntil(t, dir, baseEnv("STARTED_DIR="+started), ready, c.twice,
				herdBin, "--python", python, "-n", "2", "-p", "no:cacheprovider",
				"--report-json", reportPath, "--events", evPath)
			if res.Code != 2 {
				t.Errorf("herd exits %d after SIGINT, want 2 (pytest: %d)\n%s", res.Code, py.Code, tail(res.Stdout+res.Stderr))
			}
			if hb, pb := bangLine(res.Stdout), bangLine(py.Stdout); hb != pb {
				t.Errorf("interrupt line:\n  herd:   %q\n  pytest: %q", hb, pb)
			}
			// The slow tests sleep 60 s: herd ends them after the grace
			// period, or at once at the second Ctrl-C.
			if took > c.within+5*time.Second {
				t.Errorf("herd took %v after SIGINT, want about %v", took.Round(time.Millisecond), c.within)
			}
			var rep struct {
				Tests []struct {
					NodeID  string `json:"nodeid"`
					Outcome string `json:"outcome"`
					Reason  string `json:"reason"`
				} `json:"tests"`
			}
			data, err := os.ReadFile(reportPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			counts := map[string]int{}
			var interrupted []string
			for _, tc := range rep.Tests {
				var want, reason string
				switch {
				case !startedBefore[tc.NodeID]:
					want, reason = "not_run", "not run: interrupted (Ctrl-C)"
				case strings.Contains(tc.NodeID, "slow"):
					want, reason = "interrupted", c.wantReason
					interrupted = append(interrupted, tc.NodeID)
				default:
					want = "passed"
				}
				counts[want]++
				if tc.Outcome != want || tc.Reason != reason {
					t.Errorf("%s: %s %q, want %s %q", tc.NodeID, tc.Outcome, tc.Reason, want, reason)
				}
			}
			if !startedBefore["test_int.py::test_slow_a"] {
				t.Errorf("test_slow_a did not start before SIGINT")
			}
			for _, ev := range readEvents(t, evPath) {
				if ev.Event == "test_started" && !startedBefore[ev.NodeID] {
					t.Errorf("%s started after SIGINT", ev.NodeID)
				}
			}
			want := ""
			for _, part := range []string{"passed", "interrupted", "not_run"} {
				if counts[part] > 0 {
					if want != "" {
						want += ", "
					}
					want += strconv.Itoa(counts[part]) + " " + strings.ReplaceAll(part, "_", " ")
				}
			}
			if !strings.Contains(closingLine(res.Stdout), " "+want+" in ") {
				t.Errorf("closing line %q, want %q", closingLine(res.Stdout), want)
			}
			// The default short summary names the interrupted tests, not
			// the tests never started.
			for _, id := range interrupted {
				if !strings.Contains(res.Stdout, "INTERRUPTED "+id+" - "+c.wantReason) {
					t.Errorf("no INTERRUPTED line for %s:\n%s", id, tail(res.Stdout))
				}
			}
			if n := len(notRunLines(res.Stdout)); n != 0 {
				t.Errorf("%d NOT RUN lines without -rn", n)
			}
			// herd killed the workers itself: no worker "died".
			if strings.Contains(res.Stdout, "worker died") {
				t.Errorf("herd reports its own kills as deaths:\n%s", tail(res.Stdout))
			}
		})
	}
}

// TestTailSplitBetweenWorkers: one long test and four short ones in one
// file. The short tests run on the other worker while the long one runs,
// even those first handed to the long test's worker (herd takes them back),
// on a first run and on one with recorded durations. Outcomes are pytest's,
// serial and with -n 2.
func TestTailSplitBetweenWorkers(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"test_tail.py": `import time


def test_long():
    time.sleep(2)


def test_a():
    time.sleep(0.2)


def test_b():
    time.sleep(0.2)


def test_c():
    time.sleep(0.2)


def test_d():
    time.sleep(0.2)
`})
	serial, serialCode := runPytest(t, dir)
	xdist := pytestRun(t, dir, nil, "-n", "2")
	if serialCode != 0 || xdist.Code != 0 {
		t.Fatalf("pytest exits %d, pytest -n 2 %d", serialCode, xdist.Code)
	}
	for _, round := range []string{"first run", "with recorded durations"} {
		evPath := filepath.Join(t.TempDir(), "events.ndjson")
		stdout, stderr, code, rep := runHerd(t, dir, "--events", evPath)
		if code != 0 {
			t.Fatalf("%s: herd exits %d\n%s", round, code, tail(stdout+stderr))
		}
		checkReport(t, rep, 5)
		diffOutcomes(t, rep.outcomes(), serial)
		diffOutcomes(t, rep.outcomes(), xdist.Outcomes)
		longWorker, longEnd := "", 0.0
		ends := map[string]float64{}
		workers := map[string]string{}
		for _, ev := range readEvents(t, evPath) {
			if ev.Event != "test_finished" {
				continue
			}
			ends[ev.NodeID], workers[ev.NodeID] = ev.Time, ev.Worker
			if ev.NodeID == "test_tail.py::test_long" {
				longWorker, longEnd = ev.Worker, ev.Time
			}
		}
		for id, end := range ends {
			if id == "test_tail.py::test_long" {
				continue
			}
			if workers[id] == longWorker || end > longEnd {
				t.Errorf("%s: %s ran on %s and ended at %.2fs; the long test ran on %s until %.2fs: it waited behind the long test instead of running on the idle worker",
					round, id, workers[id], end, longWorker, longEnd)
			}
		}
	}
}
