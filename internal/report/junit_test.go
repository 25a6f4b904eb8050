package report

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// junitOpts are fixed so the report is deterministic.
func junitOpts() JUnitOptions {
	return JUnitOptions{
		Hostname:  "ci-host",
		Timestamp: time.Date(2026, 11, 25, 19, 24, 46, 978716000, time.UTC),
	}
}

// Types to decode a report with encoding/xml.
type xmlSuites struct {
	XMLName xml.Name   `xml:"testsuites"`
	Suites  []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	Name      string    `xml:"name,attr"`
	Errors    int       `xml:"errors,attr"`
	Failures  int       `xml:"failures,attr"`
	Skipped   int       `xml:"skipped,attr"`
	Tests     int       `xml:"tests,attr"`
	Time      string    `xml:"time,attr"`
	Timestamp string    `xml:"timestamp,attr"`
	Hostname  string    `xml:"hostname,attr"`
	Cases     []xmlCase `xml:"testcase"`
}

type xmlCase struct {
	Classname string      `xml:"classname,attr"`
	Name      string      `xml:"name,attr"`
	Time      string      `xml:"time,attr"`
	Failure   *xmlProblem `xml:"failure"`
	Error     *xmlProblem `xml:"error"`
	Skipped   *xmlProblem `xml:"skipped"`
	SystemOut string      `xml:"system-out"`
	SystemErr string      `xml:"system-err"`
}

type xmlProblem struct {
	Type    string `xml:"type,attr"`
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// decodeJUnit writes run as JUnit and decodes it, failing on invalid XML.
func decodeJUnit(t *testing.T, run *result.Run, opts JUnitOptions) (xmlSuite, string) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJUnit(&b, run, opts); err != nil {
		t.Fatal(err)
	}
	var doc xmlSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("report is not valid XML: %v\n%s", err, b.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}
	return doc.Suites[0], b.String()
}

func TestWriteJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, fullRun(), junitOpts()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "junit.xml", b.Bytes())
}

func TestWriteJUnitSuite(t *testing.T) {
	suite, out := decodeJUnit(t, fullRun(), junitOpts())
	if !strings.HasPrefix(out, `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite `) {
		t.Errorf("report does not start like pytest's: %.80s", out)
	}
	// failures = 2 failed + 2 crashed + 1 timeout; errors = 1 error + 1
	// teardown error + 1 collection error; skipped = skipped + xfailed +
	// not run; tests = 12 tests + 1 collection error.
	want := xmlSuite{Name: "pytest", Errors: 3, Failures: 5, Skipped: 3, Tests: 13,
		Time: "75.120", Timestamp: "2026-11-25T19:24:46.978716", Hostname: "ci-host"}
	got := suite
	got.Cases = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("testsuite = %+v\nwant %+v", got, want)
	}
	// One testcase per collection error and test, plus one for the
	// teardown error that followed test_fail's failure, as pytest writes.
	var names []string
	for _, c := range suite.Cases {
		names = append(names, c.Classname+" "+c.Name)
	}
	wantNames := []string{
		" test_bad", "test_a test_pass", "test_a test_fail", "test_a test_fail", "test_a test_err",
		"test_a test_skip", "test_a test_xf", "test_a test_xp", "test_a test_warn", "test_a.TestC test_m",
		"test_native test_segv", "test_native test_exit", "test_slow test_hang", "test_slow test_after",
	}
	if strings.Join(names, "|") != strings.Join(wantNames, "|") {
		t.Errorf("testcases = %q\nwant %q", names, wantNames)
	}
}

