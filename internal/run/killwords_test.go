package run

import (
	"testing"

	"github.com/herd-run/herd/internal/worker"
)

func TestKillWords(t *testing.T) {
	tests := []struct {
		ex     worker.Exit
		stacks bool
		want   string
	}{
		{worker.Exit{Code: -1, Signal: "SIGTERM", KillStage: "SIGTERM"}, true, "SIGTERM after stack dump"},
		{worker.Exit{Code: -1, Signal: "SIGKILL", KillStage: "SIGKILL"}, true, "SIGKILL after stack dump and SIGTERM"},
		{worker.Exit{Code: -1, Signal: "SIGTERM", KillStage: "SIGTERM"}, false, "SIGTERM"},
		{worker.Exit{Code: -1, Signal: "SIGKILL", KillStage: "SIGKILL"}, false, "SIGKILL"},
		// A test's SIGTERM handler that exits: how it ended is said too.
		{worker.Exit{Code: 0, KillStage: "SIGTERM"}, true, "SIGTERM after stack dump; exit code 0"},
		{worker.Exit{Code: -1, Signal: "SIGUSR1", KillStage: "stacks"}, true, "stack dump; killed by SIGUSR1"},
		{worker.Exit{Code: 3}, true, "exit code 3"},
	}
	for _, tt := range tests {
		if got := killWords(&tt.ex, tt.stacks); got != tt.want {
			t.Errorf("killWords(%+v, %v) = %q, want %q", tt.ex, tt.stacks, got, tt.want)
		}
	}
}
