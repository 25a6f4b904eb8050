package result

import "time"

// DeathReason says why a worker process ended when it was not asked to.
type DeathReason string

// The reasons a worker process dies. Crash and handshake are deaths herd
// did not cause; for the others herd killed the process itself.
const (
	// DeathCrash is a worker that died by itself: a signal herd did not
	// send (SIGSEGV, the OOM killer's SIGKILL) or an exit.
	DeathCrash DeathReason = "crash"
	// DeathTimeout is a worker herd killed because its test ran longer
	// than its timeout.
	DeathTimeout DeathReason = "timeout"
	// DeathCollectTimeout is a worker herd killed because it did not
	// finish collecting within the collection deadline.
	DeathCollectTimeout DeathReason = "collect_timeout"
	// DeathStuck is a worker herd killed because it was silent between
	// tests for longer than the deadline.
	DeathStuck DeathReason = "stuck"
	// DeathShutdown is a worker herd killed because it did not end within
	// the shutdown timeout after herd asked it to.
	DeathShutdown DeathReason = "shutdown"
	// DeathInterrupt is a worker herd killed after Ctrl-C.
	DeathInterrupt DeathReason = "interrupt"
	// DeathHandshake is a worker whose first message was not a valid
	// hello, and which then ended.
	DeathHandshake DeathReason = "handshake"
)

// Valid reports whether r is one of the defined reasons.
func (r DeathReason) Valid() bool {
	switch r {
	case DeathCrash, DeathTimeout, DeathCollectTimeout, DeathStuck, DeathShutdown, DeathInterrupt, DeathHandshake:
		return true
	}
	return false
}

// Killed reports whether herd killed the worker itself for this reason.
func (r DeathReason) Killed() bool {
	return r.Valid() && r != DeathCrash && r != DeathHandshake
}

// Death says how and why one worker process ended: the data every report
// words (report.DeathWords).
type Death struct {
	// Reason says why the process ended.
	Reason DeathReason
	// Signal is the name of the signal that ended the process
	// ("SIGSEGV"), or empty when it exited on its own.
	Signal string
	// ExitCode is the process's exit code, or nil when a signal ended it
	// or herd could not tell (Error).
	ExitCode *int
	// KillStage names the last stage of herd's kill escalation that fired
	// ("stacks", "SIGTERM", "SIGKILL"), empty when herd killed nothing.
	KillStage string
	// Error says why herd could not tell how the process ended (it could
	// not start or wait for it); empty otherwise.
	Error string
	// Limit is the deadline the process missed: the test's timeout, the
	// collection or between-tests deadline, or the shutdown timeout; zero
	// for the other reasons.
	Limit time.Duration
	// NodeID names the test the process was running, empty when none.
	NodeID string
	// Detail is what went wrong in the handshake, for DeathHandshake (or
	// for a process herd then killed for another reason).
	Detail string
}

// DeathText is every way herd words one worker death. report.DeathWords
// makes it, so that each wording follows from the typed Death in one place.
type DeathText struct {
	// Cause is the death in a word or two, as the short verdicts say it
	// ("worker crashed: SIGSEGV"): "SIGSEGV", "exit code 3"; empty when
	// herd could not tell.
	Cause string
	// Exit says how the process ended: "killed by SIGSEGV", "exit code 3",
	// or why herd could not tell.
	Exit string
	// Ended is the end of a crash verdict, with its separator: ": killed
	// by signal SIGSEGV", ": exited with code 3", then " (kill stage:
	// SIGKILL)" when a kill stage fired.
	Ended string
	// Missed says what the process failed to do in time, or how its
	// handshake failed: "did not finish collecting within 10m0s"; empty
	// for the other deaths.
	Missed string
	// Message is what a worker-death line says: Missed, when there is one,
	// then Exit ("did not end within 60s of the shutdown request (the
	// shutdown timeout); killed by SIGTERM").
	Message string
	// Why says, for a death herd caused, why it killed the worker, in the
	// words of the cause ("test_x.py::test_hang timed out after 2s: worker
	// killed (SIGTERM after stack dump)"); empty for a crash.
	Why string
	// Timeout is "timeout after 2s" for a test herd killed at its
	// timeout; empty for other deaths.
	Timeout string
}
