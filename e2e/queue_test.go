//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/redistest"
)

// The queue mode's end-to-end test: a real redis-server (Debian's package,
// which scripts/setup.sh installs) started on loopback by the test, three
// herd processes with -n 1 sharing one queue on the queue suite, one of
// them SIGKILLed midway. Every test must be reported exactly once, and the
// whole run must equal one herd run of the suite on one machine.

// redisReadyTimeout bounds the wait for a fresh redis-server to answer: it
// starts in milliseconds; five seconds covers a loaded CI machine.
const redisReadyTimeout = 5 * time.Second

// queueLease is the lease TTL the test gives the machines: short, so the
// killed machine's tests come back within seconds, and long enough for
// heartbeats every half second on a machine loaded by three herds.
const queueLease = "3s"

// startRedisServer starts a redis-server of the test's own on a free loopback
// port, without persistence, killed when the test ends, and returns its
// address. Without redis-server the test is skipped, except on CI ($CI
// set), where scripts/setup.sh installs it and its absence fails.
func startRedisServer(t *testing.T) string {
	t.Helper()
	port := redistest.Start(t, false)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(redisReadyTimeout)
	for {
		if redisPing(addr) == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server at %s does not answer: %v", addr, redisPing(addr))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisPing sends PING in Redis's protocol and expects PONG.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// queueHerd is a herd process running in the background.
type queueHerd struct {
	name   string
	cmd    *exec.Cmd
	events string
	report string
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	code   int
}

// startQueueHerd starts herd in dir with args in its own process group, with
// an event stream and a JSON report, killed (with its group) when the test
// ends.
func startQueueHerd(t *testing.T, name, dir string, env []string, args ...string) *queueHerd {
	t.Helper()
	out := t.TempDir()
	h := &queueHerd{name: name, events: filepath.Join(out, "events.ndjson"), report: filepath.Join(out, "report.json"), done: make(chan struct{})}
	full := append([]string{"--python", python, "--events", h.events, "--report-json", h.report}, args...)
	h.cmd = exec.Command(herdBin, full...)
	h.cmd.Dir = dir
	h.cmd.Env = baseEnv(env...)
	h.cmd.Stdout, h.cmd.Stderr = &h.stdout, &h.stderr
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start herd %s: %v", name, err)
	}
	pgid := h.cmd.Process.Pid
	go func() {
		err := h.cmd.Wait()
		h.code = h.cmd.ProcessState.ExitCode()
		if err != nil && h.code < 0 {
			h.code = -1
		}
		close(h.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-h.done
	})
	return h
}

// wait waits for h to exit, failing the test after timeout.
func (h *queueHerd) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(timeout):
		syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		<-h.done
		t.Fatalf("herd %s did not finish within %s\nstdout:\n%s\nstderr:\n%s", h.name, timeout, tail(h.stdout.String()), tail(h.stderr.String()))
	}
}

