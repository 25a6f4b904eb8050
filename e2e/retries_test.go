package e2e

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRetriesFlaky: a test that fails once and then passes under --retries 1
// shows as flaky in the terminal, the JSON report, the event stream, JUnit
// and the HTML report; a test that fails every try stays failed with each try
// kept; a crash retried by its flaky(reruns=2) marker ends flaky too.
func TestRetriesFlaky(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := copySuite(t, "flaky")
	out := t.TempDir()
	state := t.TempDir()
	junit := filepath.Join(out, "junit.xml")
	events := filepath.Join(out, "events.ndjson")
	html := filepath.Join(out, "report.html")
	stdout, stderr, code, rep := runHerdEnv(t, dir, []string{"FLAKY_STATE_DIR=" + state},
		"--retries", "1", "--no-diagnose", "--junitxml", junit, "--events", events, "--report-html", html)
	if code != 1 {
		t.Errorf("herd exits %d, want 1 (test_always_fails fails every try)\nstderr:\n%s", code, tail(stderr))
	}
	const once = "test_flaky.py::test_fails_once_then_passes"
	const always = "test_flaky.py::test_always_fails"
	const crash = "test_flaky.py::test_crashes_twice_then_passes"
	want := map[string]string{once: "flaky", always: "failed", crash: "flaky", "test_flaky.py::test_passes": "passed"}
	if got := rep.outcomes(); !equalStrings(got, want) {
		t.Errorf("JSON outcomes %v, want %v", got, want)
	}

	// Terminal: the short summary names the flaky tests, the closing line
	// counts them.
	if !regexp.MustCompile(`(?m)^FLAKY ` + regexp.QuoteMeta(once) + ` - passed on try 2`).MatchString(stdout) {
		t.Errorf("terminal has no FLAKY line for %s:\n%s", once, tail(stdout))
	}
	if line := closingLine(stdout); !strings.Contains(line, "1 failed") || !strings.Contains(line, "2 flaky") || !strings.Contains(line, "1 passed") {
		t.Errorf("closing line %q, want 1 failed, 1 passed, 2 flaky", line)
	}

	// JSON: every earlier try is kept.
	var full struct {
		Tests []struct {
			NodeID   string `json:"nodeid"`
			Attempts []struct {
				Outcome string `json:"outcome"`
			} `json:"attempts"`
		} `json:"tests"`
	}
	readJSON(t, rep, &full)
	attempts := map[string][]string{}
	for _, tc := range full.Tests {
		for _, a := range tc.Attempts {
			attempts[tc.NodeID] = append(attempts[tc.NodeID], a.Outcome)
		}
	}
	if got := strings.Join(attempts[once], ","); got != "failed" {
		t.Errorf("%s attempts %q, want failed", once, got)
	}
	if got := strings.Join(attempts[always], ","); got != "failed" {
		t.Errorf("%s attempts %q, want failed (one retry)", always, got)
	}
	if got := strings.Join(attempts[crash], ","); got != "crashed,crashed" {
		t.Errorf("%s attempts %q, want crashed,crashed", crash, got)
	}

	// Event stream: test_finished says flaky.
	evData, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	finished := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(evData)), "\n") {
		var ev struct {
			Event   string `json:"event"`
			NodeID  string `json:"nodeid"`
			Outcome string `json:"outcome"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event line %q: %v", line, err)
		}
		if ev.Event == "test_finished" {
			if prev, dup := finished[ev.NodeID]; dup {
				t.Errorf("two test_finished events for %s (%s, %s)", ev.NodeID, prev, ev.Outcome)
			}
			finished[ev.NodeID] = ev.Outcome
		}
	}
	if !equalStrings(finished, want) {
		t.Errorf("event stream outcomes %v, want %v", finished, want)
	}

	// JUnit: the failed tries of flaky tests are flakyFailure elements, those
	// of the test that never passed rerunFailure ones.
	jdata, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Cases []struct {
				Name    string     `xml:"name,attr"`
				Flaky   []struct{} `xml:"flakyFailure"`
				Rerun   []struct{} `xml:"rerunFailure"`
				Failure []struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(jdata, &suites); err != nil {
		t.Fatalf("junit: %v", err)
	}
	counts := map[string][3]int{}
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			counts[c.Name] = [3]int{len(c.Flaky), len(c.Rerun), len(c.Failure)}
		}
	}
	if got := counts["test_fails_once_then_passes"]; got != [3]int{1, 0, 0} {
		t.Errorf("junit %s: flakyFailure, rerunFailure, failure = %v, want [1 0 0]", once, got)
	}
	if got := counts["test_crashes_twice_then_passes"]; got != [3]int{2, 0, 0} {
		t.Errorf("junit %s: %v, want [2 0 0]", crash, got)
	}
	if got := counts["test_always_fails"]; got != [3]int{0, 1, 1} {
		t.Errorf("junit %s: %v, want [0 1 1]", always, got)
	}

	// HTML: the embedded data gives the flaky outcome.
	hdata, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="herd-data">(.*?)</script>`).FindSubmatch(hdata)
	if m == nil {
		t.Fatal("the HTML report has no herd-data block")
	}
	if n := strings.Count(string(m[1]), `"flaky"`); n < 2 {
		t.Errorf("the HTML report's data names the flaky outcome %d times, want at least 2 (one per flaky test)", n)
	}
}

func equalStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// readJSON decodes herd's JSON report again, into v, for fields jsonReport
// does not hold.
func readJSON(t *testing.T, rep jsonReport, v any) {
	t.Helper()
	if len(rep.raw) == 0 {
		t.Fatal("herd wrote no JSON report")
	}
	if err := json.Unmarshal(rep.raw, v); err != nil {
		t.Fatal(err)
	}
}
