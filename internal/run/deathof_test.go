package run

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/worker"
)

// TestDeathOf checks the typed death the dispatcher gives each way a
// worker ends.
func TestDeathOf(t *testing.T) {
	code := func(n int) *int { return &n }
	const id = "a.py::test_x"
	tests := []struct {
		name        string
		proc        procState
		interrupted int
		ex          worker.Exit
		want        result.Death
	}{
		{"segfault", procState{current: 0}, 0, worker.Exit{Code: -1, Signal: "SIGSEGV"},
			result.Death{Reason: result.DeathCrash, Signal: "SIGSEGV", NodeID: id}},
		{"exit", procState{current: -1}, 0, worker.Exit{Code: 3},
			result.Death{Reason: result.DeathCrash, ExitCode: code(3)}},
		{"lost", procState{current: -1}, 0, worker.Exit{Code: -1, Err: errors.New("wait: no child processes")},
			result.Death{Reason: result.DeathCrash, Error: "wait: no child processes"}},
		{"timeout", procState{current: 0, killed: true, timedOut: true}, 0,
			worker.Exit{Code: -1, Signal: "SIGTERM", KillStage: "SIGTERM"},
			result.Death{Reason: result.DeathTimeout, Signal: "SIGTERM", KillStage: "SIGTERM", Limit: 2 * time.Second, NodeID: id}},
		{"collection", procState{current: -1, killed: true, stall: stallCollection}, 0,
			worker.Exit{Code: -1, Signal: "SIGKILL", KillStage: "SIGKILL"},
			result.Death{Reason: result.DeathCollectTimeout, Signal: "SIGKILL", KillStage: "SIGKILL", Limit: CollectTimeout}},
		{"between tests", procState{current: -1, killed: true, stall: stallBetween}, 0,
			worker.Exit{Code: -1, Signal: "SIGTERM", KillStage: "SIGTERM"},
			result.Death{Reason: result.DeathStuck, Signal: "SIGTERM", KillStage: "SIGTERM", Limit: StuckTimeout}},
		{"session end", procState{current: -1, killed: true, stall: stallSessionEnd}, 0,
			worker.Exit{Code: 0, KillStage: "stacks"},
			result.Death{Reason: result.DeathShutdown, ExitCode: code(0), KillStage: "stacks", Limit: time.Minute}},
		{"interrupt", procState{current: 0, killed: true}, 1, worker.Exit{Code: -1, Signal: "SIGTERM", KillStage: "SIGTERM"},
			result.Death{Reason: result.DeathInterrupt, Signal: "SIGTERM", KillStage: "SIGTERM", NodeID: id}},
		{"handshake", procState{current: -1, handshake: "worker handshake failed: bad"}, 0, worker.Exit{Code: 1},
			result.Death{Reason: result.DeathHandshake, ExitCode: code(1), Detail: "worker handshake failed: bad"}},
		{"killed after a bad handshake", procState{current: -1, killed: true, handshake: "worker handshake failed: bad"}, 2,
			worker.Exit{Code: -1, Signal: "SIGKILL", KillStage: "SIGKILL"},
			result.Death{Reason: result.DeathInterrupt, Signal: "SIGKILL", KillStage: "SIGKILL", Detail: "worker handshake failed: bad"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &dispatcher{
				cfg:         Config{Timeout: 2 * time.Second, ShutdownTimeout: time.Minute},
				tests:       []*testState{{info: protocol.TestInfo{ID: id}}},
				interrupted: tt.interrupted,
			}
			p := tt.proc
			if got := d.deathOf(&p, &tt.ex); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("deathOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}
