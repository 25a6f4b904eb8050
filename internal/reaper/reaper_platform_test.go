package reaper_test

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/reaper"
)

// ChildAttr always puts a child in its own process group; only the Linux
// build has a subreaper (and Pdeathsig, tested in reaper_linux_test.go).
func TestPlatform(t *testing.T) {
	t.Parallel()
	if !reaper.ChildAttr().Setpgid {
		t.Error("ChildAttr().Setpgid = false, want a process group of its own")
	}
	if err := enableNoop(); !reaper.FindsProcesses && !errors.Is(err, reaper.ErrNoSubreaper) {
		t.Errorf("portable Enable() = %v, want ErrNoSubreaper", err)
	}
}

// enableNoop calls Enable where it changes nothing for the test process:
// the portable build only returns its error. On Linux it is not called, so
// the test binary does not become a subreaper.
func enableNoop() error {
	if reaper.FindsProcesses {
		return nil
	}
	return reaper.Enable()
}

// The portable fallback's scans of a live tree come back empty, KillOrphans
// finds nothing to kill, and the child's process group, which herd kills
// it by, takes a signal.
func TestPortableScansFindNothing(t *testing.T) {
	t.Parallel()
	if reaper.FindsProcesses {
		t.Skip("the Linux build scans /proc (TestDescendantsAndCatches)")
	}
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	cmd.SysProcAttr = reaper.ChildAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sh: %v", err)
	}
	pid := cmd.Process.Pid
	time.Sleep(50 * time.Millisecond)
	if d := reaper.Descendants(pid); d != nil {
		t.Errorf("Descendants = %v, want none", d)
	}
	if c := reaper.Children(nil); c != nil {
		t.Errorf("Children = %v, want none", c)
	}
	if got := reaper.ChildrenOf(os.Getpid()); got != nil {
		t.Errorf("ChildrenOf(self) = %v, want none", got)
	}
	if reaper.ParentOf(pid) != 0 || reaper.Catches(os.Getpid(), syscall.SIGUSR1) {
		t.Error("ParentOf or Catches know something without /proc")
	}
	if killed := reaper.KillOrphans(map[int]bool{pid: true}); killed != nil {
		t.Errorf("KillOrphans = %v, want none found", killed)
	}
	// Killing by process group is what the fallback relies on.
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the process group: %v", err)
	}
	if err := cmd.Wait(); err == nil {
		t.Error("sh exited cleanly after its group was killed")
	}
}
