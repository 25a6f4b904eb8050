//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	python = os.Getenv("HERD_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = filepath.Dir(wd)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c",
		"import pytest, xdist, pytest_timeout; print(pytest.__version__)").CombinedOutput()
	if err != nil {
		skipReason = fmt.Sprintf("e2e tests need pytest, pytest-xdist and pytest-timeout in $HERD_PYTHON (%s), "+
			"which failed: %v: %s; run scripts/setup.sh or set HERD_PYTHON",
			python, err, lastLine(string(out)))
		fmt.Fprintln(os.Stderr, "e2e: SKIPPING ALL TESTS:", skipReason)
		return m.Run()
	}

	// HERD_E2E_BIN runs the tests against a herd binary already built (an
	// installed release, say) instead of building ./cmd/herd.
	if bin := os.Getenv("HERD_E2E_BIN"); bin != "" {
		herdBin, err = filepath.Abs(bin)
		if err != nil || !fileExists(herdBin) {
			fmt.Fprintf(os.Stderr, "e2e: HERD_E2E_BIN=%s: no such file\n", bin)
			return 1
		}
		fmt.Fprintln(os.Stderr, "e2e: testing", herdBin)
		return m.Run()
	}

	dir, err := os.MkdirTemp("", "herd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	herdBin = filepath.Join(dir, "herd")
	goTool := "go"
	if p, err := exec.LookPath("go"); err == nil {
		goTool = p
	} else if p := "/usr/local/go/bin/go"; fileExists(p) {
		goTool = p
	}
	build := exec.Command(goTool, "build", "-o", herdBin, "./cmd/herd")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		buildErr = err
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/herd failed: %v\n%s\n", err, out)
	}
	return m.Run()
}

// lastLine is the last non-empty line of s (a traceback's error line).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// suiteCase is one run of an example suite under herd and plain pytest.
type suiteCase struct {
	name  string   // subtest name
	suite string   // directory under testdata/suites
	args  []string // for both herd and pytest
	// pytestArgs go to plain pytest only (-n 0 where the ini asks xdist for
	// workers: the reference run is serial).
	pytestArgs []string
	// wantExit and wantTests are what plain pytest gives; they guard the
	// suite itself, so that a broken suite cannot make herd look right.
	wantExit  int
	wantTests int
	// line: check the closing line (pytest's has passed or failed in it).
	line bool
}

var suiteCases = []suiteCase{
	{name: "semantics", suite: "semantics", wantExit: 1, wantTests: 63, line: true},
	{name: "collect_error", suite: "collect_error", wantExit: 2, wantTests: 0},
	{name: "collect_error_continue", suite: "collect_error", args: []string{"--continue-on-collection-errors"},
		wantExit: 1, wantTests: 5, line: true},
	{name: "markers", suite: "markers", wantExit: 1, wantTests: 20, line: true},
	{name: "xdist_addopts", suite: "xdist_addopts", pytestArgs: []string{"-n", "0"}, wantExit: 1, wantTests: 19, line: true},
	{name: "exitcodes", suite: "exitcodes", wantExit: 1, wantTests: 4, line: true},
	{name: "demo", suite: "demo", wantExit: 1, wantTests: 20, line: true},
	// big has its own test, TestBigSuite.
}

// TestSuitesMatchPytest runs every example suite under herd -n 2 and plain
// pytest: each test must end the same, with the same exit code, and herd's
// report must add up.
func TestSuitesMatchPytest(t *testing.T) {
	needHerd(t)
	for _, sc := range suiteCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			dir := copySuite(t, sc.suite)
			py := pytestRun(t, dir, nil, append(append([]string{}, sc.pytestArgs...), sc.args...)...)
			if py.Code != sc.wantExit || len(py.Outcomes) != sc.wantTests {
				t.Fatalf("the suite is broken: plain pytest exits %d with %d tests, want %d with %d\n%s",
					py.Code, len(py.Outcomes), sc.wantExit, sc.wantTests, tail(py.Stdout))
			}
			stdout, stderr, code, rep := runHerd(t, dir, sc.args...)
			if code != py.Code {
				t.Errorf("herd exits %d, plain pytest %d\nstdout:\n%s\nstderr:\n%s", code, py.Code, tail(stdout), tail(stderr))
			}
			collected := -1 // with collection errors, herd may count the tests it did not run
			if sc.wantExit != 2 {
				collected = len(py.Outcomes)
			}
			checkReport(t, rep, collected)
			diffOutcomes(t, rep.outcomes(), py.Outcomes)
			if sc.line {
				checkClosingLine(t, stdout, py.Stdout)
			}
		})
	}
}