func TestWriteJUnitElements(t *testing.T) {
	suite, _ := decodeJUnit(t, fullRun(), junitOpts())
	byName := make(map[string][]xmlCase)
	for _, c := range suite.Cases {
		byName[c.Name] = append(byName[c.Name], c)
	}
	tests := []struct {
		name, kind, typ, message string
		textHas                  []string
	}{
		{"test_bad", "error", "", "collection failure", []string{"No module named 'nonexistent_mod'"}},
		{"test_fail", "failure", "", "assert 1 == 2", []string{">       assert 1 == 2"}},
		{"test_err", "error", "", `failed on setup with "RuntimeError: boom"`, []string{`raise RuntimeError("boom")`}},
		{"test_skip", "skipped", "pytest.skip", "nope", []string{"test_a.py:11: Skipped: nope"}},
		{"test_xf", "skipped", "pytest.xfail", "known", nil},
		{"test_segv", "failure", "", "worker crashed: SIGSEGV", []string{
			"worker gw1 crashed during call: killed by signal SIGSEGV",
			"diagnosis: crashed only beside other tests",
			"    test_a.py::test_skip",
			"-- Captured stderr (worker) --",
			"Fatal Python error: Segmentation fault",
		}},
		{"test_exit", "failure", "", "worker crashed: exit code 3", []string{"worker gw0 crashed during setup: exited with code 3"}},
		{"test_hang", "failure", "", "timeout after 5s", []string{"Timeout: stack of MainThread:", "(kill stage: SIGKILL)", "Thread 0x00007f"}},
		{"test_after", "skipped", "herd.not_run", "interrupted", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := byName[tt.name][0]
			p := map[string]*xmlProblem{"failure": c.Failure, "error": c.Error, "skipped": c.Skipped}[tt.kind]
			if p == nil {
				t.Fatalf("no <%s> in %+v", tt.kind, c)
			}
			if p.Type != tt.typ || p.Message != tt.message {
				t.Errorf("<%s type=%q message=%q>, want type=%q message=%q", tt.kind, p.Type, p.Message, tt.typ, tt.message)
			}
			if len(tt.textHas) == 0 && p.Text != "" {
				t.Errorf("<%s> has text %q, want none", tt.kind, p.Text)
			}
			for _, s := range tt.textHas {
				if !strings.Contains(p.Text, s) {
					t.Errorf("<%s> text lacks %q:\n%s", tt.kind, s, p.Text)
				}
			}
		})
	}
	for _, name := range []string{"test_pass", "test_xp", "test_warn"} {
		c := byName[name][0]
		if c.Failure != nil || c.Error != nil || c.Skipped != nil {
			t.Errorf("%s should pass, got %+v", name, c)
		}
	}
	teardown := byName["test_fail"][1]
	if teardown.Error == nil || teardown.Error.Message != `failed on teardown with "OSError: cleanup"` {
		t.Errorf("teardown error testcase = %+v", teardown)
	}
	fail := byName["test_fail"][0]
	wantOut := "----------------------------- Captured stdout call -----------------------------\nhello out\n\n"
	wantErr := "----------------------------- Captured stderr call -----------------------------\nhello err\n\n"
	if fail.SystemOut != wantOut || fail.SystemErr != wantErr {
		t.Errorf("captured output:\nsystem-out %q\nwant       %q\nsystem-err %q\nwant       %q", fail.SystemOut, wantOut, fail.SystemErr, wantErr)
	}
}

func TestWriteJUnitNames(t *testing.T) {
	// Expected values are what pytest's mangle_test_address returns.
	tests := []struct{ nodeid, classname, name string }{
		{"test_a.py::test_pass", "test_a", "test_pass"},
		{"test_a.py::TestC::test_m", "test_a.TestC", "test_m"},
		{"pkg/sub/test_x.py::TestA::TestB::test_y[1-a/b::c]", "pkg.sub.test_x.TestA.TestB", "test_y[1-a/b::c]"},
		{"test_bad.py", "", "test_bad"},
		{"pkg/test_mod.py", "", "pkg.test_mod"},
		{"test_p.py::test_q[x.py]", "test_p", "test_q[x.py]"},
		{"dir.py/test_z.py::t", "dir.py.test_z", "t"},
	}
	for _, tt := range tests {
		c := newJUnitCase(tt.nodeid, 0)
		if c.classname != tt.classname || c.name != tt.name {
			t.Errorf("%s: classname %q name %q, want %q %q", tt.nodeid, c.classname, c.name, tt.classname, tt.name)
		}
	}
}

