package reaper_test

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/reaper"
)

// needScans skips a test of the /proc scans in a build without them (the
// herd_portable tag); reaper_portable_test.go tests that build's fallback.
func needScans(t *testing.T) {
	t.Helper()
	if !reaper.FindsProcesses {
		t.Skip("this build does not scan /proc (herd_portable)")
	}
}

// startTree starts `sh -c script` and waits until it has a child; it returns
// the shell's pid and its child's.
func startTree(t *testing.T, script string) (sh, kid int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sh: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if d := reaper.Descendants(cmd.Process.Pid); len(d) == 1 && strings.HasPrefix(d[0].Cmd, "sleep") {
			return cmd.Process.Pid, d[0].PID
		}
	}
	t.Fatalf("sh -c %q started no sleep: descendants %+v", script, reaper.Descendants(cmd.Process.Pid))
	return 0, 0
}

// Descendants finds a shell's child with its parent and group; Catches
// tells a shell that traps SIGUSR1 from its child, which would die of it,
// and from a shell that ignores it.
func TestDescendantsAndCatches(t *testing.T) {
	t.Parallel()
	needScans(t)
	type testCase struct {
		name      string
		script    string
		shCatches bool
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		sh, kid := startTree(t, tc.script)
		d := reaper.Descendants(sh)
		if len(d) != 1 || d[0].PID != kid || d[0].PPID != sh || d[0].PGID != sh {
			t.Errorf("Descendants(%d) = %+v, want one process %d with parent %d and group %d", sh, d, kid, sh, sh)
		}
		if got := reaper.Catches(sh, syscall.SIGUSR1); got != tc.shCatches {
			t.Errorf("Catches(sh, SIGUSR1) = %v, want %v", got, tc.shCatches)
		}
		if reaper.Catches(kid, syscall.SIGUSR1) {
			t.Errorf("Catches(sleep, SIGUSR1) = true, want false")
		}
		if got := reaper.ParentOf(kid); got != sh {
			t.Errorf("ParentOf(sleep) = %d, want %d", got, sh)
		}
	}
	for _, tc := range []testCase{
		{"traps", `trap "echo usr1" USR1; sleep 30 & wait; wait`, true},
		{"ignores", `trap "" USR1; sleep 30 & wait; wait`, false},
		{"default", `sleep 30 & wait; wait`, false},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// A process that is gone catches nothing and has no parent; one's own
// process (a Go program) catches every signal it can.
func TestGoneAndSelf(t *testing.T) {
	t.Parallel()
	needScans(t)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	gone := cmd.Process.Pid
	if reaper.Catches(gone, syscall.SIGUSR1) || reaper.ParentOf(gone) != 0 || len(reaper.Descendants(gone)) != 0 {
		t.Errorf("a process that exited: Catches %v, ParentOf %d, Descendants %v; want false, 0, none",
			reaper.Catches(gone, syscall.SIGUSR1), reaper.ParentOf(gone), reaper.Descendants(gone))
	}
	if !reaper.Catches(os.Getpid(), syscall.SIGUSR1) {
		t.Error("Catches(self, SIGUSR1) = false; the Go runtime catches it")
	}
}
