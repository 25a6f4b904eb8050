//go:build linux

package e2e

// Resilience: herd's "nothing lost" promise. Tests that kill their worker in
// every way (testdata/suites/crashy), that attack its plumbing
// (testdata/suites/hostile) or leave processes and threads behind
// (testdata/suites/leaky) must each be reported exactly once with the right
// outcome, the run must end, and no process of the run may outlive it. Bad
// command lines and interpreters must end with one clear line and pytest's
// exit code.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// runDeadline bounds one herd run of these tests: a run that has not ended
// by then is a hang, and fails its test.
const runDeadline = 120 * time.Second

// tagVar marks every process of one herd run: herd, its workers and whatever
// the tests start inherit it, so a scan of /proc finds what outlived the run.
const tagVar = "HERD_E2E_TAG"

// richReport is herd's --report-json with every field these tests check
// (helpers_test.go's jsonReport keeps the common ones).
type richReport struct {
	Collected   int            `json:"collected"`
	Interrupted bool           `json:"interrupted"`
	Summary     map[string]int `json:"summary"`
	Tests       []richTest     `json:"tests"`
}

type richTest struct {
	NodeID    string          `json:"nodeid"`
	Outcome   string          `json:"outcome"`
	Duration  float64         `json:"duration"`
	Worker    string          `json:"worker"`
	Longrepr  string          `json:"longrepr"`
	Message   string          `json:"message"`
	Reason    string          `json:"reason"`
	Crash     *richCrash      `json:"crash"`
	Diagnosis *richDiagnosis  `json:"diagnosis"`
	Leaks     []string        `json:"leaks"`
	Sections  json.RawMessage `json:"sections"`
}

type richCrash struct {
	Signal     string   `json:"signal"`
	ExitCode   *int     `json:"exit_code"`
	StderrTail string   `json:"stderr_tail"`
	KillStage  string   `json:"kill_stage"`
	Phase      string   `json:"phase"`
	PriorTests []string `json:"prior_tests"`
}

type richDiagnosis struct {
	Rerun        string `json:"rerun"`
	CrashedAlone bool   `json:"crashed_alone"`
	Cause        string `json:"cause"`
	Marker       string `json:"marker"`
	Summary      string `json:"summary"`
}

func (r richReport) byID() map[string]richTest {
	m := make(map[string]richTest, len(r.Tests))
	for _, tc := range r.Tests {
		m[tc.NodeID] = tc
	}
	return m
}

// describe is a one-line account of a crashed or timed-out test.
func (c *richCrash) describe() string {
	if c == nil {
		return "crash: null"
	}
	code := "null"
	if c.ExitCode != nil {
		code = strconv.Itoa(*c.ExitCode)
	}
	return fmt.Sprintf("signal=%q exit_code=%s phase=%q kill_stage=%q", c.Signal, code, c.Phase, c.KillStage)
}

// herdProc is a herd process started by startHerd.
type herdProc struct {
	cmd        *exec.Cmd
	tag        string
	reportPath string
	stdout     bytes.Buffer
	stderr     bytes.Buffer
	start      time.Time
	done       chan struct{}
	waitErr    error
	cancel     context.CancelFunc
	ctx        context.Context
}

// herdDone is what one herd run did.
type herdDone struct {
	execResult
	Elapsed    time.Duration
	Report     jsonReport // for the helpers' checkReport and outcomes
	Rich       richReport
	ReportSize int64
}

// stdArgs are the usual first arguments: the test interpreter, n workers.
func stdArgs(n int, args ...string) []string {
	return append([]string{"--python", python, "-n", strconv.Itoa(n)}, args...)
}

func newTag() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return hex.EncodeToString(b)
}

// startHerd starts `herd --report-json R args...` in dir with the run's tag
// and extra environment variables, in its own process group. The run is
// killed (and its test fails in finish) when deadline passes.
func startHerd(t *testing.T, dir string, deadline time.Duration, env []string, args ...string) *herdProc {
	t.Helper()
	needHerd(t)
	h := &herdProc{
		tag:        newTag(),
		reportPath: filepath.Join(t.TempDir(), "herd-report.json"),
		done:       make(chan struct{}),
	}
	h.ctx, h.cancel = context.WithTimeout(context.Background(), deadline)
	full := append([]string{"--report-json", h.reportPath}, args...)
	h.cmd = exec.Command(herdBin, full...)
	h.cmd.Dir = dir
	h.cmd.Env = baseEnv(append([]string{tagVar + "=" + h.tag}, env...)...)
	h.cmd.Stdout = &h.stdout
	h.cmd.Stderr = &h.stderr
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	h.cmd.WaitDelay = 10 * time.Second
	h.start = time.Now()
	if err := h.cmd.Start(); err != nil {
		h.cancel()
		t.Fatalf("start herd: %v", err)
	}
	go func() {
		h.waitErr = h.cmd.Wait()
		close(h.done)
	}()
	// Whatever happens to the test, nothing of the run survives it.
	t.Cleanup(func() {
		select {
		case <-h.done:
		default:
			syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
			<-h.done
		}
		h.cancel()
		killTagged(h.tag)
	})
	return h
}

func (h *herdProc) pid() int { return h.cmd.Process.Pid }

