package report

import (
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

func TestKillWords(t *testing.T) {
	tests := []struct {
		d      result.Death
		stacks bool
		want   string
	}{
		{result.Death{Signal: "SIGTERM", KillStage: "SIGTERM"}, true, "SIGTERM after stack dump"},
		{result.Death{Signal: "SIGKILL", KillStage: "SIGKILL"}, true, "SIGKILL after stack dump and SIGTERM"},
		{result.Death{Signal: "SIGTERM", KillStage: "SIGTERM"}, false, "SIGTERM"},
		{result.Death{Signal: "SIGKILL", KillStage: "SIGKILL"}, false, "SIGKILL"},
		// A test's SIGTERM handler that exits: how it ended is said too.
		{result.Death{ExitCode: intp(0), KillStage: "SIGTERM"}, true, "SIGTERM after stack dump; exit code 0"},
		{result.Death{Signal: "SIGUSR1", KillStage: "stacks"}, true, "stack dump; killed by SIGUSR1"},
		{result.Death{ExitCode: intp(3)}, true, "exit code 3"},
	}
	for _, tt := range tests {
		if got := killWords(tt.d, tt.stacks, DeathWords(tt.d).Exit); got != tt.want {
			t.Errorf("killWords(%+v, %v) = %q, want %q", tt.d, tt.stacks, got, tt.want)
		}
	}
}

// TestDeathWords checks every wording of a death, for each reason.
func TestDeathWords(t *testing.T) {
	tests := []struct {
		name string
		d    result.Death
		want result.DeathText
	}{
		{
			name: "segfault",
			d:    result.Death{Reason: result.DeathCrash, Signal: "SIGSEGV", NodeID: "t.py::test_segv"},
			want: result.DeathText{Cause: "SIGSEGV", Exit: "killed by SIGSEGV", Ended: ": killed by signal SIGSEGV",
				Message: "killed by SIGSEGV"},
		},
		{
			name: "exit",
			d:    result.Death{Reason: result.DeathCrash, ExitCode: intp(3)},
			want: result.DeathText{Cause: "exit code 3", Exit: "exit code 3", Ended: ": exited with code 3", Message: "exit code 3"},
		},
		{
			name: "lost",
			d:    result.Death{Reason: result.DeathCrash, Error: "wait: no child processes"},
			want: result.DeathText{Exit: "wait: no child processes", Message: "wait: no child processes"},
		},
		{
			name: "timeout",
			d: result.Death{Reason: result.DeathTimeout, Signal: "SIGTERM", KillStage: "SIGTERM", Limit: 2 * time.Second,
				NodeID: "test_x.py::test_hang"},
			want: result.DeathText{Cause: "SIGTERM", Exit: "killed by SIGTERM", Ended: ": killed by signal SIGTERM (kill stage: SIGTERM)",
				Message: "killed by SIGTERM", Timeout: "timeout after 2s",
				Why: "test_x.py::test_hang timed out after 2s: worker killed (SIGTERM after stack dump)"},
		},
		{
			name: "collect timeout",
			d:    result.Death{Reason: result.DeathCollectTimeout, Signal: "SIGKILL", KillStage: "SIGKILL", Limit: 10 * time.Minute},
			want: result.DeathText{Cause: "SIGKILL", Exit: "killed by SIGKILL", Ended: ": killed by signal SIGKILL (kill stage: SIGKILL)",
				Missed:  "did not finish collecting within 10m0s",
				Message: "did not finish collecting within 10m0s; killed by SIGKILL",
				Why:     "did not finish collecting within 10m0s: worker killed (SIGKILL after stack dump and SIGTERM)"},
		},
		{
			name: "stuck",
			d:    result.Death{Reason: result.DeathStuck, Signal: "SIGTERM", KillStage: "SIGTERM", Limit: time.Minute},
			want: result.DeathText{Cause: "SIGTERM", Exit: "killed by SIGTERM", Ended: ": killed by signal SIGTERM (kill stage: SIGTERM)",
				Missed:  "stuck outside any test: silent for 1m0s between tests",
				Message: "stuck outside any test: silent for 1m0s between tests; killed by SIGTERM",
				Why:     "stuck outside any test: silent for 1m0s between tests: worker killed (SIGTERM after stack dump)"},
		},
		{
			name: "shutdown",
			d:    result.Death{Reason: result.DeathShutdown, ExitCode: intp(0), KillStage: "stacks", Limit: time.Minute},
			want: result.DeathText{Cause: "exit code 0", Exit: "exit code 0", Ended: ": exited with code 0 (kill stage: stacks)",
				Missed:  "did not end within 60s of the shutdown request (the shutdown timeout)",
				Message: "did not end within 60s of the shutdown request (the shutdown timeout); exit code 0",
				Why:     "did not end within 60s of the shutdown request (the shutdown timeout): worker killed (stack dump; exit code 0)"},
		},
		{
			name: "interrupt",
			d:    result.Death{Reason: result.DeathInterrupt, Signal: "SIGTERM", KillStage: "SIGTERM", NodeID: "t.py::test_slow"},
			want: result.DeathText{Cause: "SIGTERM", Exit: "killed by SIGTERM", Ended: ": killed by signal SIGTERM (kill stage: SIGTERM)",
				Message: "killed by SIGTERM", Why: "t.py::test_slow stopped: interrupted (worker killed by SIGTERM)"},
		},
		{
			name: "interrupt between tests",
			d:    result.Death{Reason: result.DeathInterrupt, Signal: "SIGKILL", KillStage: "SIGKILL"},
			want: result.DeathText{Cause: "SIGKILL", Exit: "killed by SIGKILL", Ended: ": killed by signal SIGKILL (kill stage: SIGKILL)",
				Message: "killed by SIGKILL", Why: "stopped: interrupted (worker killed by SIGKILL)"},
		},
		{
			name: "handshake",
			d:    result.Death{Reason: result.DeathHandshake, ExitCode: intp(1), Detail: "worker handshake failed: worker speaks protocol 9, controller 1"},
			want: result.DeathText{Cause: "exit code 1", Exit: "exit code 1", Ended: ": exited with code 1",
				Missed:  "worker handshake failed: worker speaks protocol 9, controller 1",
				Message: "worker handshake failed: worker speaks protocol 9, controller 1; exit code 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeathWords(tt.d); got != tt.want {
				t.Errorf("DeathWords(%+v) =\n%+v\nwant\n%+v", tt.d, got, tt.want)
			}
		})
	}
}
