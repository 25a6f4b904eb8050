package main

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/xdistctl"
)

// exitCodeOf maps each kind of ending, wrapped or not, to its code and
// prints what it says.
func TestExitCodeOf(t *testing.T) {
	t.Parallel()
	noPy := &config.NoPythonError{Tried: []config.Candidate{{Path: "/nope", Reason: "not found"}}, Given: "HERD_PYTHON"}
	for _, tc := range []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"success", nil, exitOK, ""},
		{"run result", exitWith(exitTestsFailed), exitTestsFailed, ""},
		{"passed run", exitWith(exitOK), exitOK, ""},
		{"pytest's own code", &exitError{code: 2}, 2, ""},
		{"usage", usageErrorf("herd: --x %s", "bad"), exitUsage, "herd: --x bad\n"},
		{"wrapped usage", fmt.Errorf("check: %w", usageError("herd: no")), exitUsage, "herd: no\n"},
		{"no python", noPy, exitUsage, noPy.Error() + "\n"},
		{"internal, worded", internalErrorf("herd doctor: internal error: %v", "boom"), exitInternal, "herd doctor: internal error: boom\n"},
		{"internal, any", errors.New("boom"), exitInternal, "herd: internal error: boom\n"},
		{"startup, pytest's code", &run.StartupError{Code: 4, Output: "usage\n"}, 4, "usage\n"},
		{"startup, odd code", &run.StartupError{Code: 9, Output: "x\n"}, exitInternal, "x\n"},
		{"xdist controller", &xdistctl.Error{Err: errors.New("died"), Output: "out", Trace: "tb\n"}, exitInternal,
			"out\ntb\nherd: xdist controller: died\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := exitCodeOf(tc.err, &stderr); code != tc.code || stderr.String() != tc.stderr {
				t.Errorf("exitCodeOf(%v) = %d, stderr %q; want %d, %q", tc.err, code, stderr.String(), tc.code, tc.stderr)
			}
		})
	}
}

// A finished run's status decides its code.
func TestExitCodeOfRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		run  *result.Run
		code int
	}{
		{"no tests", &result.Run{}, exitNoTests},
		{"interrupted", &result.Run{Interrupted: true, Collected: 1}, exitInterrupted},
		{"maxfail is no interruption", &result.Run{Interrupted: true, MaxfailReached: true, Collected: 1}, exitOK},
		{"collection error", &result.Run{Collected: 1, CollectionErrors: []result.CollectionError{{Path: "a.py"}}}, exitTestsFailed},
	} {
		if got := exitCode(tc.run); got != tc.code {
			t.Errorf("%s: exitCode = %d, want %d", tc.name, got, tc.code)
		}
	}
}