// TestSemanticsFixtures checks that herd keeps pytest's fixture scopes:
// module, class and package fixtures are set up about once per worker that
// needs them, and every fixture set up is torn down, in the same process.
func TestSemanticsFixtures(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := copySuite(t, "semantics")

	pyLog := filepath.Join(t.TempDir(), "pytest-fixtures.log")
	py := pytestRun(t, dir, []string{"HERD_FIXTURE_LOG=" + pyLog})
	pyEvents := readFixtureLog(t, pyLog)
	// The suite itself: plain pytest sets every fixture up once.
	for k, n := range pyEvents.setups {
		if k.scope != "function" && n != 1 {
			t.Errorf("suite broken: plain pytest set %v up %d times", k, n)
		}
	}
	if len(pyEvents.setups) < 10 || len(py.Outcomes) == 0 {
		t.Fatalf("suite broken: plain pytest logged only %d fixtures", len(pyEvents.setups))
	}

	herdLog := filepath.Join(t.TempDir(), "herd-fixtures.log")
	stdout, _, code, rep := runHerdEnv(t, dir, []string{"HERD_FIXTURE_LOG=" + herdLog})
	if code != py.Code {
		t.Errorf("herd exits %d, plain pytest %d", code, py.Code)
	}
	diffOutcomes(t, rep.outcomes(), py.Outcomes)
	ev := readFixtureLog(t, herdLog)

	// Every fixture plain pytest set up, herd set up too.
	for k := range pyEvents.setups {
		if ev.setups[k] == 0 {
			t.Errorf("herd never set up %v", k)
		}
	}
	for k := range pyEvents.setupErrors {
		if ev.setupErrors[k] == 0 {
			t.Errorf("herd never ran the failing fixture %v", k)
		}
	}
	// Wider scopes: at most once per worker (2 workers).
	for k, n := range ev.setups {
		if k.scope != "function" && n > 2 {
			t.Errorf("%s fixture %s (%s) set up %d times under herd -n 2, want at most 2", k.scope, k.name, k.key, n)
		}
	}
	for k, n := range ev.setupErrors {
		if k.scope != "function" && n > 2 {
			t.Errorf("failing %s fixture %s (%s) ran %d times under herd -n 2, want at most 2", k.scope, k.name, k.key, n)
		}
	}
	// Every setup has its teardown, in the same process.
	for pk, n := range ev.perPid {
		if n.setups != n.teardowns {
			t.Errorf("pid %s: %s fixture %s (%s) set up %d times, torn down %d times",
				pk.pid, pk.scope, pk.name, pk.key, n.setups, n.teardowns)
		}
	}
	if len(ev.pids) > 2 {
		t.Errorf("fixtures ran in %d processes under herd -n 2, want at most 2: %v", len(ev.pids), ev.pids)
	}
	if t.Failed() {
		t.Logf("herd stdout:\n%s", tail(stdout))
	}
}

type fixtureKey struct{ scope, name, key string }

type pidKey struct {
	pid string
	fixtureKey
}

type fixtureEvents struct {
	setups      map[fixtureKey]int
	setupErrors map[fixtureKey]int
	perPid      map[pidKey]*struct{ setups, teardowns int }
	pids        []string
}

// readFixtureLog parses the semantics suite's fixture log (see
// testdata/suites/semantics/fixlog.py): "<pid> <event> <scope> <name> <key>".
func readFixtureLog(t *testing.T, path string) fixtureEvents {
	t.Helper()
	ev := fixtureEvents{
		setups:      map[fixtureKey]int{},
		setupErrors: map[fixtureKey]int{},
		perPid:      map[pidKey]*struct{ setups, teardowns int }{},
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture log: %v (did the run pass HERD_FIXTURE_LOG to the tests?)", err)
	}
	pids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 {
			t.Fatalf("fixture log: bad line %q", sc.Text())
		}
		k := fixtureKey{f[2], f[3], f[4]}
		pk := pidKey{f[0], k}
		pids[f[0]] = true
		if ev.perPid[pk] == nil {
			ev.perPid[pk] = &struct{ setups, teardowns int }{}
		}
		switch f[1] {
		case "setup":
			ev.setups[k]++
			ev.perPid[pk].setups++
		case "teardown":
			ev.perPid[pk].teardowns++
		case "setup_error":
			ev.setupErrors[k]++
		default:
			t.Fatalf("fixture log: bad event in %q", sc.Text())
		}
	}
	for p := range pids {
		ev.pids = append(ev.pids, p)
	}
	sort.Strings(ev.pids)
	return ev
}