// exited reports whether herd has exited.
func (h *herdProc) exited() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// finish waits for herd to exit, or kills it when its deadline passes (a
// hang: the test fails), and returns what it did with its parsed report.
func (h *herdProc) finish(t *testing.T) herdDone {
	t.Helper()
	defer h.cancel()
	hung := false
	select {
	case <-h.done:
	case <-h.ctx.Done():
		hung = true
		// Ask herd for its stacks first: SIGQUIT makes a Go program dump
		// every goroutine, which says where it hangs.
		syscall.Kill(h.pid(), syscall.SIGQUIT)
		select {
		case <-h.done:
		case <-time.After(3 * time.Second):
			syscall.Kill(-h.pid(), syscall.SIGKILL)
			<-h.done
		}
	}
	res := herdDone{Elapsed: time.Since(h.start)}
	res.Stdout, res.Stderr = h.stdout.String(), h.stderr.String()
	var exitErr *exec.ExitError
	switch {
	case h.waitErr == nil:
	case errors.As(h.waitErr, &exitErr):
		res.Code = exitErr.ExitCode()
	default:
		res.Code = -1
	}
	args := strings.Join(h.cmd.Args[3:], " ") // less the binary and --report-json R
	if hung {
		killTagged(h.tag)
		t.Fatalf("herd %s did not end within %v: killed\nstdout:\n%s\nstderr:\n%s",
			args, time.Since(h.start).Round(time.Second), tail(res.Stdout), tail(res.Stderr))
	}
	if res.Code < 0 {
		t.Fatalf("herd %s: %v\nstdout:\n%s\nstderr:\n%s", args, h.waitErr, tail(res.Stdout), tail(res.Stderr))
	}
	t.Logf("herd %s: exit %d in %.1fs", args, res.Code, res.Elapsed.Seconds())
	data, err := os.ReadFile(h.reportPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		t.Fatalf("read herd report: %v", err)
	default:
		res.ReportSize = int64(len(data))
		if err := json.Unmarshal(data, &res.Report); err != nil {
			t.Fatalf("herd's --report-json is not valid JSON: %v\n%s", err, tail(string(data)))
		}
		res.Report.Present = true
		if err := json.Unmarshal(data, &res.Rich); err != nil {
			t.Fatalf("herd's --report-json does not have the documented shape: %v", err)
		}
	}
	return res
}

// runHerdTagged runs herd to its end (see startHerd and finish).
func runHerdTagged(t *testing.T, dir string, env []string, args ...string) (herdDone, string) {
	t.Helper()
	h := startHerd(t, dir, runDeadline, env, args...)
	return h.finish(t), h.tag
}

// tagged lists the live processes whose environment holds the tag, as
// "pid cmdline". Zombies (already dead, not yet reaped) do not count.
func tagged(tag string) []string {
	want := []byte(tagVar + "=" + tag + "\x00")
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !(bytes.HasPrefix(env, want) || bytes.Contains(env, append([]byte{0}, want...))) {
			continue
		}
		if procState(pid) == "Z" {
			continue
		}
		out = append(out, fmt.Sprintf("%d %s", pid, procCmdline(pid)))
	}
	sort.Strings(out)
	return out
}

// procState is the state letter of /proc/PID/stat ("R", "S", "Z"...), or ""
// when the process is gone.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	k := strings.LastIndexByte(s, ')')
	if k < 0 || k+2 >= len(s) {
		return ""
	}
	f := strings.Fields(s[k+1:])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func procCmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// killTagged kills every live process of the run (cleanup after a failure).