func TestWriteJUnitInvalidCharacters(t *testing.T) {
	nasty := "ansi \x1b[31mred\x1b[0m nul\x00 bell\x07 vt\x0b ff\x0c esc\x1f bad utf8 \xff\xfe end" +
		" del\x7f nonchar\ufffe markup <&> \"quoted\" ]]> tab\tcr\r"
	run := &result.Run{
		Tests: []*result.Test{{
			NodeID:   "test_x.py::test_[\x01\xff]",
			Outcome:  result.Failed,
			Message:  nasty + "\nline two",
			Longrepr: nasty,
			Sections: []result.Section{
				{Title: "Captured stdout call", Content: nasty},
				{Title: "Captured stderr call", Content: "\x00"},
			},
		}},
		CollectionErrors: []result.CollectionError{{Path: "bad\x02.py", Message: nasty}},
	}
	opts := junitOpts()
	opts.SuiteName = "suite\x03"
	opts.Hostname = "host\xc3"
	suite, _ := decodeJUnit(t, run, opts)

	// pytest's bin_xml_escape shows what XML cannot hold as #xNN; invalid
	// UTF-8 bytes are shown the same way.
	shown := "ansi #x1B[31mred#x1B[0m nul#x00 bell#x07 vt#x0B ff#x0C esc#x1F bad utf8 #xFF#xFE end" +
		" del\x7f nonchar#xFFFE markup <&> \"quoted\" ]]> tab\tcr"
	if suite.Name != "suite#x03" || suite.Hostname != "host#xC3" {
		t.Errorf("suite name %q hostname %q", suite.Name, suite.Hostname)
	}
	c := suite.Cases[1]
	if c.Name != "test_[#x01#xFF]" {
		t.Errorf("name = %q", c.Name)
	}
	// An attribute keeps its newline, tab and carriage return.
	if want := shown + "\r\nline two"; c.Failure.Message != want {
		t.Errorf("message attribute:\n got %q\nwant %q", c.Failure.Message, want)
	}
	// Character data: the parser turns the trailing \r into \n.
	if want := shown + "\n"; c.Failure.Text != want {
		t.Errorf("failure text:\n got %q\nwant %q", c.Failure.Text, want)
	}
	if !strings.Contains(c.SystemOut, shown) || !strings.Contains(c.SystemErr, "#x00") {
		t.Errorf("captured output not escaped:\n%q\n%q", c.SystemOut, c.SystemErr)
	}
	if ce := suite.Cases[0]; ce.Name != "bad#x02" || !strings.HasPrefix(ce.Error.Text, shown) {
		t.Errorf("collection error testcase = %+v", ce)
	}
}

func TestWriteJUnitCounts(t *testing.T) {
	type counts = map[result.Outcome]int
	tests := []struct {
		name                             string
		counts                           counts
		collErrors                       int
		errors, failures, skipped, total int
	}{
		{"empty", nil, 0, 0, 0, 0, 0},
		{"passes", counts{result.Passed: 3, result.XPassed: 1}, 0, 0, 0, 0, 4},
		{"failures", counts{result.Failed: 1, result.Crashed: 2, result.Timeout: 3}, 0, 0, 6, 0, 6},
		{"skips", counts{result.Skipped: 1, result.XFailed: 2, result.NotRun: 3}, 0, 0, 0, 6, 6},
		{"errors", counts{result.Error: 2, result.Passed: 1}, 1, 3, 0, 0, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := countsRun(tt.counts, 0, 0, tt.collErrors, 0)
			suite, _ := decodeJUnit(t, run, JUnitOptions{})
			if suite.Errors != tt.errors || suite.Failures != tt.failures || suite.Skipped != tt.skipped || suite.Tests != tt.total {
				t.Errorf("errors=%d failures=%d skipped=%d tests=%d, want %d %d %d %d",
					suite.Errors, suite.Failures, suite.Skipped, suite.Tests, tt.errors, tt.failures, tt.skipped, tt.total)
			}
			if len(suite.Cases) != tt.total {
				t.Errorf("%d testcases, want %d", len(suite.Cases), tt.total)
			}
		})
	}
}

func TestWriteJUnitEmptyElementsLikePytest(t *testing.T) {
	run := &result.Run{Tests: []*result.Test{
		{NodeID: "test_a.py::test_pass", Outcome: result.Passed, Duration: ms(1)},
		{NodeID: "test_a.py::test_xf", Outcome: result.XFailed, Message: "reason: known"},
	}}
	var b bytes.Buffer
	if err := WriteJUnit(&b, run, JUnitOptions{Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	// pytest 7.2.1 writes these elements byte for byte the same.
	want := `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="0" skipped="1" tests="2" time="0.000" timestamp="2026-01-02T03:04:05" hostname="">` +
		`<testcase classname="test_a" name="test_pass" time="0.001" />` +
		`<testcase classname="test_a" name="test_xf" time="0.000"><skipped type="pytest.xfail" message="known" /></testcase>` +
		`</testsuite></testsuites>`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