// TestCustomOption passes the semantics suite's own conftest option through
// herd: the test that wants the default greeting must fail in both.
func TestCustomOption(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := copySuite(t, "semantics")
	args := []string{"test_options.py", "--greeting=bonjour"}
	py := pytestRun(t, dir, nil, args...)
	const id = "test_options.py::test_greeting_is_default"
	if py.Outcomes[id] != "failed" || len(py.Outcomes) != 2 {
		t.Fatalf("suite broken: plain pytest gives %v", py.Outcomes)
	}
	stdout, stderr, code, rep := runHerd(t, dir, args...)
	if code != py.Code {
		t.Errorf("herd exits %d, plain pytest %d\nstdout:\n%s\nstderr:\n%s", code, py.Code, tail(stdout), tail(stderr))
	}
	checkReport(t, rep, 2)
	diffOutcomes(t, rep.outcomes(), py.Outcomes)
}

// TestCollectionErrors: modules that fail to import stop the run (exit 2)
// unless --continue-on-collection-errors is given; herd's report names them.
func TestCollectionErrors(t *testing.T) {
	needHerd(t)
	wantPaths := map[string]string{
		"test_syntax_error.py": "SyntaxError",
		"test_import_error.py": "herd_no_such_module_for_tests",
	}
	checkErrors := func(t *testing.T, stdout string, rep jsonReport) {
		t.Helper()
		for file, inMessage := range wantPaths {
			found := false
			for _, ce := range rep.CollectionErrors {
				if strings.HasSuffix(ce.Path, file) {
					found = true
					if !strings.Contains(ce.Message, inMessage) {
						t.Errorf("collection error of %s: message does not mention %q:\n%s", file, inMessage, tail(ce.Message))
					}
				}
			}
			if !found {
				t.Errorf("report's collection_errors has no %s: %+v", file, rep.CollectionErrors)
			}
			if !strings.Contains(stdout, file) {
				t.Errorf("herd's output does not name %s:\n%s", file, tail(stdout))
			}
		}
		if len(rep.CollectionErrors) != len(wantPaths) {
			t.Errorf("report has %d collection errors, want %d: %+v", len(rep.CollectionErrors), len(wantPaths), rep.CollectionErrors)
		}
	}

	t.Run("interrupted", func(t *testing.T) {
		t.Parallel()
		dir := copySuite(t, "collect_error")
		_, pyCode := runPytest(t, dir)
		stdout, stderr, code, rep := runHerd(t, dir)
		if code != 2 || pyCode != 2 {
			t.Errorf("exit codes: herd %d, plain pytest %d, want 2\nstderr:\n%s", code, pyCode, tail(stderr))
		}
		checkReport(t, rep, -1)
		checkErrors(t, stdout, rep)
		for _, tc := range rep.Tests {
			if tc.Outcome != "not_run" {
				t.Errorf("%s ran (%s) although collection failed", tc.NodeID, tc.Outcome)
			}
		}
	})
	t.Run("continue", func(t *testing.T) {
		t.Parallel()
		dir := copySuite(t, "collect_error")
		args := []string{"--continue-on-collection-errors"}
		py, pyCode := runPytest(t, dir, args...)
		stdout, _, code, rep := runHerd(t, dir, args...)
		if code != pyCode {
			t.Errorf("herd exits %d, plain pytest %d", code, pyCode)
		}
		checkReport(t, rep, len(py))
		checkErrors(t, stdout, rep)
		diffOutcomes(t, rep.outcomes(), py)
		if n := rep.Summary["passed"]; n != 5 {
			t.Errorf("%d good tests passed, want 5", n)
		}
	})
}