// eventCounts counts h's events so far by kind, and returns its workers'
// pids.
func (h *queueHerd) eventCounts() (map[string]int, []int) {
	data, _ := os.ReadFile(h.events)
	counts := map[string]int{}
	var pids []int
	for _, line := range strings.Split(string(data), "\n") {
		var ev struct {
			Event string `json:"event"`
			PID   int    `json:"pid"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue // the last line may be half written
		}
		counts[ev.Event]++
		if ev.Event == "worker_started" && ev.PID > 0 {
			pids = append(pids, ev.PID)
		}
	}
	return counts, pids
}

func readJSONReport(t *testing.T, path string) jsonReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read report: %v", err)
	}
	var rep jsonReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("bad JSON report %s: %v", path, err)
	}
	rep.Present, rep.raw = true, data
	return rep
}

func TestQueueSurvivesKilledConsumer(t *testing.T) {
	needHerd(t)
	addr := startRedisServer(t)
	url := "redis://" + addr + "/0"
	const runID = "e2e-kill"

	// The reference: one machine, two workers.
	refDir := copySuite(t, "queue")
	refOut, _, refCode, refRep := runHerd(t, refDir)
	checkReport(t, refRep, 60)
	if refCode != 1 {
		t.Fatalf("single-machine run exited %d, want 1 (two tests fail)\n%s", refCode, tail(refOut))
	}

	// Three machines, each with its own copy of the suite; the victim is
	// slowed down so it is surely midway through an item when killed.
	queueArgs := []string{"-n", "1", "--queue", url, "--run-id", runID, "--queue-lease", queueLease}
	start := time.Now()
	victim := startQueueHerd(t, "victim", copySuite(t, "queue"), []string{"QUEUE_SUITE_DELAY=0.3"}, queueArgs...)
	a := startQueueHerd(t, "a", copySuite(t, "queue"), nil, queueArgs...)
	b := startQueueHerd(t, "b", copySuite(t, "queue"), nil, queueArgs...)

	// Kill the victim once it reported two results and the others run too.
	var victimPIDs []int
	var victimDone int
	// Three herds start in about two seconds on 2 cores; a minute only
	// fails a run that never got going.
	deadline := time.Now().Add(60 * time.Second)
	for {
		vc, pids := victim.eventCounts()
		ac, _ := a.eventCounts()
		bc, _ := b.eventCounts()
		if vc["test_finished"] >= 2 && ac["test_finished"] >= 1 && bc["test_finished"] >= 1 {
			victimPIDs, victimDone = pids, vc["test_finished"]
			break
		}
		select {
		case <-victim.done:
			t.Fatalf("the victim ended before it was killed (exit %d):\n%s\n%s", victim.code, tail(victim.stdout.String()), tail(victim.stderr.String()))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the machines did not all start running tests within a minute: victim %v, a %v, b %v", vc, ac, bc)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	// It may have finished another test between the look and the kill.
	final, _ := victim.eventCounts()
	victimDone = final["test_finished"]
	t.Logf("killed the victim after %d results, %.1fs in", victimDone, time.Since(start).Seconds())
	// Its workers die with it (each has PR_SET_PDEATHSIG).
	for _, pid := range victimPIDs {
		gone := false
		for try := 0; try < 100 && !gone; try++ {
			gone = syscall.Kill(pid, 0) != nil
			if !gone {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if !gone {
			t.Errorf("the victim's worker %d outlived it", pid)
		}
	}

	// The survivors need about ten seconds (the victim's lease lapses
	// after 3 s); ninety only fails a run that hangs.
	a.wait(t, 90*time.Second)
	b.wait(t, 90*time.Second)
	t.Logf("survivors done %.1fs after the start", time.Since(start).Seconds())
	reclaimed := false
	for _, h := range []*queueHerd{a, b} {
		out := h.stdout.String()
		if h.code != refCode {
			t.Errorf("herd %s exited %d, want %d as the single-machine run\nstdout:\n%s\nstderr:\n%s", h.name, h.code, refCode, tail(out), tail(h.stderr.String()))
		}
		got, want := closingLine(out), closingLine(refOut)
		if !closingLineRE.MatchString(got) || !equalCounts(lineCounts(got), lineCounts(want)) {
			t.Errorf("herd %s's closing line %q, want the counts of the single-machine run's %q", h.name, got, want)
		}
		if !strings.Contains(h.stderr.String(), "the summary below is the whole run's") {
			t.Errorf("herd %s did not say its summary is the whole run's:\n%s", h.name, h.stderr.String())
		}
		if strings.Contains(h.stderr.String(), "stopped answering: its") {
			reclaimed = true
		}
		if !strings.Contains(out, "queue "+runID+" on "+url+": 60 tests in ") {
			t.Errorf("herd %s's header has no queue line:\n%s", h.name, tail(out))
		}
	}
	if !reclaimed {
		t.Errorf("no survivor took the victim's leased items back:\n%s\n%s", a.stderr.String(), b.stderr.String())
	}
	// The survivors' own reports hold the tests each ran: none twice.
	ranBy := map[string]string{}
	for _, h := range []*queueHerd{a, b} {
		for _, tc := range readJSONReport(t, h.report).Tests {
			if other, ok := ranBy[tc.NodeID]; ok {
				t.Errorf("%s ran on both %s and %s", tc.NodeID, other, h.name)
			}
			ranBy[tc.NodeID] = h.name
		}
	}

	// The whole run, from Redis alone.
	reportPath := filepath.Join(t.TempDir(), "whole.json")
	htmlPath := filepath.Join(t.TempDir(), "whole.html")
	rep := run(t, refDir, baseEnv(), herdBin, "report", "--queue", url, "--run-id", runID, "--report-json", reportPath, "--report-html", htmlPath, "--wait", "0")
	if rep.Code != refCode {
		t.Errorf("herd report --queue exited %d, want %d\n%s\n%s", rep.Code, refCode, tail(rep.Stdout), rep.Stderr)
	}
	if got, want := closingLine(rep.Stdout), closingLine(refOut); !equalCounts(lineCounts(got), lineCounts(want)) {
		t.Errorf("herd report --queue closing line %q, want the counts of %q", got, want)
	}
	for _, w := range []string{"queue run " + runID + " on " + url, "seeded by", "3 machines", "stopped answering", "collected 60 items", "FAILED test_b.py::test_b3"} {
		if !strings.Contains(rep.Stdout, w) {
			t.Errorf("herd report --queue does not say %q:\n%s", w, tail(rep.Stdout))
		}
	}
	whole := readJSONReport(t, reportPath)
	checkReport(t, whole, 60)
	diffOutcomes(t, whole.outcomes(), refRep.outcomes())
	// Each survivor's results are under its lanes; the victim's lane holds
	// at most the results it reported before it died.
	lanes := map[string]int{}
	survivor := map[string]string{} // machine name -> a or b
	for _, tc := range whole.Tests {
		if !strings.Contains(tc.Worker, ":gw0") {
			t.Errorf("%s ran on worker %q, want MACHINE:gw0", tc.NodeID, tc.Worker)
			continue
		}
		machine, _, _ := strings.Cut(tc.Worker, ":")
		lanes[machine]++
		if h, ok := ranBy[tc.NodeID]; ok {
			if prev, seen := survivor[machine]; seen && prev != h {
				t.Errorf("machine %s's results were run by both %s and %s", machine, prev, h)
			}
			survivor[machine] = h
		}
	}
	if len(lanes) != 3 || len(survivor) != 2 {
		t.Errorf("results came from machines %v (survivors %v), want 3 machines, 2 survivors", lanes, survivor)
	}
	for m, n := range lanes {
		// Its sink sends a result to Redis just before its event stream
		// writes the line: one more result than lines is possible.
		if _, ok := survivor[m]; !ok && n > victimDone+1 {
			t.Errorf("the victim (%s) has %d results; it finished %d tests before it died", m, n, victimDone)
		}
	}
	if html, err := os.ReadFile(htmlPath); err != nil || !bytes.Contains(html, []byte(":gw0")) {
		t.Errorf("the HTML report of the whole run has no lanes named after the machines (%v)", err)
	}

	// A machine that collects other tests cannot join.
	other := run(t, copySuite(t, "queue"), baseEnv(), herdBin, append([]string{"--python", python, "-k", "not test_a0"}, queueArgs...)...)
	if other.Code != 4 || !strings.Contains(other.Stderr, "every machine must collect the same tests") {
		t.Errorf("a machine with other tests joined: exit %d\n%s", other.Code, other.Stderr)
	}
}

// TestQueueUsageErrors: a bad queue URL, an unreachable Redis, a missing
// run id and an unknown run each end herd with one clear line on stderr
// and exit code 4, before any test runs, never showing the password.
func TestQueueUsageErrors(t *testing.T) {
	needHerd(t)
	addr := startRedisServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	dir := copySuite(t, "queue")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--queue", "http://" + addr, "--run-id", "x"}, "herd: --queue expects a Redis URL"},
		{[]string{"--queue", "redis://:sekrit@" + closed + "/0", "--run-id", "x"}, "herd: --queue: cannot reach Redis at redis://:xxxxx@" + closed + "/0"},
		{[]string{"--queue", "redis://" + addr + "/0"}, "herd: --queue needs --run-id"},
		{[]string{"--queue", "redis://" + addr + "/0", "--run-id", "a b"}, "herd: --run-id"},
		{[]string{"report", "--queue", "redis://" + addr + "/0", "--run-id", "nosuch"}, "herd report: no run nosuch in the Redis at redis://" + addr + "/0"},
		{[]string{"report", "--queue", "redis://:sekrit@" + closed + "/0", "--run-id", "x"}, "herd report: --queue: cannot reach Redis"},
		{[]string{"report", "--run-id", "x"}, "herd report: --queue URL (or HERD_QUEUE) is needed"},
	} {
		args := tc.args
		if args[0] != "report" {
			args = append([]string{"--python", python}, args...)
		}
		res := run(t, dir, baseEnv(), herdBin, args...)
		lines := strings.Split(strings.TrimRight(res.Stderr, "\n"), "\n")
		if res.Code != 4 || !strings.HasPrefix(lines[0], tc.want) || strings.Contains(res.Stderr, "sekrit") || strings.Contains(res.Stderr, "panic") {
			t.Errorf("herd %s: exit %d, stderr:\n%s\nwant exit 4 and a line starting %q", strings.Join(tc.args, " "), res.Code, res.Stderr, tc.want)
		}
		if strings.Contains(res.Stdout, "test session starts") {
			t.Errorf("herd %s started a run:\n%s", strings.Join(tc.args, " "), res.Stdout)
		}
	}
}
