// Package report renders a herd run for people and tools: a terminal
// reporter that reads like pytest's own output, a JSON document, and a JUnit
// XML file in pytest's junitxml shape. It reads only package result.
package report

import (
	"fmt"
	"path"
	"strings"

	"github.com/herd-run/herd/internal/result"
)

// splitNodeID splits a nodeid into its "::" parts, keeping a parameter
// suffix ("[a::b]") whole on the last part, as pytest's mangle_test_address.
func splitNodeID(nodeid string) []string {
	path, params := nodeid, ""
	if i := strings.IndexByte(nodeid, '['); i >= 0 {
		path, params = nodeid[:i], nodeid[i:]
	}
	parts := strings.Split(path, "::")
	parts[len(parts)-1] += params
	return parts
}

// relNodeID shows a nodeid relative to the directory herd was started in,
// as pytest's cwd_relative_nodeid does when that is not the rootdir:
// "test_r.py::test_a" from rootdir/tests for "tests/test_r.py::test_a".
func relNodeID(nodeid, rootdir, invocationDir string) string {
	if rootdir == "" || invocationDir == "" {
		return nodeid
	}
	root, dir := path.Clean(rootdir), path.Clean(invocationDir)
	if root == dir || !path.IsAbs(root) || !path.IsAbs(dir) {
		return nodeid
	}
	from := strings.Split(dir, "/")
	dest := append(strings.Split(root, "/"), strings.Split(nodeid, "/")...)
	common := 0
	for common < len(from) && common < len(dest) && from[common] == dest[common] {
		common++
	}
	parts := make([]string, 0, len(from)-common+len(dest)-common)
	for i := common; i < len(from); i++ {
		parts = append(parts, "..")
	}
	parts = append(parts, dest[common:]...)
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

// headLine is the title pytest prints above a failure: the test's HeadLine,
// or its domain derived from the nodeid ("TestC.test_m[1]").
func headLine(t *result.Test) string {
	if t.HeadLine != "" {
		return t.HeadLine
	}
	parts := splitNodeID(t.NodeID)
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[1:], ".")
}

// errorPhase tells where a test with outcome error failed. A run records
// no phase for it, but captured output of the call or of teardown means
// setup passed, so the error came at teardown; otherwise it is setup.
func errorPhase(t *result.Test) string {
	for _, s := range t.Sections {
		if strings.HasSuffix(s.Title, " call") || strings.HasSuffix(s.Title, " teardown") {
			return "teardown"
		}
	}
	return "setup"
}

// crashCause says how a worker ended: "SIGSEGV", "exit code 3", or "" when
// nothing is known.
func crashCause(c *result.Crash) string {
	if c == nil {
		return ""
	}
	return DeathWords(c.Death).Cause
}

// failureMessage is the one-line reason shown after " - " in the short
// test summary and in JUnit's message attribute.
func failureMessage(t *result.Test) string {
	switch t.Outcome {
	case result.Crashed:
		if t.Message != "" {
			return t.Message
		}
		msg := crashCause(t.Crash)
		if msg == "" {
			msg = "worker crashed"
		}
		if t.Worker != "" {
			msg += " on " + t.Worker
		}
		if t.Crash != nil && t.Crash.Phase != "" {
			msg += " during " + t.Crash.Phase
		}
		return msg
	case result.Timeout:
		if t.Message != "" {
			return t.Message
		}
		return timeoutMessage(t)
	case result.NotRun, result.Interrupted:
		// The summary line already says NOT RUN or INTERRUPTED.
		if t.Reason != "" {
			return strings.TrimPrefix(t.Reason, "not run: ")
		}
		return t.Message
	}
	return t.Message
}

// timeoutMessage is "timeout after 5s" for a test herd killed at its
// timeout, or "timeout after 5.00s" (its duration) when the timeout is not
// known.
func timeoutMessage(t *result.Test) string {
	if t.Crash != nil {
		if w := DeathWords(t.Crash.Death).Timeout; w != "" {
			return w
		}
	}
	return fmt.Sprintf("timeout after %.2fs", t.Duration.Seconds())
}

// crashVerdict says in one line how the worker running a crashed or
// timed-out test ended: "worker gw1 crashed during call: killed by signal
// SIGSEGV", "worker gw0 was stopped during call: killed by signal SIGKILL
// (kill stage: SIGKILL)".
func crashVerdict(t *result.Test) string {
	who := "the worker"
	if t.Worker != "" {
		who = "worker " + t.Worker
	}
	verb := " crashed"
	if t.Outcome == result.Timeout {
		verb = " was stopped"
	}
	line := who + verb
	c := t.Crash
	if c == nil {
		return line
	}
	if c.Phase != "" {
		line += " during " + c.Phase
	}
	return line + DeathWords(c.Death).Ended
}

// crashDetails describes a crashed or timed-out test's worker death: the
// verdict, what rerunning the test alone found, then the tests the same
// worker process ran before, at most maxPrior of them (0 means all).
func crashDetails(t *result.Test, maxPrior int) []string {
	lines := []string{crashVerdict(t)}
	if d := t.Diagnosis; d != nil && d.Summary != "" {
		lines = append(lines, "diagnosis: "+d.Summary)
	}
	if t.Crash == nil || len(t.Crash.PriorTests) == 0 {
		return lines
	}
	prior := t.Crash.PriorTests
	lines = append(lines, fmt.Sprintf("tests run earlier by this worker process (%d, oldest first):", len(prior)))
	if maxPrior > 0 && len(prior) > maxPrior {
		lines = append(lines, fmt.Sprintf("    ... %d earlier tests", len(prior)-maxPrior))
		prior = prior[len(prior)-maxPrior:]
	}
	for _, p := range prior {
		lines = append(lines, "    "+p)
	}
	return lines
}

// center centres s in width columns padded with fill, as Python's
// str.center does (the odd column goes left when width is odd).
func center(s string, width int, fill string) string {
	n := textWidth(s)
	if width <= n {
		return s
	}
	marg := width - n
	left := marg/2 + (marg & width & 1)
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, marg-left)
}