func killTagged(tag string) {
	for round := 0; round < 3; round++ {
		left := tagged(tag)
		if len(left) == 0 {
			return
		}
		for _, l := range left {
			pid, _ := strconv.Atoi(strings.Fields(l)[0])
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkNoLeftovers fails the test when a process of the run is still alive
// once herd has exited (after a short grace for the kernel to finish the
// kills), and kills what it finds.
func checkNoLeftovers(t *testing.T, tag string) {
	t.Helper()
	deadline := time.Now().Add(1500 * time.Millisecond)
	var left []string
	for {
		left = tagged(tag)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(left) > 0 {
		killTagged(tag)
		t.Errorf("%d processes of the run outlived herd (killed now):\n  %s", len(left), strings.Join(left, "\n  "))
	}
}

// checkNoInternalTrouble fails when herd's output shows a Go panic or a
// Python traceback of herd's own.
func checkNoInternalTrouble(t *testing.T, what, out string) {
	t.Helper()
	for _, bad := range []string{"goroutine ", "panic:", "Traceback (most recent call last)"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s: herd's output holds %q:\n%s", what, bad, tail(out))
		}
	}
}

// onlyIDs keeps the entries of m whose nodeid is in keep.
func onlyIDs(m map[string]string, keep map[string]string) map[string]string {
	out := make(map[string]string, len(keep))
	for id, o := range m {
		if _, ok := keep[id]; ok {
			out[id] = o
		}
	}
	return out
}

// crashWant is what herd must report for one test of the crashy suite that
// crashes or hangs.
type crashWant struct {
	outcome  string // crashed or timeout
	signal   string // for crashed: the signal; "" when the worker exited
	exitCode int    // for crashed without a signal
	phase    string // setup, call or teardown
	stack    string // must appear in crash.stderr_tail (faulthandler's dump); "" = no check
	// killStage, for a timeout, is the last stage of herd's kill escalation
	// that must have fired; "" accepts any.
	killStage string
}

func sig(name, phase, stack string) crashWant {
	return crashWant{outcome: "crashed", signal: name, phase: phase, stack: stack}
}

func exited(code int, phase string) crashWant {
	return crashWant{outcome: "crashed", exitCode: code, phase: phase}
}

func hang(fn string) crashWant {
	return crashWant{outcome: "timeout", phase: "call", stack: " in " + fn + "\n"}
}

// crashyWant lists every test of testdata/suites/crashy that plain pytest
// cannot survive (named crash_ or hang_), with herd's expected outcome.
// The others run under plain pytest as the reference.
var crashyWant = map[string]crashWant{
	"test_signals_1.py::test_crash_segfault_1": sig("SIGSEGV", "call", " in test_crash_segfault_1\n"),
	"test_signals_1.py::test_crash_abort_1":    sig("SIGABRT", "call", " in test_crash_abort_1\n"),
	"test_signals_1.py::test_crash_exit3_1":    exited(3, "call"),
	"test_signals_1.py::test_crash_sigkill_1":  sig("SIGKILL", "call", ""),
	"test_signals_1.py::test_crash_oom_1":      sig("SIGKILL", "call", ""),

	"test_signals_2.py::TestCrashes::test_crash_segfault_2": sig("SIGSEGV", "call", " in test_crash_segfault_2\n"),
	"test_signals_2.py::TestCrashes::test_crash_abort_2":    sig("SIGABRT", "call", " in test_crash_abort_2\n"),
	"test_signals_2.py::test_crash_segfault_in_thread":      sig("SIGSEGV", "call", " in test_crash_segfault_in_thread\n"),
	"test_signals_2.py::test_crash_param[segfault]":         sig("SIGSEGV", "call", " in test_crash_param\n"),
	"test_signals_2.py::test_crash_param[abort]":            sig("SIGABRT", "call", " in test_crash_param\n"),
	"test_signals_2.py::test_crash_param[exit3]":            exited(3, "call"),
	"test_signals_2.py::test_crash_param[sigkill]":          sig("SIGKILL", "call", ""),
	"test_signals_2.py::test_crash_sigkill_2":               sig("SIGKILL", "call", ""),
	"test_signals_2.py::test_crash_exit3_2":                 exited(3, "call"),

	"test_fixture_crashes.py::test_crash_fixture_setup_segfault": sig("SIGSEGV", "setup", " in segfaults_in_setup\n"),
	"test_fixture_crashes.py::test_crash_fixture_setup_exit3":    exited(3, "setup"),
	"test_fixture_crashes.py::test_crash_fixture_teardown_abort": sig("SIGABRT", "teardown", " in aborts_in_teardown\n"),
	"test_module_teardown_crash.py::test_crash_module_teardown":  exited(3, "teardown"),

	// A KeyboardInterrupt raised by a test ends pytest's session with exit
	// code 2 (interrupted): the worker exits, and only that test is lost.
	"test_interrupts.py::test_crash_keyboard_interrupt": exited(2, "call"),

	"test_hangs.py::test_hang_sleep_1":     hang("test_hang_sleep_1"),
	"test_hangs.py::test_hang_sleep_2":     hang("test_hang_sleep_2"),
	"test_hangs.py::test_hang_thread_join": hang("test_hang_thread_join"),
	// It ignores SIGTERM: only herd's SIGKILL ends it.
	"test_hangs.py::test_hang_ignores_sigterm": {outcome: "timeout", phase: "call",
		stack: " in test_hang_ignores_sigterm\n", killStage: "SIGKILL"},

	// Its forked child, in a session of its own, holds the worker's pipes.
	"test_pipe_holder.py::test_crash_segfault_setsid_child_holds_pipes": sig("SIGSEGV", "call",
		" in test_crash_segfault_setsid_child_holds_pipes\n"),
}

// orderDependent crashes (os._exit(7)) only after test_poison_global ran in
// the same worker process; alone it passes.
const (
	orderDependent = "test_order_dependent.py::test_crash_if_poisoned"
	orderPoison    = "test_order_dependent.py::test_poison_global"
)

// TestCrashySuite: every kind of worker death and hang, among ordinary
// tests, under herd -n 2. Each test is reported once: the crashes crashed
// with their signal or exit code and phase, the hangs timed out with their
// stack, the others as under plain pytest; the run ends with exit code 1 and
// leaves no process behind.
func TestCrashySuite(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := copySuite(t, "crashy")
	py := pytestRun(t, dir, nil, "-k", "not crash_ and not hang_")
	if py.Code != 1 || len(py.Outcomes) != 61 {
		t.Fatalf("the suite is broken: plain pytest (crashes deselected) exits %d with %d tests, want 1 with 61\n%s",
			py.Code, len(py.Outcomes), tail(py.Stdout))
	}
	collected := len(py.Outcomes) + len(crashyWant) + 1 // + orderDependent

	res, tag := runHerdTagged(t, dir, nil, stdArgs(2)...)
	checkNoLeftovers(t, tag)
	checkNoInternalTrouble(t, "crashy", res.Stderr)
	if res.Code != 1 {
		t.Errorf("herd exits %d, want 1\nstdout:\n%s\nstderr:\n%s", res.Code, tail(res.Stdout), tail(res.Stderr))
	}
	checkReport(t, res.Report, collected)
	diffOutcomes(t, onlyIDs(res.Report.outcomes(), py.Outcomes), py.Outcomes)

	got := res.Rich.byID()
	for id, want := range crashyWant {
		tc, ok := got[id]
		if !ok {
			t.Errorf("%s: missing from the report", id)
			continue
		}
		checkCrash(t, tc, want)
		if want.outcome == "crashed" {
			// These crash every time: the rerun alone crashes too.
			checkDiagnosis(t, tc, true)
		}
	}
	// herd stops waiting for a dead worker's pipes 2 s after it exited
	// (README, Hostile tests), even when a child of the worker holds them
	// open; the segfault itself takes milliseconds.
	holder := "test_pipe_holder.py::test_crash_segfault_setsid_child_holds_pipes"
	if d := got[holder].Duration; d > 3.5 {
		t.Errorf("%s: reported %.1fs after it started; its worker died at once and herd waits at most 2 s for the pipes a child holds",
			holder, d)
	}
	switch tc := got[orderDependent]; tc.Outcome {
	case "passed":
		// It ran without test_poison_global before it in its process.
	case "crashed":
		checkCrash(t, tc, exited(7, "call"))
		checkDiagnosis(t, tc, false)
	default:
		t.Errorf("%s: %s, want passed or crashed (%s)", orderDependent, tc.Outcome, tc.Crash.describe())
	}
	// Nothing else crashed or timed out, and every crash and timeout has
	// its crash record.
	for _, tc := range res.Rich.Tests {
		_, listed := crashyWant[tc.NodeID]
		isCrash := tc.Outcome == "crashed" || tc.Outcome == "timeout"
		if isCrash && !listed && tc.NodeID != orderDependent {
			t.Errorf("%s: %s (%s), but it does not crash", tc.NodeID, tc.Outcome, tc.Crash.describe())
		}
		if !isCrash && tc.Crash != nil {
			t.Errorf("%s: %s with a crash record: %s", tc.NodeID, tc.Outcome, tc.Crash.describe())
		}
	}
	if t.Failed() {
		t.Logf("herd stdout:\n%s", tail(res.Stdout))
	}
}

// checkCrash checks a crashed or timed-out test's outcome and crash record.
func checkCrash(t *testing.T, tc richTest, want crashWant) {
	t.Helper()
	id := tc.NodeID
	if tc.Outcome != want.outcome {
		t.Errorf("%s: %s, want %s (%s)", id, tc.Outcome, want.outcome, tc.Crash.describe())
		return
	}
	c := tc.Crash
	if c == nil {
		t.Errorf("%s: %s without a crash record", id, tc.Outcome)
		return
	}
	switch {
	case want.outcome == "timeout":
		if c.KillStage == "" || (want.killStage != "" && c.KillStage != want.killStage) {
			t.Errorf("%s: timed out with %s, want kill_stage %q", id, c.describe(), want.killStage)
		}
		if !strings.Contains(tc.Message+tc.Longrepr, "timeout") && !strings.Contains(tc.Message+tc.Longrepr, "Timeout") {
			t.Errorf("%s: message %q and longrepr do not say it timed out", id, tc.Message)
		}
	case want.signal != "":
		if c.Signal != want.signal || c.ExitCode != nil {
			t.Errorf("%s: %s, want signal=%q exit_code=null", id, c.describe(), want.signal)
		}
	default:
		if c.Signal != "" || c.ExitCode == nil || *c.ExitCode != want.exitCode {
			t.Errorf("%s: %s, want signal=\"\" exit_code=%d", id, c.describe(), want.exitCode)
		}
	}
	if want.outcome == "crashed" && c.KillStage != "" {
		t.Errorf("%s: herd killed nothing, but kill_stage is %q", id, c.KillStage)
	}
	if c.Phase != want.phase {
		t.Errorf("%s: crash phase %q, want %q", id, c.Phase, want.phase)
	}
	if want.stack != "" && !strings.Contains(c.StderrTail, want.stack) {
		t.Errorf("%s: stderr_tail has no stack frame %q (faulthandler's dump):\n%s", id, strings.TrimSpace(want.stack), tail(c.StderrTail))
	}
	for _, p := range c.PriorTests {
		if p == id {
			t.Errorf("%s: lists itself among the tests that ran before it", id)
		}
	}
}

// checkDiagnosis checks the diagnosis of a crashed test: herd reran it
// alone; alone says whether it crashed again.
func checkDiagnosis(t *testing.T, tc richTest, alone bool) {
	t.Helper()
	d := tc.Diagnosis
	if d == nil {
		t.Errorf("%s: crashed, but the report has no diagnosis", tc.NodeID)
		return
	}
	if d.CrashedAlone != alone {
		t.Errorf("%s: diagnosis crashed_alone=%v, want %v (%+v)", tc.NodeID, d.CrashedAlone, alone, *d)
	}
	if d.Summary == "" {
		t.Errorf("%s: diagnosis without a summary: %+v", tc.NodeID, *d)
	}
	if alone {
		if d.Rerun != "crashed" {
			t.Errorf("%s: diagnosis rerun %q, want crashed", tc.NodeID, d.Rerun)
		}
		return
	}
	if d.Rerun != "passed" {
		t.Errorf("%s: diagnosis rerun %q, want passed", tc.NodeID, d.Rerun)
	}
	if d.Marker != "@pytest.mark.parallel_unsafe" {
		t.Errorf("%s: diagnosis marker %q, want @pytest.mark.parallel_unsafe", tc.NodeID, d.Marker)
	}
	if d.Cause == "" {
		t.Errorf("%s: diagnosis names no cause: %+v", tc.NodeID, *d)
	}
}

// TestParallelUnsafeDiagnosis: one worker runs test_poison_global, then
// test_crash_if_poisoned, which crashes because of it. herd's diagnosis
// reruns it alone, where it passes: crashed_alone is false and the advice is
// the parallel_unsafe marker.
func TestParallelUnsafeDiagnosis(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := copySuite(t, "crashy")
	res, tag := runHerdTagged(t, dir, nil, stdArgs(1, "test_order_dependent.py")...)
	checkNoLeftovers(t, tag)
	checkNoInternalTrouble(t, "order_dependent", res.Stderr)
	if res.Code != 1 {
		t.Errorf("herd exits %d, want 1\nstderr:\n%s", res.Code, tail(res.Stderr))
	}
	checkReport(t, res.Report, 2)
	got := res.Rich.byID()
	if o := got[orderPoison].Outcome; o != "passed" {
		t.Errorf("%s: %s, want passed", orderPoison, o)
	}
	tc := got[orderDependent]
	checkCrash(t, tc, exited(7, "call"))
	if tc.Crash != nil && !contains(tc.Crash.PriorTests, orderPoison) {
		t.Errorf("%s: prior_tests %v do not name %s", orderDependent, tc.Crash.PriorTests, orderPoison)
	}
	if tc.Outcome == "crashed" {
		checkDiagnosis(t, tc, false)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hostileExtra are the hostile suite's tests the plain-pytest reference run
// leaves out (they leak processes or flood its output), with their outcome
// under plain pytest.
var hostileExtra = map[string]string{
	"test_processes.py::test_escape_fork_sleeps":       "passed",
	"test_processes.py::test_escape_setsid_grandchild": "passed",
	"test_processes.py::test_escape_new_session_child": "passed",
	"test_processes.py::test_escape_fork_without_exit": "passed",
	"test_huge.py::test_huge_stdout_fails":             "failed",
	"test_huge.py::test_huge_message_fails":            "failed",
	"test_huge.py::test_huge_unicode_message_fails":    "failed",
	"test_huge.py::test_huge_skip_reason":              "skipped",
}

// maxReport bounds herd's JSON report and terminal output for the hostile
// suite, whose tests print over 100 MB and fail with 12 MB messages.
const maxReport = 10 << 20

// TestHostileSuite: forged protocol lines, binary garbage, a closed stdout,
// 100 MB of output, huge failure and skip messages, a fork that inherits
// every fd, a fork that goes on running pytest, and processes in a new
// session. Every test ends as under plain pytest, the reports stay small and
// valid, and nothing outlives the run.
func TestHostileSuite(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := copySuite(t, "hostile")
	py := pytestRun(t, dir, nil, "-k", "not escape_ and not huge_")
	if py.Code != 1 || len(py.Outcomes) != 13 {
		t.Fatalf("the suite is broken: plain pytest exits %d with %d tests, want 1 with 13\n%s",
			py.Code, len(py.Outcomes), tail(py.Stdout))
	}
	want := map[string]string{}
	for id, o := range py.Outcomes {
		want[id] = o
	}
	for id, o := range hostileExtra {
		want[id] = o
	}

	res, tag := runHerdTagged(t, dir, nil, stdArgs(2)...)
	checkNoLeftovers(t, tag) // the forked children and both sleepers included
	checkNoInternalTrouble(t, "hostile", res.Stderr)
	if res.Code != 1 {
		t.Errorf("herd exits %d, want 1\nstderr:\n%s", res.Code, tail(res.Stderr))
	}
	checkReport(t, res.Report, len(want))
	diffOutcomes(t, res.Report.outcomes(), want)

	if res.ReportSize > maxReport {
		t.Errorf("herd's JSON report is %d bytes, want < %d", res.ReportSize, maxReport)
	}
	for _, tc := range res.Rich.Tests {
		if n := len(tc.Message) + len(tc.Longrepr) + len(tc.Sections); n > 2<<20 {
			t.Errorf("%s: its report entry holds %d bytes (message %d, longrepr %d, sections %d), want < 2 MB",
				tc.NodeID, n, len(tc.Message), len(tc.Longrepr), len(tc.Sections))
		}
	}
	if n := len(res.Stdout); n > maxReport {
		t.Errorf("herd printed %d bytes, want < %d", n, maxReport)
	}
	got := res.Rich.byID()
	for _, id := range []string{"test_huge.py::test_huge_stdout_fails", "test_huge.py::test_huge_message_fails"} {
		tc := got[id]
		text := tc.Longrepr + tc.Message + string(tc.Sections)
		if !strings.Contains(text, "truncated") {
			t.Errorf("%s: neither longrepr nor sections in the JSON report say the output was truncated (longrepr %q)",
				id, clip(tc.Longrepr, 300))
		}
	}
	if !strings.Contains(res.Stdout, "truncated") {
		t.Errorf("herd's terminal report does not say it truncated the 100 MB output")
	}
	// Forged lines are test output, never protocol.
	for _, tc := range res.Rich.Tests {
		if tc.NodeID == "x" || strings.Contains(tc.NodeID, "ghost") {
			t.Errorf("a forged protocol line became a test: %q", tc.NodeID)
		}
	}
	if t.Failed() {
		t.Logf("herd stdout (cut, non-printable bytes as '?'):\n%s", printable(clip(res.Stdout, 6000)))
	}
}

// printable replaces what is not printable text in s by '?', for logs of
// output that holds binary garbage.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || (r >= ' ' && r != 0x7f && r != utf8.RuneError && unicode.IsPrint(r)) {
			return r
		}
		return '?'
	}, s)
}

// clip cuts s to n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("... [%d more bytes]", len(s)-n)
}