// TestSelection: -k and -m select the same tests as in pytest.
func TestSelection(t *testing.T) {
	needHerd(t)
	cases := [][]string{
		{"-k", "login"},
		{"-k", "login and not admin"},
		{"-k", "TestRemoteApi"},
		{"-k", "postgres or sqlite"},
		{"-k", "failing"},
		{"-m", "slow"},
		{"-m", "network and not slow"},
		{"-m", "db or fast"},
		{"-m", "not network", "-k", "cache"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			dir := copySuite(t, "markers")
			py := pytestRun(t, dir, nil, args...)
			if len(py.Outcomes) == 0 || len(py.Outcomes) >= 20 {
				t.Fatalf("selection broken: plain pytest selects %d of 20 tests", len(py.Outcomes))
			}
			stdout, _, code, rep := runHerd(t, dir, args...)
			if code != py.Code {
				t.Errorf("herd exits %d, plain pytest %d", code, py.Code)
			}
			checkReport(t, rep, -1)
			if rep.Collected < len(py.Outcomes) {
				t.Errorf("report says %d collected, fewer than the %d selected", rep.Collected, len(py.Outcomes))
			}
			diffOutcomes(t, rep.outcomes(), py.Outcomes)
			checkClosingLine(t, stdout, py.Stdout)
		})
	}
}

// TestExitCodes: herd exits as pytest does, for each of pytest's codes.
func TestExitCodes(t *testing.T) {
	needHerd(t)
	cases := []struct {
		args    []string
		want    int
		mention string // herd's output must name this
	}{
		{[]string{"test_pass.py"}, 0, ""},
		{nil, 1, "test_fail_one"},
		{[]string{"test_fail.py"}, 1, "test_fail_one"},
		{[]string{"broken_syntax.py", "test_pass.py"}, 2, "broken_syntax.py"},
		{[]string{"--no-such-option"}, 4, "--no-such-option"},
		{[]string{"missing_file.py"}, 4, "missing_file.py"},
		{[]string{"-k", "no_test_matches_this"}, 5, ""},
		{[]string{"empty"}, 5, ""},
	}
	for _, c := range cases {
		name := strings.Join(c.args, " ")
		if name == "" {
			name = "all"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := copySuite(t, "exitcodes")
			_, pyCode := runPytest(t, dir, c.args...)
			if pyCode != c.want {
				t.Fatalf("suite broken: plain pytest exits %d, want %d", pyCode, c.want)
			}
			stdout, stderr, code, _ := runHerd(t, dir, c.args...)
			if code != c.want {
				t.Errorf("herd exits %d, want %d as plain pytest\nstdout:\n%s\nstderr:\n%s", code, c.want, tail(stdout), tail(stderr))
			}
			if c.mention != "" && !strings.Contains(stdout+stderr, c.mention) {
				t.Errorf("herd's output does not mention %q\nstdout:\n%s\nstderr:\n%s", c.mention, tail(stdout), tail(stderr))
			}
		})
	}
}

// junitFile is what a JUnit XML file holds.
type junitFile struct {
	cases  map[string]string // "classname::name" -> passed, or its failure/error/skipped children
	count  int               // <testcase> elements
	totals map[string]int    // summed testsuite attributes
}

func parseJUnit(t *testing.T, path string) junitFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("junit xml: %v", err)
	}
	jf := junitFile{cases: map[string]string{}, totals: map[string]int{}}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var key string
	var kinds []string
	inCase := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("junit xml %s does not parse: %v", path, err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "testsuite":
				for _, a := range el.Attr {
					var n int
					if _, err := fmt.Sscan(a.Value, &n); err == nil {
						jf.totals[a.Name.Local] += n
					}
				}
			case "testcase":
				var class, name string
				for _, a := range el.Attr {
					switch a.Name.Local {
					case "classname":
						class = a.Value
					case "name":
						name = a.Value
					}
				}
				key, kinds, inCase = class+"::"+name, nil, true
			case "failure", "error", "skipped":
				if inCase {
					kinds = append(kinds, el.Name.Local)
				}
			}
		case xml.EndElement:
			if el.Name.Local == "testcase" {
				jf.count++
				k := "passed"
				if len(kinds) > 0 {
					sort.Strings(kinds)
					k = strings.Join(kinds, "+")
				}
				if prev, dup := jf.cases[key]; dup {
					k = prev + "," + k
				}
				jf.cases[key] = k
				inCase = false
			}
		}
	}
	return jf
}

