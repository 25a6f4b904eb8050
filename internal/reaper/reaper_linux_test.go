//go:build linux

package reaper_test

import (
	"syscall"
	"testing"

	"github.com/herd-run/herd/internal/reaper"
)

// On Linux a child dies with herd (Pdeathsig) in the default build only;
// the herd_portable build, which stands in for macOS, has no Pdeathsig.
func TestPdeathsig(t *testing.T) {
	t.Parallel()
	want := syscall.Signal(0)
	if reaper.FindsProcesses {
		want = syscall.SIGKILL
	}
	if got := reaper.ChildAttr().Pdeathsig; got != want {
		t.Errorf("ChildAttr().Pdeathsig = %v, want %v", got, want)
	}
}