// The leaky suite's leaky tests, and what their leaks must name.
var leakyTests = map[string]string{
	"test_leaks.py::test_leaks_subprocess":                          "sleep 120",
	"test_leaks.py::test_leaks_daemonized":                          "sleep 118",
	"test_leaks.py::test_leaks_thread":                              "leaky-sleeper",
	"test_leak_beside_fixture.py::test_leaks_beside_module_fixture": "sleep 119",
}

// TestLeakySuite: the tests that leak a process (started directly, put in
// the background by a shell, or beside a module fixture of their own) or a
// non-daemon thread are the only tests with leaks, a warning each; module
// fixtures that own a process for their tests are no leak. With --leaks
// fail the leaky tests fail and nothing else changes.
func TestLeakySuite(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := copySuite(t, "leaky")
	// Plain pytest would leave the leaked processes running.
	var deselect []string
	for id, what := range leakyTests {
		if strings.HasPrefix(what, "sleep ") {
			deselect = append(deselect, "--deselect", id)
		}
	}
	py := pytestRun(t, dir, nil, deselect...)
	if py.Code != 0 || len(py.Outcomes) != 10 {
		t.Fatalf("the suite is broken: plain pytest exits %d with %d tests, want 0 with 10", py.Code, len(py.Outcomes))
	}
	want := map[string]string{}
	for id := range leakyTests {
		want[id] = "passed"
	}
	for id, o := range py.Outcomes {
		want[id] = o
	}
	leaky := leakyTests

	t.Run("warn", func(t *testing.T) {
		res, tag := runHerdTagged(t, dir, nil, stdArgs(2)...)
		checkNoLeftovers(t, tag)
		checkNoInternalTrouble(t, "leaky", res.Stderr)
		if res.Code != 0 {
			t.Errorf("herd exits %d, want 0 (leaks are warnings)\nstdout:\n%s", res.Code, tail(res.Stdout))
		}
		checkReport(t, res.Report, len(want))
		diffOutcomes(t, res.Report.outcomes(), want)
		checkLeaks(t, res, leaky)
	})
	t.Run("fail", func(t *testing.T) {
		res, tag := runHerdTagged(t, dir, nil, stdArgs(2, "--leaks", "fail")...)
		checkNoLeftovers(t, tag)
		checkNoInternalTrouble(t, "leaky --leaks fail", res.Stderr)
		if res.Code != 1 {
			t.Errorf("herd --leaks fail exits %d, want 1", res.Code)
		}
		wantFail := map[string]string{}
		for id, o := range want {
			wantFail[id] = o
		}
		for id := range leaky {
			wantFail[id] = "failed"
		}
		checkReport(t, res.Report, len(want))
		diffOutcomes(t, res.Report.outcomes(), wantFail)
		checkLeaks(t, res, leaky)
	})
}