// TestJUnitXML: --junitxml writes a file that parses, with one testcase per
// collected test, each as plain pytest's junitxml has it.
func TestJUnitXML(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := copySuite(t, "demo")
	tmp := t.TempDir()
	pyXML, herdXML := filepath.Join(tmp, "pytest.xml"), filepath.Join(tmp, "herd.xml")
	_, pyCode := runPytest(t, dir, "--junitxml", pyXML)
	_, _, code, rep := runHerd(t, dir, "--junitxml", herdXML)
	if code != pyCode {
		t.Errorf("herd exits %d, plain pytest %d", code, pyCode)
	}
	checkReport(t, rep, -1)
	want, got := parseJUnit(t, pyXML), parseJUnit(t, herdXML)
	if got.count != rep.Collected || got.count != want.count {
		t.Errorf("herd's junit xml has %d testcases; report collected %d, plain pytest's xml %d", got.count, rep.Collected, want.count)
	}
	for k, w := range want.cases {
		if g, ok := got.cases[k]; !ok {
			t.Errorf("junit: testcase %s missing", k)
		} else if g != w {
			t.Errorf("junit: testcase %s is %s, plain pytest's is %s", k, g, w)
		}
	}
	for k := range got.cases {
		if _, ok := want.cases[k]; !ok {
			t.Errorf("junit: unexpected testcase %s", k)
		}
	}
	for _, attr := range []string{"tests", "failures", "errors", "skipped"} {
		if got.totals[attr] != want.totals[attr] {
			t.Errorf("junit testsuite %s=%d, plain pytest's %d", attr, got.totals[attr], want.totals[attr])
		}
	}
}

// TestClosingLine: the last line of herd's output reads like pytest's, at
// each verbosity.
func TestClosingLine(t *testing.T) {
	needHerd(t)
	for _, v := range []string{"", "-v", "-q"} {
		name := v
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := copySuite(t, "markers")
			var args []string
			if v != "" {
				args = append(args, v)
			}
			py := pytestRun(t, dir, nil, args...)
			stdout, _, _, _ := runHerd(t, dir, args...)
			got := closingLine(stdout)
			if v == "-q" {
				// pytest -q drops the "=" around the closing line; counts and
				// duration stay.
				if !strings.Contains(got, " in ") || !equalCounts(lineCounts(got), lineCounts(closingLine(py.Stdout))) {
					t.Errorf("herd -q closing line %q, plain pytest's %q", got, closingLine(py.Stdout))
				}
				return
			}
			checkClosingLine(t, stdout, py.Stdout)
		})
	}
}

var (
	bigOnce   sync.Once
	bigPytest map[string]string
	bigCode   int
)

// bigReference is plain pytest's outcome for every test of the big suite
// (run once, shared by the tests that need it).
func bigReference(t *testing.T) (map[string]string, int) {
	t.Helper()
	bigOnce.Do(func() {
		dir := copySuite(t, "big")
		bigPytest, bigCode = runPytest(t, dir)
	})
	if len(bigPytest) < 2000 {
		t.Fatalf("suite broken: plain pytest ran %d tests of the big suite, want 2000+", len(bigPytest))
	}
	return bigPytest, bigCode
}

// TestBigSuite: 2,000+ tests, each reported once, outcomes as in pytest,
// spread over both workers.
func TestBigSuite(t *testing.T) {
	needHerd(t)
	t.Parallel()
	py, pyCode := bigReference(t)
	dir := copySuite(t, "big")
	stdout, stderr, code, rep := runHerd(t, dir)
	if code != pyCode {
		t.Errorf("herd exits %d, plain pytest %d\nstderr:\n%s", code, pyCode, tail(stderr))
	}
	checkReport(t, rep, len(py))
	diffOutcomes(t, rep.outcomes(), py)
	workers := map[string]int{}
	for _, tc := range rep.Tests {
		workers[tc.Worker]++
	}
	if len(workers) != 2 || workers[""] > 0 {
		t.Errorf("tests ran on workers %v, want 2 named workers", workers)
	}
	if !closingLineRE.MatchString(closingLine(stdout)) {
		t.Errorf("closing line %q does not match %s", closingLine(stdout), closingLineRE)
	}
}

