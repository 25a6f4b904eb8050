package history

import (
	"fmt"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// Record saves what a finished run leaves in pytest's cache directory
// (r.Info.CacheDir; nothing without one): the durations of the tests that
// ran to an end (unless keepDurations, when a shard run must not change
// the file its partition was weighed by), pytest's last-failed cache, and
// the diagnoses of the crashed tests, dated now. It returns one error per
// part that could not be saved, each saying which.
func Record(r *result.Run, keepDurations bool, now time.Time) []error {
	dir := r.Info.CacheDir
	if dir == "" {
		return nil
	}
	var errs []error
	if !keepDurations {
		if err := SaveDurations(dir, runDurations(r)); err != nil {
			errs = append(errs, fmt.Errorf("could not record durations: %w", err))
		}
	}
	failed, passed := lastFailed(r)
	if err := UpdateLastFailed(dir, failed, passed); err != nil {
		errs = append(errs, fmt.Errorf("could not update the last-failed cache: %w", err))
	}
	if err := SaveDiagnoses(dir, diagnoses(r, now)); err != nil {
		errs = append(errs, fmt.Errorf("could not record diagnoses: %w", err))
	}
	return errs
}

// runDurations are the durations of r's tests that ran to an end: not
// those that did not run, crashed or timed out.
func runDurations(r *result.Run) map[string]time.Duration {
	durs := make(map[string]time.Duration)
	for _, t := range r.Tests {
		if t.Outcome != result.NotRun && t.Outcome != result.Crashed && t.Outcome != result.Timeout && t.Duration > 0 {
			durs[t.NodeID] = t.Duration
		}
	}
	return durs
}

// lastFailed splits r's tests as pytest's last-failed cache wants them:
// failures and the paths of collection errors, and the tests that ran
// otherwise.
func lastFailed(r *result.Run) (failed, passed []string) {
	for _, t := range r.Tests {
		switch {
		case t.Outcome.IsFailure():
			failed = append(failed, t.NodeID)
		case t.Outcome != result.NotRun:
			passed = append(passed, t.NodeID)
		}
	}
	for _, e := range r.CollectionErrors {
		failed = append(failed, e.Path)
	}
	return failed, passed
}

// diagnoses are the diagnoses of r's tests that were rerun alone, dated
// now.
func diagnoses(r *result.Run, now time.Time) map[string]Diagnosis {
	diags := map[string]Diagnosis{}
	for _, t := range r.Tests {
		if dg := t.Diagnosis; dg != nil && dg.Rerun != "" {
			diags[t.NodeID] = Diagnosis{CrashedAlone: dg.CrashedAlone, Cause: dg.Cause,
				Marker: dg.Marker, Summary: dg.Summary, When: now.UTC().Format(time.RFC3339)}
		}
	}
	return diags
}