// checkLeaks checks that exactly the tests in leaky have leaks, each naming
// what leaked, and that the warnings summary names them and only them.
func checkLeaks(t *testing.T, res herdDone, leaky map[string]string) {
	t.Helper()
	for _, tc := range res.Rich.Tests {
		what, isLeaky := leaky[tc.NodeID]
		switch {
		case isLeaky && len(tc.Leaks) == 0:
			t.Errorf("%s: leaks is empty in the JSON report, want one naming %q", tc.NodeID, what)
		case isLeaky && !strings.Contains(strings.Join(tc.Leaks, "\n"), what):
			t.Errorf("%s: leaks %q do not name %q", tc.NodeID, tc.Leaks, what)
		case !isLeaky && len(tc.Leaks) > 0:
			t.Errorf("%s: leaks %q, but the test leaks nothing", tc.NodeID, tc.Leaks)
		}
	}
	warnings := warningsSection(res.Stdout)
	if !strings.Contains(warnings, "leaked") {
		t.Errorf("the warnings summary does not mention \"leaked\":\n%s", tail(res.Stdout))
	}
	for _, tc := range res.Rich.Tests {
		_, isLeaky := leaky[tc.NodeID]
		if named := strings.Contains(warnings, tc.NodeID+"\n"); named != isLeaky {
			t.Errorf("the warnings summary names %s: %v, want %v:\n%s", tc.NodeID, named, isLeaky, warnings)
		}
	}
}