// TestBigSuiteGenerated: the committed big suite is what gen.py generates.
func TestBigSuiteGenerated(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	t.Parallel()
	out := t.TempDir()
	res := run(t, out, baseEnv(), python, filepath.Join(suiteSrc("big"), "gen.py"), out)
	if res.Code != 0 {
		t.Fatalf("gen.py exits %d: %s", res.Code, res.Stderr)
	}
	generated, _ := filepath.Glob(filepath.Join(out, "test_big_*.py"))
	committed, _ := filepath.Glob(filepath.Join(suiteSrc("big"), "test_big_*.py"))
	if len(generated) < 40 || len(generated) != len(committed) {
		t.Fatalf("gen.py makes %d modules, %d are committed", len(generated), len(committed))
	}
	for _, g := range generated {
		want, _ := os.ReadFile(g)
		have, err := os.ReadFile(filepath.Join(suiteSrc("big"), filepath.Base(g)))
		if err != nil || !bytes.Equal(want, have) {
			t.Errorf("%s is not what gen.py generates; run: python3 testdata/suites/big/gen.py", filepath.Base(g))
		}
	}
}

// TestMaxfail: -x and --maxfail stop the run after the first failures: exit
// 1, the tests not reached are not_run, and the report still accounts for
// every collected test.
func TestMaxfail(t *testing.T) {
	needHerd(t)
	for _, c := range []struct {
		args       []string
		wantFailed int
	}{
		{[]string{"-x"}, 1},
		{[]string{"--maxfail", "2"}, 2},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			py, _ := bigReference(t)
			dir := copySuite(t, "big")
			stdout, stderr, code, rep := runHerd(t, dir, c.args...)
			if code != 1 {
				t.Errorf("herd %s exits %d, want 1\nstderr:\n%s", strings.Join(c.args, " "), code, tail(stderr))
			}
			checkReport(t, rep, len(py))
			if n := rep.Summary["failed"]; n < c.wantFailed {
				t.Errorf("%d tests failed, want at least %d", n, c.wantFailed)
			}
			if rep.Summary["not_run"] == 0 {
				t.Errorf("no test is not_run: the run did not stop early (summary %v)", rep.Summary)
			}
			// Every test is accounted for; those that ran end as in pytest.
			var diffs []string
			for _, tc := range rep.Tests {
				want, ok := py[tc.NodeID]
				switch {
				case !ok:
					diffs = append(diffs, "unknown test "+tc.NodeID)
				case tc.Outcome != "not_run" && tc.Outcome != want:
					diffs = append(diffs, fmt.Sprintf("%s: herd %s, pytest %s", tc.NodeID, tc.Outcome, want))
				}
			}
			if len(diffs) > 0 {
				t.Errorf("%d differences:\n  %s", len(diffs), strings.Join(limit(diffs, 20), "\n  "))
			}
			if !closingLineRE.MatchString(closingLine(stdout)) {
				t.Errorf("closing line %q does not match %s", closingLine(stdout), closingLineRE)
			}
		})
	}
}

// summaryLines are the "FAILED x - msg" / "ERROR x" lines of pytest's short
// test summary, cut before the message.
func summaryLines(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "FAILED ") || strings.HasPrefix(l, "ERROR ") {
			l, _, _ = strings.Cut(l, " - ")
			out = append(out, strings.TrimSpace(l))
		}
	}
	sort.Strings(out)
	return out
}

// TestRunFromParentDir runs a suite named by its path from the directory
// above it, as `herd -n 2 path/to/suite`: the rootdir is still the suite's,
// and the short summary names tests relative to the current directory, as
// pytest does, so a user can paste them back on the command line.
func TestRunFromParentDir(t *testing.T) {
	needHerd(t)
	t.Parallel()
	dir := filepath.Dir(copySuite(t, "exitcodes"))
	py := pytestRun(t, dir, nil, "exitcodes", "-rfE")
	stdout, _, code, rep := runHerd(t, dir, "exitcodes", "-rfE")
	if code != py.Code {
		t.Errorf("herd exits %d, plain pytest %d", code, py.Code)
	}
	checkReport(t, rep, len(py.Outcomes))
	diffOutcomes(t, rep.outcomes(), py.Outcomes)
	want, got := summaryLines(py.Stdout), summaryLines(stdout)
	if len(want) == 0 {
		t.Fatalf("plain pytest printed no short summary:\n%s", tail(py.Stdout))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("short test summary differs:\n  herd:   %q\n  pytest: %q", got, want)
	}
}
