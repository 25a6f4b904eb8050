package report

import (
	"fmt"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// DeathWords words the death d in every way herd's reports and messages
// say it. It is the one place herd words a death: the dispatcher gets it as
// run.Config.DeathWords.
func DeathWords(d result.Death) result.DeathText {
	var w result.DeathText
	switch {
	case d.Signal != "":
		w.Cause = d.Signal
		w.Ended = ": killed by signal " + d.Signal
	case d.ExitCode != nil:
		w.Cause = fmt.Sprintf("exit code %d", *d.ExitCode)
		w.Ended = fmt.Sprintf(": exited with code %d", *d.ExitCode)
	}
	if d.KillStage != "" {
		w.Ended += " (kill stage: " + d.KillStage + ")"
	}
	switch {
	case d.Error != "":
		w.Exit = d.Error
	case d.Signal != "":
		w.Exit = "killed by " + d.Signal
	default:
		w.Exit = w.Cause
	}
	switch {
	case d.Detail != "":
		w.Missed = d.Detail
	case d.Reason == result.DeathCollectTimeout:
		w.Missed = fmt.Sprintf("did not finish collecting within %s", d.Limit)
	case d.Reason == result.DeathStuck:
		w.Missed = fmt.Sprintf("stuck outside any test: silent for %s between tests", d.Limit)
	case d.Reason == result.DeathShutdown:
		w.Missed = fmt.Sprintf("did not end within %s of the shutdown request (the shutdown timeout)", limitWords(d.Limit))
	}
	w.Message = w.Exit
	if w.Missed != "" {
		w.Message = w.Missed + "; " + w.Exit
	}
	if d.Reason == result.DeathTimeout {
		w.Timeout = "timeout after " + limitWords(d.Limit)
	}
	switch {
	case !d.Reason.Killed():
	case d.Reason == result.DeathTimeout && d.NodeID != "":
		w.Why = fmt.Sprintf("%s timed out after %s: worker killed (%s)", d.NodeID, limitWords(d.Limit), killWords(d, true, w.Exit))
	case w.Missed != "":
		// The deadlines outside tests (collection, between tests, session
		// end) dump the stacks before the kill, as a timeout does.
		w.Why = w.Missed + ": worker killed (" + killWords(d, true, w.Exit) + ")"
	case d.Reason == result.DeathInterrupt:
		what := "stopped"
		if d.NodeID != "" {
			what = d.NodeID + " stopped"
		}
		w.Why = what + ": interrupted (worker killed by " + killWords(d, false, w.Exit) + ")"
	}
	return w
}

// killWords names the last stage of herd's kill escalation that fired, and
// how the worker ended (exit) when that was not the stage's signal. stacks
// says the escalation began with a stack dump (SIGUSR1).
func killWords(d result.Death, stacks bool, exit string) string {
	var w string
	switch {
	case d.KillStage == "stacks":
		w = "stack dump"
	case stacks && d.KillStage == "SIGTERM":
		w = "SIGTERM after stack dump"
	case stacks && d.KillStage == "SIGKILL":
		w = "SIGKILL after stack dump and SIGTERM"
	case d.KillStage != "":
		w = d.KillStage
	}
	if d.KillStage == "" || d.Signal != d.KillStage {
		if w == "" {
			return exit
		}
		w += "; " + exit
	}
	return w
}

// limitWords says a deadline in seconds, as herd's options give them: "2s",
// "0.15s", "60s".
func limitWords(d time.Duration) string {
	return fmt.Sprintf("%gs", d.Seconds())
}