// warningsSection is pytest's "warnings summary" section of stdout.
func warningsSection(stdout string) string {
	i := strings.Index(stdout, " warnings summary ")
	if i < 0 {
		return ""
	}
	s := stdout[i:]
	if j := strings.Index(s, "\n-- Docs:"); j >= 0 {
		s = s[:j]
	}
	return s
}

// TestBadInput: what cannot run ends with pytest's exit code and a clear
// message, never a Go panic or a traceback of herd's.
func TestBadInput(t *testing.T) {
	needHerd(t)
	t.Parallel()
	tmp := t.TempDir()
	suite := filepath.Join(tmp, "suite")
	badIni := filepath.Join(tmp, "badini")
	for path, content := range map[string]string{
		filepath.Join(suite, "pytest.ini"):  "[pytest]\n",
		filepath.Join(suite, "test_ok.py"):  "def test_ok():\n    pass\n",
		filepath.Join(badIni, "pytest.ini"): "[pytest\naddopts = -q\n",
		filepath.Join(badIni, "test_ok.py"): "def test_ok():\n    pass\n",
		// A python without pytest, as a shell script.
		filepath.Join(tmp, "bin", "nopytest"): "#!/bin/sh\n" +
			"echo 'Traceback (most recent call last):' >&2\n" +
			"echo '  File \"<string>\", line 1, in <module>' >&2\n" +
			"echo \"ModuleNotFoundError: No module named 'pytest'\" >&2\nexit 1\n",
		// A python whose pytest is too old.
		filepath.Join(tmp, "bin", "oldpytest"): "#!/bin/sh\necho 6.2.5\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	noPytest, oldPytest := filepath.Join(tmp, "bin", "nopytest"), filepath.Join(tmp, "bin", "oldpytest")

	cases := []struct {
		name string
		dir  string
		args []string
		want int
		// herdLine: the error is herd's own: stderr is exactly one line,
		// holding mention.
		herdLine bool
		mention  string
		// pytest: also run plain pytest with args; herd must exit as it
		// does and print its error line.
		pytest bool
	}{
		{name: "python_missing", dir: suite, args: []string{"--python", "/nonexistent/python3", "-n", "2"}, want: 4, herdLine: true, mention: "/nonexistent/python3"},
		{name: "python_without_pytest", dir: suite, args: []string{"--python", noPytest, "-n", "2"}, want: 4, herdLine: true, mention: noPytest},
		{name: "python_old_pytest", dir: suite, args: []string{"--python", oldPytest, "-n", "2"}, want: 4, herdLine: true, mention: "6.2.5"},
		{name: "n_not_a_number", dir: suite, args: stdArgs(2, "-n", "abc"), want: 4, herdLine: true, mention: "abc"},
		{name: "unknown_option", dir: suite, args: stdArgs(2, "--bogus-herd-option"), want: 4, mention: "--bogus-herd-option", pytest: true},
		{name: "missing_path", dir: suite, args: stdArgs(2, "no_such_dir/test_x.py"), want: 4, mention: "no_such_dir/test_x.py", pytest: true},
		{name: "empty_selection", dir: suite, args: stdArgs(2, "-k", "nomatch"), want: 5, pytest: true},
		{name: "invalid_ini", dir: badIni, args: stdArgs(2), want: 4, mention: "pytest.ini", pytest: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.pytest {
				pyArgs := c.args[4:] // less --python P -n 2
				py := pytestRun(t, c.dir, nil, pyArgs...)
				if py.Code != c.want {
					t.Fatalf("plain pytest %s exits %d, want %d", strings.Join(pyArgs, " "), py.Code, c.want)
				}
				// pytest's own error line (the last line on stderr) must
				// reach the user, whatever herd's program name.
				if c.want == 4 {
					line := lastLine(strings.ReplaceAll(py.Stderr, "__main__.py", "herd"))
					if c.name == "unknown_option" {
						line = "error: unrecognized arguments: --bogus-herd-option"
					}
					c.mention = line
				}
			}
			res, tag := runHerdTagged(t, c.dir, nil, c.args...)
			checkNoLeftovers(t, tag)
			out := res.Stdout + res.Stderr
			checkNoInternalTrouble(t, c.name, out)
			if res.Code != c.want {
				t.Errorf("herd %s exits %d, want %d\nstdout:\n%s\nstderr:\n%s",
					strings.Join(c.args, " "), res.Code, c.want, tail(res.Stdout), tail(res.Stderr))
			}
			stderr := strings.TrimRight(res.Stderr, "\n")
			if c.herdLine {
				if stderr == "" || strings.Contains(stderr, "\n") {
					t.Errorf("herd's stderr is not one line:\n%s", res.Stderr)
				}
				if strings.TrimSpace(res.Stdout) != "" {
					t.Errorf("herd printed to stdout:\n%s", tail(res.Stdout))
				}
			}
			if c.mention != "" && !strings.Contains(res.Stderr, c.mention) {
				t.Errorf("herd's stderr does not hold %q:\n%s", c.mention, res.Stderr)
			}
			// herd's worker script is an implementation detail: a usage
			// message names the program the user ran.
			if strings.Contains(res.Stderr, "herd_boot.py") {
				t.Errorf("herd's stderr names its internal herd_boot.py:\n%s", res.Stderr)
			}
		})
	}
}

