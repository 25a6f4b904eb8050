//go:build linux

package e2e

// Process pools that outlive their test's timeout
// (testdata/suites/pool_timeout), as in bengal's
// tests/performance/test_process_parallel.py: herd must report the stacks of
// the test and of the pool's children, and kill every child.

import (
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

const (
	forkPool  = "test_pool.py::test_hang_fork_pool"
	spawnPool = "test_pool.py::test_hang_spawn_pool"
)

// childHeader is the line herd writes above a child process's stacks.
var childHeader = regexp.MustCompile(`--- herd: stacks of process (\d+) \(child of (\d+)\): `)

// testFrame finds the test function's frame in a stack dump, as
// faulthandler ("line 33 in test_x") and pytest-timeout ("line 33, in
// test_x") write it.
func testFrame(fn string) *regexp.Regexp {
	return regexp.MustCompile(`test_pool\.py", line (\d+),? in ` + fn + `\n`)
}

// TestPoolTimeoutStacks: a test whose fork pool's two children block forever
// times out under herd with the test's stack and both children's, and no
// process of the pool survives; a test whose spawned pool child would die of
// SIGUSR1 times out too, and herd says why that child has no stacks. Plain
// pytest with pytest-timeout's thread method, as bengal configures it, shows
// the test blocked at the same line, but only the stacks of its own process.
func TestPoolTimeoutStacks(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := copySuite(t, "pool_timeout")

	res, tag := runHerdTagged(t, dir, nil, stdArgs(2, "-o", "timeout_method=thread")...)
	checkNoLeftovers(t, tag)
	checkNoInternalTrouble(t, "pool_timeout", res.Stderr)
	if res.Code != 1 {
		t.Errorf("herd exits %d, want 1\nstdout:\n%s\nstderr:\n%s", res.Code, tail(res.Stdout), tail(res.Stderr))
	}
	checkReport(t, res.Report, 3)
	got := res.Rich.byID()
	if o := got["test_pool.py::test_quick"].Outcome; o != "passed" {
		t.Errorf("test_quick: %s, want passed", o)
	}

	// The fork pool: the test's stack, then each child's, whose stack ends
	// in child_blocks.
	fork := got[forkPool]
	checkCrash(t, fork, crashWant{outcome: "timeout", phase: "call", stack: " in test_hang_fork_pool\n"})
	tailText := ""
	if fork.Crash != nil {
		tailText = fork.Crash.StderrTail
	}
	heads := childHeader.FindAllStringSubmatchIndex(tailText, -1)
	if len(heads) != 2 {
		t.Errorf("%s: stacks of %d child processes in stderr_tail, want the pool's 2:\n%s", forkPool, len(heads), tail(tailText))
	}
	for k, h := range heads {
		end := len(tailText)
		if k+1 < len(heads) {
			end = heads[k+1][0]
		}
		pid := tailText[h[2]:h[3]]
		if dump := tailText[h[1]:end]; !strings.Contains(dump, " in child_blocks\n") {
			t.Errorf("%s: the stacks of child %s do not show child_blocks:\n%s", forkPool, pid, dump)
		}
		if n, _ := strconv.Atoi(pid); procState(n) != "" {
			t.Errorf("%s: pool child %s is still alive after the run (state %s)", forkPool, pid, procState(n))
			syscall.Kill(n, syscall.SIGKILL)
		}
	}
	if len(heads) > 0 && !strings.Contains(tailText[:heads[0][0]], " in test_hang_fork_pool\n") {
		t.Errorf("%s: the worker's own stacks (the test's frame) do not come before its children's:\n%s", forkPool, tail(tailText))
	}
	if !strings.Contains(fork.Longrepr, "then those of 2 child processes") {
		t.Errorf("%s: longrepr does not say herd dumped 2 children's stacks: %q", forkPool, fork.Longrepr)
	}
	// The terminal shows what the report holds.
	if strings.Count(res.Stdout, " in child_blocks\n") != 2 {
		t.Errorf("herd's terminal output does not show both children's stacks:\n%s", tail(res.Stdout))
	}

	// The spawn pool: its child is a fresh interpreter, which would die of
	// SIGUSR1; herd leaves it alone until the kill and says so.
	spawn := got[spawnPool]
	checkCrash(t, spawn, crashWant{outcome: "timeout", phase: "call", stack: " in test_hang_spawn_pool\n"})
	if spawn.Crash != nil {
		st := spawn.Crash.StderrTail
		if !regexp.MustCompile(`--- herd: process \d+ \(child of \d+\) does not catch SIGUSR1: no stacks: .*spawn_main`).MatchString(st) {
			t.Errorf("%s: stderr_tail does not say the spawned child has no stacks:\n%s", spawnPool, tail(st))
		}
		if strings.Contains(st, "in spawned_child_blocks") {
			t.Errorf("%s: stacks of a spawned child, which has no SIGUSR1 handler:\n%s", spawnPool, tail(st))
		}
	}

	// pytest with pytest-timeout's thread method on the fork pool: it
	// dumps its own threads and exits, and its pool's children live on.
	py, left := pytestLeavingChildren(t, dir, "-o", "timeout_method=thread", forkPool)
	herdLine := testFrame("test_hang_fork_pool").FindStringSubmatch(tailText)
	pyLine := testFrame("test_hang_fork_pool").FindStringSubmatch(py)
	switch {
	case pyLine == nil:
		t.Errorf("pytest's timeout output has no frame of test_hang_fork_pool:\n%s", tail(py))
	case herdLine == nil:
	case herdLine[1] != pyLine[1]:
		t.Errorf("herd shows the test blocked at line %s, pytest at line %s", herdLine[1], pyLine[1])
	}
	t.Logf("pytest + pytest-timeout (thread method): %d frames of child_blocks in its output, %d pool children left alive (killed now); herd: 2 and none",
		strings.Count(py, " in child_blocks\n"), left)
}

// pytestLeavingChildren runs plain pytest args in dir, with stdout and stderr
// in files (the children it leaves behind hold its pipes), and returns its
// output and how many of its processes outlived it, killing them.
func pytestLeavingChildren(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	tag := newTag()
	out, err := os.Create(filepath.Join(t.TempDir(), "pytest.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(python, append([]string{"-m", "pytest", "-p", "no:cacheprovider"}, args...)...)
	cmd.Dir = dir
	cmd.Env = baseEnv(tagVar + "=" + tag)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Cleanup(func() { killTagged(tag) })
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pytest: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(commandTimeout):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("pytest %s did not end within %v", strings.Join(args, " "), commandTimeout)
	}
	left := len(tagged(tag))
	killTagged(tag)
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b), left
}
