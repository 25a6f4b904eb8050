//go:build unix

package e2e

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
)

// junitSuite is a suite with every outcome pytest's junitxml writes
// differently: passed, failed, error in setup and in teardown (after a
// pass and after a failure), skipped by a marker and by pytest.skip,
// xfail, xpass (strict and not), parametrized tests in a class, captured
// stdout, stderr and log, properties (record_property), a test in a package directory, a collection
// error and a module skipped at collection.
var junitSuite = map[string]string{
	"test_mix.py": `import logging
import sys
import time
import pytest

log = logging.getLogger("mix")


@pytest.fixture
def bad_setup():
    print("setting up")
    raise RuntimeError("setup broke")


@pytest.fixture
def bad_teardown():
    print("fixture out")
    yield
    print("teardown out")
    raise RuntimeError("teardown broke")


@pytest.fixture
def slow_setup():
    time.sleep(0.4)


def test_pass(record_property):
    record_property("ticket", "HERD-13")
    record_property("size", 3)
    print("pass out")
    sys.stderr.write("pass err\n")
    log.warning("pass log")


def test_pass_quiet():
    pass


def test_slow_setup(slow_setup):
    pass


def test_fail():
    print("fail out")
    sys.stderr.write("fail err\n")
    log.warning("fail log")
    assert 1 == 2


def test_setup_error(bad_setup):
    pass


def test_teardown_error(bad_teardown):
    print("call out")


def test_fail_and_teardown_error(bad_teardown, record_property):
    record_property("where", "<both> & more")
    assert False, "both"


@pytest.mark.skip(reason="not today")
def test_skip_marker():
    pass


def test_skip_call():
    print("before skip")
    pytest.skip("skipped inside")


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    print("xfail out")
    assert False


@pytest.mark.xfail(reason="maybe")
def test_xpass():
    pass


@pytest.mark.xfail(reason="strictly", strict=True)
def test_xpass_strict():
    pass


class TestK:
    @pytest.mark.parametrize("v", [1, 2])
    def test_param(self, v):
        assert v == 1
`,
	"pkg/test_sub.py": `import sys


def test_unicode():
    print("snow \u2603 face \U0001F600 bell \x07")
    sys.stderr.write("err \U0001F600\n")
    assert "\U0001F600" == "x"


def test_ok():
    pass
`,
	"test_broken.py":  "import nonexistent_module_for_herd_junit\n",
	"test_modskip.py": "import pytest\n\npytest.skip(\"whole module\", allow_module_level=True)\n\n\ndef test_never():\n    pass\n",
}

// xmlNode is one element of an XML document: its name, attributes, the
// character data directly inside it, and its children, in order.
type xmlNode struct {
	Name  string
	Attrs map[string]string
	Text  string
	Kids  []*xmlNode
}

func parseXMLTree(t *testing.T, path string) *xmlNode {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := &xmlNode{Name: "#document"}
	stack := []*xmlNode{root}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s does not parse: %v", path, err)
		}
		top := stack[len(stack)-1]
		switch el := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{Name: el.Name.Local, Attrs: map[string]string{}}
			for _, a := range el.Attr {
				n.Attrs[a.Name.Local] = a.Value
			}
			top.Kids = append(top.Kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.Text += string(el)
		}
	}
	return root
}

// addresses are object addresses in reprs ("at 0x7f48ecac4f90"), which
// differ between processes.
var addresses = regexp.MustCompile(`0x[0-9a-f]{6,}`)

// junitTimes collects the time attribute of each testcase, by
// "classname::name" (the last one for a name written twice).
func junitTimes(n *xmlNode, into map[string]float64) {
	if n.Name == "testcase" {
		f, _ := strconv.ParseFloat(n.Attrs["time"], 64)
		into[n.Attrs["classname"]+"::"+n.Attrs["name"]] = f
	}
	for _, k := range n.Kids {
		junitTimes(k, into)
	}
}

// diffJUnit compares herd's JUnit tree with pytest's, element by element,
// and returns the differences; times, the timestamp and the host name are
// left out, and object addresses normalised.
func diffJUnit(herd, pytest *xmlNode, where string) []string {
	var diffs []string
	if herd.Name != pytest.Name {
		return []string{fmt.Sprintf("%s: element <%s>, pytest's <%s>", where, herd.Name, pytest.Name)}
	}
	ignore := map[string]bool{"time": true}
	if herd.Name == "testsuite" {
		ignore = map[string]bool{"time": true, "timestamp": true, "hostname": true}
	}
	keys := map[string]bool{}
	for k := range herd.Attrs {
		keys[k] = true
	}
	for k := range pytest.Attrs {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if ignore[k] {
			if _, ok := herd.Attrs[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s: no %s attribute", where, k))
			}
			continue
		}
		h, hok := herd.Attrs[k]
		p, pok := pytest.Attrs[k]
		if hok != pok || addresses.ReplaceAllString(h, "0x?") != addresses.ReplaceAllString(p, "0x?") {
			diffs = append(diffs, fmt.Sprintf("%s: %s=%q (present %v), pytest's %q (present %v)", where, k, h, hok, p, pok))
		}
	}
	if ht, pt := addresses.ReplaceAllString(herd.Text, "0x?"), addresses.ReplaceAllString(pytest.Text, "0x?"); ht != pt {
		diffs = append(diffs, fmt.Sprintf("%s: text\n%s\npytest's:\n%s", where, ht, pt))
	}
	if len(herd.Kids) != len(pytest.Kids) {
		var hk, pk []string
		for _, k := range herd.Kids {
			hk = append(hk, k.Name+" "+k.Attrs["name"])
		}
		for _, k := range pytest.Kids {
			pk = append(pk, k.Name+" "+k.Attrs["name"])
		}
		return append(diffs, fmt.Sprintf("%s: children %q, pytest's %q", where, hk, pk))
	}
	for i := range herd.Kids {
		label := herd.Kids[i].Name
		if n := herd.Kids[i].Attrs["name"]; n != "" {
			label += "[" + n + "]"
		}
		diffs = append(diffs, diffJUnit(herd.Kids[i], pytest.Kids[i], where+"/"+label)...)
	}
	return diffs
}