// TestCrashAfterStartupDeaths: once gw0 runs tests, one slot's workers (gw1)
// always die while pytest loads the conftest, so herd stops replacing them
// after three in a row. gw0 collected and runs fine; when one of its tests
// segfaults, gw0 must still be replaced (its replacements collect as it
// did), and every other test must run: nothing is lost because another
// slot kept dying.
func TestCrashAfterStartupDeaths(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "startup_deaths")
	state := filepath.Join(t.TempDir(), "state")
	for path, content := range map[string]string{
		filepath.Join(dir, "pytest.ini"): "[pytest]\n",
		filepath.Join(dir, "conftest.py"): `import os
import signal
import time

STATE = os.environ["STARTUP_DEATHS_DIR"]

if os.environ.get("PYTEST_XDIST_WORKER") == "gw1":
    # This slot's workers never start; they die only once gw0 runs tests,
    # so the three deaths in a row come after gw0 collected.
    while not os.path.exists(os.path.join(STATE, "go")):
        time.sleep(0.02)
    open(os.path.join(STATE, "gw1-%d" % os.getpid()), "w").close()
    os.kill(os.getpid(), signal.SIGKILL)
`,
		filepath.Join(dir, "test_after_deaths.py"): `import ctypes
import os
import time

import pytest

STATE = os.environ["STARTUP_DEATHS_DIR"]


def deaths():
    return len([f for f in os.listdir(STATE) if f.startswith("gw1-")])


def test_wait_for_three_deaths():
    open(os.path.join(STATE, "go"), "w").close()
    deadline = time.time() + 60
    while deaths() < 3 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # for herd to see the third death
    assert deaths() >= 3


def test_crash_segfault():
    ctypes.string_at(0)


@pytest.mark.parametrize("n", range(10))
def test_after_crash(n):
    pass
`,
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	res, tag := runHerdTagged(t, dir, []string{"STARTUP_DEATHS_DIR=" + state}, stdArgs(2, "--no-diagnose")...)
	checkNoLeftovers(t, tag)
	checkNoInternalTrouble(t, "startup deaths", res.Stderr)
	if res.Code != 1 {
		t.Errorf("herd exits %d, want 1\nstdout:\n%s\nstderr:\n%s", res.Code, tail(res.Stdout), tail(res.Stderr))
	}
	checkReport(t, res.Report, 12)
	deaths, _ := filepath.Glob(filepath.Join(state, "gw1-*"))
	t.Logf("gw1 died %d times", len(deaths))
	var wrong []string
	for _, tc := range res.Rich.Tests {
		want := "passed"
		if strings.HasSuffix(tc.NodeID, "::test_crash_segfault") {
			want = "crashed"
		}
		if tc.Outcome != want {
			wrong = append(wrong, fmt.Sprintf("%s: %s %s, want %s", tc.NodeID, tc.Outcome, tc.Reason, want))
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%d tests did not end as they should:\n  %s", len(wrong), strings.Join(limit(wrong, 12), "\n  "))
	}
}

// TestOneWorkerExitsBeforeCollecting: gw1 exits with code 1 while pytest
// loads the conftest, before any worker collected; gw0 is fine. That is one
// worker's death, not pytest refusing its arguments: gw0 must run the suite
// (and herd must never end silently, without a message or a report).
func TestOneWorkerExitsBeforeCollecting(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "one_worker_exits")
	for path, content := range map[string]string{
		filepath.Join(dir, "pytest.ini"): "[pytest]\n",
		filepath.Join(dir, "conftest.py"): `import os
import time

if os.environ.get("PYTEST_XDIST_WORKER") == "gw1":
    os._exit(1)
else:
    time.sleep(1)  # gw1 dies before gw0 has collected
`,
		filepath.Join(dir, "test_ok.py"): "def test_ok():\n    pass\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, tag := runHerdTagged(t, dir, nil, stdArgs(2, "--no-diagnose")...)
	checkNoLeftovers(t, tag)
	checkNoInternalTrouble(t, "one worker exits", res.Stderr)
	if strings.TrimSpace(res.Stdout+res.Stderr) == "" {
		t.Errorf("herd exited %d without printing anything", res.Code)
	}
	if res.Code != 0 {
		t.Errorf("herd exits %d, want 0: gw0 can run the suite\nstdout:\n%s\nstderr:\n%s", res.Code, tail(res.Stdout), tail(res.Stderr))
	}
	checkReport(t, res.Report, 1)
	if o := res.Report.outcomes()["test_ok.py::test_ok"]; o != "passed" {
		t.Errorf("test_ok.py::test_ok: %q, want passed", o)
	}
}
