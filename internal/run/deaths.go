package run

import (
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/worker"
)

// deathOf is how and why the process of slot s ended (ex): the typed death
// the WorkerDied event and a crashed or timed-out result carry. A death herd
// caused itself names its cause: a test past its timeout, a missed
// deadline outside tests, Ctrl-C; any other is a crash, or a handshake
// failure.
func (d *dispatcher) deathOf(s *slotState, ex *worker.Exit) result.Death {
	death := result.Death{Signal: ex.Signal, KillStage: ex.KillStage, Reason: result.DeathCrash}
	switch {
	case ex.Err != nil:
		death.Error = ex.Err.Error()
	case ex.Signal == "":
		code := ex.Code
		death.ExitCode = &code
	}
	if s.current >= 0 {
		death.NodeID = d.tests[s.current].info.ID
	}
	switch {
	case s.killed && s.timedOut && s.current >= 0:
		death.Reason = result.DeathTimeout
		death.Limit = d.timeoutOf(d.tests[s.current])
	case s.killed && s.stall == stallCollection:
		death.Reason, death.Limit = result.DeathCollectTimeout, CollectTimeout
	case s.killed && s.stall == stallBetween:
		death.Reason, death.Limit = result.DeathStuck, StuckTimeout
	case s.killed && s.stall == stallSessionEnd:
		death.Reason, death.Limit = result.DeathShutdown, d.cfg.ShutdownTimeout
	case s.killed && d.interrupted > 0:
		death.Reason = result.DeathInterrupt
		death.Detail = s.handshake
	case s.handshake != "":
		death.Reason = result.DeathHandshake
		death.Detail = s.handshake
	}
	return death
}

// Where herd finds a process hung outside any test (slotState.stall): the
// words the run's stalls carry.
const (
	stallCollection = "collection"
	stallBetween    = "between tests"
	stallSessionEnd = "session end"
)