// TestJUnitLikePytest runs herd (-n 2) and plain pytest on one suite with
// every outcome, under each JUnit setting (junit_logging's values,
// junit_log_passing_tests, junit_family, junit_suite_name,
// junit_duration_report, --junit-prefix, given with -o, in the ini file or
// in addopts), and compares the two XML files element by element.
func TestJUnitLikePytest(t *testing.T) {
	needHerd(t)
	tests := []struct {
		name string
		ini  string   // pytest.ini's [pytest] lines
		args []string // for both runs
		// inAddopts: --junitxml comes from the ini's addopts, not the
		// command line.
		inAddopts bool
		// callOnly: junit_duration_report=call, so a slow setup is not
		// timed.
		callOnly bool
	}{
		{name: "default"},
		{name: "logging_log", args: []string{"-o", "junit_logging=log"}},
		{name: "logging_system-out", args: []string{"-o", "junit_logging=system-out"}},
		{name: "logging_system-err", args: []string{"-o", "junit_logging=system-err"}},
		{name: "logging_out-err", args: []string{"-o", "junit_logging=out-err"}},
		{name: "logging_all", args: []string{"-o", "junit_logging=all"}},
		{name: "logging_all_not_passing", args: []string{"-o", "junit_logging=all", "-o", "junit_log_passing_tests=false"}},
		{name: "ini_xunit1_prefix_call", ini: "junit_family = xunit1\njunit_suite_name = herd-suite\njunit_duration_report = call\njunit_logging = out-err\n",
			args: []string{"--junit-prefix", "PFX"}, callOnly: true},
		{name: "addopts_legacy", ini: "addopts = --junitxml=reports/deep/junit.xml -o junit_family=legacy -o junit_logging=system-out\n", inAddopts: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "suite")
			writeFiles(t, dir, junitSuite)
			if tt.ini != "" {
				writeFiles(t, dir, map[string]string{"pytest.ini": "[pytest]\n" + tt.ini})
			}
			out := t.TempDir()
			pyXML, herdXML := filepath.Join(out, "pytest.xml"), filepath.Join(out, "herd.xml")
			pyArgs := append([]string{"--continue-on-collection-errors"}, tt.args...)
			herdArgs := append([]string{"--python", python, "-n", "2", "-p", "no:cacheprovider", "--continue-on-collection-errors"}, tt.args...)
			if !tt.inAddopts {
				pyArgs = append(pyArgs, "--junitxml", pyXML)
				herdArgs = append(herdArgs, "--junitxml", herdXML)
			}
			py := pytestRun(t, dir, nil, pyArgs...)
			if tt.inAddopts {
				// pytest made the missing directories; herd must too.
				if err := os.Rename(filepath.Join(dir, "reports/deep/junit.xml"), pyXML); err != nil {
					t.Fatalf("pytest wrote no report where addopts said: %v\n%s", err, tail(py.Stdout))
				}
				if err := os.RemoveAll(filepath.Join(dir, "reports")); err != nil {
					t.Fatal(err)
				}
			}
			h := run(t, dir, baseEnv(), herdBin, herdArgs...)
			if h.Code != py.Code {
				t.Errorf("herd exits %d, pytest %d\n%s", h.Code, py.Code, tail(h.Stderr))
			}
			if tt.inAddopts {
				if err := os.Rename(filepath.Join(dir, "reports/deep/junit.xml"), herdXML); err != nil {
					t.Fatalf("herd wrote no report where addopts said: %v\n%s", err, tail(h.Stdout+h.Stderr))
				}
			}
			// Both say where the file went, in the same line.
			for who, stdout := range map[string]string{"herd": h.Stdout, "pytest": py.Stdout} {
				if !regexp.MustCompile(`(?m)^-+ generated xml file: /\S+\.xml -+$`).MatchString(stdout) {
					t.Errorf("%s's output has no 'generated xml file' line:\n%s", who, tail(stdout))
				}
			}
			herdTree, pyTree := parseXMLTree(t, herdXML), parseXMLTree(t, pyXML)
			diffs := diffJUnit(herdTree, pyTree, "")
			for _, d := range limit(diffs, 15) {
				t.Error(d)
			}
			if len(diffs) > 0 {
				raw, _ := os.ReadFile(herdXML)
				t.Logf("herd's file:\n%s", raw)
			}
			// Every testcase carries a time, and under
			// junit_duration_report=call the slow setup is left out by
			// both; under total both count it.
			ht, pt := map[string]float64{}, map[string]float64{}
			junitTimes(herdTree, ht)
			junitTimes(pyTree, pt)
			key := "test_mix::test_slow_setup"
			if tt.name == "ini_xunit1_prefix_call" {
				key = "PFX.test_mix::test_slow_setup"
			}
			for who, times := range map[string]map[string]float64{"herd": ht, "pytest": pt} {
				slow, ok := times[key]
				switch {
				case !ok:
					t.Errorf("%s's file has no testcase %s", who, key)
				case tt.callOnly && slow >= 0.2:
					t.Errorf("%s times %s %.3fs under junit_duration_report=call; its setup took 0.4s", who, key, slow)
				case !tt.callOnly && slow < 0.4:
					t.Errorf("%s times %s %.3fs; its setup alone took 0.4s", who, key, slow)
				}
			}
		})
	}
}
