//go:build unix

package e2e

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The end-to-end proof that suites and plugins written for pytest-xdist run
// unchanged under herd: testdata/suites/xdist_compat runs under herd -n 2,
// pytest -n 2 (xdist) and serial pytest, and must end the same, with what
// xdist gives its workers (worker_id and testrun_uid fixtures, PYTEST_XDIST_*
// variables, config.workerinput filled by pytest_configure_node) and the same
// coverage from pytest-cov, line for line.

const (
	compatSuite = "xdist_compat"
	// compatTests is the number of tests in the suite's tests/ (its
	// testpaths): a guard that the suite itself is whole.
	compatTests = 61
	compatFlaky = "tests/test_flaky.py::test_fails_first_try"
	compatCrash = "crash/test_crash_once.py::test_crash_once"
	compatSegv  = "segv/test_segv.py::test_segfault"
)

// compatPlugins are the modules the suite needs besides pytest and xdist:
// Debian's python3-pytest-cov, -asyncio, -mock and -rerunfailures
// (scripts/setup.sh installs them).
var compatPlugins = []string{"pytest_cov", "pytest_asyncio", "pytest_mock", "pytest_rerunfailures"}

var (
	compatOnce    sync.Once
	compatMissing string
)

// needCompatPlugins skips the test when $HERD_PYTHON lacks a plugin the
// suite is about.
func needCompatPlugins(t *testing.T) {
	t.Helper()
	needHerd(t)
	compatOnce.Do(func() {
		var missing []string
		for _, m := range compatPlugins {
			if err := exec.Command(python, "-c", "import "+m).Run(); err != nil {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			compatMissing = fmt.Sprintf("the xdist_compat suite needs %s in $HERD_PYTHON (%s): "+
				"run scripts/setup.sh (Debian: python3-pytest-cov, python3-pytest-asyncio, "+
				"python3-pytest-mock, python3-pytest-rerunfailures)", strings.Join(missing, ", "), python)
		}
	})
	if compatMissing != "" {
		t.Skip(compatMissing)
	}
}

// compatRecord is one line of COMPAT_LOG: what a test found when it started.
type compatRecord struct {
	NodeID     string  `json:"nodeid"`
	WorkerID   string  `json:"worker_id"`
	EnvWorker  *string `json:"env_worker"`
	EnvCount   *string `json:"env_count"`
	EnvUID     *string `json:"env_uid"`
	TestrunUID string  `json:"testrun_uid"`
	DB         string  `json:"db"`
	RowsAtOpen int     `json:"rows_at_open"`
	PID        int     `json:"pid"`
}

// compatRun is one run of the suite.
type compatRun struct {
	name     string
	stdout   string
	stderr   string
	code     int
	outcomes map[string]string
	report   jsonReport // herd only
	log      []compatRecord
	dbDir    string
	out      string // a directory for report files
	workers  int
}

// runCompat runs a fresh copy of the suite: kind is "herd" (herd -n 2),
// "xdist" (pytest -n 2) or "serial" (pytest). {out} in args is a directory
// for report files.
func runCompat(t *testing.T, kind string, args ...string) compatRun {
	t.Helper()
	return runCompatN(t, kind, 2, args...)
}

// runCompatN is runCompat with n workers.
func runCompatN(t *testing.T, kind string, n int, args ...string) compatRun {
	t.Helper()
	dir := copySuite(t, compatSuite)
	tmp := t.TempDir()
	r := compatRun{name: kind, dbDir: filepath.Join(tmp, "db"), out: filepath.Join(tmp, "out"), workers: n}
	state := filepath.Join(tmp, "state")
	for _, d := range []string{r.dbDir, r.out, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(tmp, "compat.log")
	mode := "worker"
	if kind == "serial" {
		mode = "serial"
	}
	env := []string{
		"COMPAT_LOG=" + logPath,
		"COMPAT_DB_DIR=" + r.dbDir,
		"COMPAT_STATE_DIR=" + state,
		"COMPAT_MODE=" + mode,
		fmt.Sprintf("COMPAT_WORKERS=%d", n),
	}
	args = expandOut(args, r.out)
	switch kind {
	case "herd":
		// runHerdEnv says -n 2; a later -n wins.
		if n != 2 {
			args = append([]string{"-n", fmt.Sprint(n)}, args...)
		}
		r.stdout, r.stderr, r.code, r.report = runHerdEnv(t, dir, env, args...)
		r.outcomes = r.report.outcomes()
	case "xdist":
		p := pytestRun(t, dir, env, append([]string{"-n", fmt.Sprint(n)}, args...)...)
		r.stdout, r.stderr, r.code, r.outcomes = p.Stdout, p.Stderr, p.Code, p.Outcomes
	case "serial":
		p := pytestRun(t, dir, env, args...)
		r.stdout, r.stderr, r.code, r.outcomes = p.Stdout, p.Stderr, p.Code, p.Outcomes
	default:
		t.Fatalf("runCompat: unknown kind %q", kind)
	}
	r.log = readCompatLog(t, logPath)
	return r
}

// expandOut replaces {out} in args with dir.
func expandOut(args []string, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "{out}", dir)
	}
	return out
}

func readCompatLog(t *testing.T, path string) []compatRecord {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []compatRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec compatRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("COMPAT_LOG line %q: %v", sc.Text(), err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// without returns m less the given keys.
func without(m map[string]string, keys ...string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

var workerIDRE = regexp.MustCompile(`^gw[0-9]+$`)

// checkWorkerLog checks what a run under workers (herd's or xdist's) logged:
// in every test PYTEST_XDIST_WORKER equals the worker_id fixture,
// PYTEST_XDIST_WORKER_COUNT is the run's -n, PYTEST_XDIST_TESTRUNUID equals the testrun_uid fixture
// and is the same in every test; each worker id used exactly one database
// file, named after it, and no two worker ids shared one. It returns the
// worker ids seen.
func checkWorkerLog(t *testing.T, r compatRun) []string {
	t.Helper()
	if len(r.log) == 0 {
		t.Errorf("%s: no test logged anything", r.name)
		return nil
	}
	uids := map[string]bool{}
	dbsOf := map[string]map[string]bool{} // worker id -> db files
	workersOf := map[string]map[string]bool{}
	var bad []string
	for _, rec := range r.log {
		if !workerIDRE.MatchString(rec.WorkerID) {
			bad = append(bad, fmt.Sprintf("%s: worker_id %q, want gwN", rec.NodeID, rec.WorkerID))
		}
		if rec.EnvWorker == nil || *rec.EnvWorker != rec.WorkerID {
			bad = append(bad, fmt.Sprintf("%s: PYTEST_XDIST_WORKER %s, worker_id %q", rec.NodeID, strPtr(rec.EnvWorker), rec.WorkerID))
		}
		if want := fmt.Sprint(r.workers); rec.EnvCount == nil || *rec.EnvCount != want {
			bad = append(bad, fmt.Sprintf("%s: PYTEST_XDIST_WORKER_COUNT %s, want %q", rec.NodeID, strPtr(rec.EnvCount), want))
		}
		if rec.TestrunUID == "" || rec.EnvUID == nil || *rec.EnvUID != rec.TestrunUID {
			bad = append(bad, fmt.Sprintf("%s: PYTEST_XDIST_TESTRUNUID %s, testrun_uid %q", rec.NodeID, strPtr(rec.EnvUID), rec.TestrunUID))
		}
		if want := filepath.Join(r.dbDir, rec.WorkerID+".sqlite"); rec.DB != want {
			bad = append(bad, fmt.Sprintf("%s: database %s, want %s", rec.NodeID, rec.DB, want))
		}
		uids[rec.TestrunUID] = true
		if dbsOf[rec.WorkerID] == nil {
			dbsOf[rec.WorkerID] = map[string]bool{}
		}
		dbsOf[rec.WorkerID][rec.DB] = true
		if workersOf[rec.DB] == nil {
			workersOf[rec.DB] = map[string]bool{}
		}
		workersOf[rec.DB][rec.WorkerID] = true
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("%s: tests found wrong worker facts:\n  %s", r.name, strings.Join(limit(bad, 20), "\n  "))
	}
	if len(uids) != 1 {
		t.Errorf("%s: testrun_uid differs between tests: %v (want one for the whole run)", r.name, keys(uids))
	}
	for w, dbs := range dbsOf {
		if len(dbs) != 1 {
			t.Errorf("%s: worker %s used %d database files, want 1: %v", r.name, w, len(dbs), keys(dbs))
		}
	}
	for db, ws := range workersOf {
		if len(ws) != 1 {
			t.Errorf("%s: workers %v shared the database %s", r.name, keys(ws), db)
		}
	}
	// On disk: one file per worker id, nothing else.
	var files []string
	entries, err := os.ReadDir(r.dbDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		files = append(files, e.Name())
	}
	var want []string
	for w := range dbsOf {
		want = append(want, w+".sqlite")
	}
	sort.Strings(want)
	if strings.Join(files, ",") != strings.Join(want, ",") {
		t.Errorf("%s: database files %v, want %v (one per worker)", r.name, files, want)
	}
	return keys(dbsOf)
}

func strPtr(s *string) string {
	if s == nil {
		return "unset"
	}
	return fmt.Sprintf("%q", *s)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pidsByWorker maps worker id to the pids that logged under it, in log
// order.
func pidsByWorker(log []compatRecord) map[string][]int {
	out := map[string][]int{}
	for _, rec := range log {
		pids := out[rec.WorkerID]
		if len(pids) == 0 || pids[len(pids)-1] != rec.PID {
			seen := false
			for _, p := range pids {
				seen = seen || p == rec.PID
			}
			if !seen {
				out[rec.WorkerID] = append(pids, rec.PID)
			}
		}
	}
	return out
}

// TestCompatXdistSuite runs the suite under herd -n 2, pytest -n 2 and serial
// pytest, all three with --cov=compatpkg:
//
//   - outcomes: every test ends the same (the flaky test aside:
//     pytest-rerunfailures reruns it to a pass, herd takes its marker over and
//     calls it flaky);
//   - workers: herd's workers, as xdist's, give each test its worker's id,
//     database, PYTEST_XDIST_* environment and workerinput;
//   - coverage: herd reports what pytest-cov reports under serial pytest and
//     under xdist, the same terminal table (term-missing) and the same
//     coverage.xml, line for line.
func TestCompatXdistSuite(t *testing.T) {
	needCompatPlugins(t)
	t.Parallel()
	covArgs := func(name string) []string {
		return []string{"--cov=compatpkg", "--cov-report=term-missing", "--cov-report=xml:{out}/" + name + ".xml"}
	}
	serial := runCompat(t, "serial", covArgs("serial")...)
	xdist := runCompat(t, "xdist", covArgs("xdist")...)
	herd := runCompat(t, "herd", covArgs("herd")...)

	// The suite itself: every test passes under plain pytest, serial and
	// xdist, the flaky one after one rerun.
	for _, r := range []compatRun{serial, xdist} {
		if r.code != 0 || len(r.outcomes) != compatTests {
			t.Fatalf("the suite is broken: %s pytest exits %d with %d tests, want 0 with %d\n%s\n%s",
				r.name, r.code, len(r.outcomes), compatTests, tail(r.stdout), tail(r.stderr))
		}
		for id, o := range without(r.outcomes, compatFlaky) {
			if o != "passed" {
				t.Errorf("the suite is broken: %s pytest: %s %s, want passed", r.name, id, o)
			}
		}
	}

	t.Run("outcomes", func(t *testing.T) {
		for _, r := range []compatRun{serial, xdist} {
			// outcomes.py keeps the first try's category ("rerun");
			// pytest's closing line says it then passed.
			if o := r.outcomes[compatFlaky]; o != "rerun" && o != "passed" {
				t.Errorf("%s pytest: %s %s, want rerun then passed", r.name, compatFlaky, o)
			}
			if line, want := closingLine(r.stdout), fmt.Sprintf("%d passed, 1 rerun", compatTests); !strings.Contains(line, want) {
				t.Errorf("%s pytest's closing line %q, want %q (pytest-rerunfailures reruns the flaky test)", r.name, line, want)
			}
		}
		if herd.code != 0 {
			t.Errorf("herd exits %d, want 0\nstdout:\n%s\nstderr:\n%s", herd.code, tail(herd.stdout), tail(herd.stderr))
		}
		checkCompatReport(t, herd.report, compatTests)
		diffOutcomes(t, without(herd.outcomes, compatFlaky), without(xdist.outcomes, compatFlaky))
		diffOutcomes(t, without(herd.outcomes, compatFlaky), without(serial.outcomes, compatFlaky))
		if o := herd.outcomes[compatFlaky]; o != "flaky" {
			t.Errorf("herd: %s %s, want flaky (herd reruns @pytest.mark.flaky(reruns=2) itself)", compatFlaky, o)
		}
		const note = "rerunfailures: reruns are done by herd"
		if !strings.Contains(herd.stdout, note) {
			t.Errorf("herd's header lacks %q:\n%s", note, tail(herd.stdout))
		}
	})

	t.Run("workers", func(t *testing.T) {
		// Each test saw its worker's id, environment and database.
		for _, r := range []compatRun{xdist, herd} {
			workers := checkWorkerLog(t, r)
			if len(workers) != 2 {
				t.Errorf("%s: tests ran on workers %v, want gw0 and gw1", r.name, workers)
			}
			for w, pids := range pidsByWorker(r.log) {
				if len(pids) != 1 {
					t.Errorf("%s: worker %s ran in %d processes %v, want 1 (nothing crashed)", r.name, w, len(pids), pids)
				}
			}
			nodeids := map[string]bool{}
			for _, rec := range r.log {
				nodeids[rec.NodeID] = true
			}
			if len(nodeids) != compatTests {
				t.Errorf("%s: %d tests logged, want %d", r.name, len(nodeids), compatTests)
			}
		}
		// herd's report names the worker each test logged from (the flaky
		// test logged twice, from its two tries).
		reported := map[string]string{}
		for _, tc := range herd.report.Tests {
			reported[tc.NodeID] = tc.Worker
			if !workerIDRE.MatchString(tc.Worker) {
				t.Errorf("herd's report: %s ran on worker %q", tc.NodeID, tc.Worker)
			}
		}
		var wrong []string
		for _, rec := range herd.log {
			if rec.NodeID != compatFlaky && reported[rec.NodeID] != rec.WorkerID {
				wrong = append(wrong, fmt.Sprintf("%s: report %q, worker_id %q", rec.NodeID, reported[rec.NodeID], rec.WorkerID))
			}
		}
		if len(wrong) > 0 {
			t.Errorf("herd's report names other workers than the tests found in worker_id:\n  %s",
				strings.Join(limit(wrong, 10), "\n  "))
		}
		// Serial: no worker; xdist's fixtures say "master".
		for _, rec := range serial.log {
			if rec.WorkerID != "master" || rec.EnvWorker != nil || rec.DB != filepath.Join(serial.dbDir, "master.sqlite") {
				t.Errorf("serial pytest: %s: worker_id %q, PYTEST_XDIST_WORKER %s, database %s; want master, unset, master.sqlite",
					rec.NodeID, rec.WorkerID, strPtr(rec.EnvWorker), rec.DB)
				break
			}
		}
	})

	t.Run("coverage", func(t *testing.T) {
		want := coverageTable(t, "serial pytest", serial.stdout)
		// Guard: the suite covers part of compatpkg, not nothing, not all.
		for _, s := range []string{"compatpkg/shapes.py", "compatpkg/text.py", "compatpkg/unused.py"} {
			if !strings.Contains(want, s) {
				t.Errorf("the suite is broken: serial pytest's coverage table lacks %s:\n%s", s, want)
			}
		}
		if m := regexp.MustCompile(`(?m)^TOTAL .* (\d+)%$`).FindStringSubmatch(want); m == nil || m[1] == "0" || m[1] == "100" {
			t.Errorf("the suite is broken: want partial coverage in total:\n%s", want)
		}
		for _, r := range []compatRun{xdist, herd} {
			if got := coverageTable(t, r.name, r.stdout); got != want {
				t.Errorf("%s's coverage table differs from serial pytest's:\n%s:\n%s\nserial:\n%s", r.name, r.name, got, want)
			}
		}
		wantHits := coverageXMLHits(t, filepath.Join(serial.out, "serial.xml"))
		if len(wantHits) != 4 {
			t.Errorf("the suite is broken: serial coverage.xml has %d files, want 4", len(wantHits))
		}
		for _, r := range []compatRun{xdist, herd} {
			got := coverageXMLHits(t, filepath.Join(r.out, r.name+".xml"))
			if d := diffHits(got, wantHits); len(d) > 0 {
				t.Errorf("%s's coverage.xml differs from serial pytest's:\n  %s", r.name, strings.Join(limit(d, 30), "\n  "))
			}
		}
		if strings.Contains(herd.stderr, "coverage") {
			t.Errorf("herd --cov says something about coverage on stderr:\n%s", tail(herd.stderr))
		}
	})
}

// checkCompatReport is checkReport for a run with flaky tests: helpers'
// validOutcomes predates the flaky outcome, so flaky counts as passed there.
func checkCompatReport(t *testing.T, rep jsonReport, collected int) {
	t.Helper()
	cp := rep
	cp.Tests = make([]jsonTest, len(rep.Tests))
	for i, tc := range rep.Tests {
		if tc.Outcome == "flaky" {
			tc.Outcome = "passed"
		}
		cp.Tests[i] = tc
	}
	cp.Summary = map[string]int{}
	for k, n := range rep.Summary {
		if k == "flaky" {
			k = "passed"
		}
		cp.Summary[k] += n
	}
	checkReport(t, cp, collected)
}

// TestCompatCrashedWorkerKeepsSlot: a test kills its worker (os._exit(3))
// under herd -n 1; the replacement keeps the slot's worker id, so every test
// after the crash logs the same id and PYTEST_XDIST_WORKER and reopens the
// same database file, with the row the dead process wrote. One slot makes
// the replacement run every test left, whatever the timing.
func TestCompatCrashedWorkerKeepsSlot(t *testing.T) {
	needCompatPlugins(t)
	t.Parallel()
	r := runCompatN(t, "herd", 1, "--no-diagnose", "crash")
	const tests = 9
	if r.code != 1 {
		t.Errorf("herd exits %d, want 1 (one test crashed)\nstdout:\n%s\nstderr:\n%s", r.code, tail(r.stdout), tail(r.stderr))
	}
	checkReport(t, r.report, tests)
	// Run without --cov: herd has no coverage to combine.
	if strings.Contains(r.stderr, "coverage") {
		t.Errorf("herd ran without --cov but says something about coverage on stderr:\n%s", tail(r.stderr))
	}
	for _, tc := range r.report.Tests {
		want := "passed"
		if tc.NodeID == compatCrash {
			want = "crashed"
		}
		if tc.Outcome != want || tc.Worker != "gw0" {
			t.Errorf("%s: %s on worker %q, want %s on gw0", tc.NodeID, tc.Outcome, tc.Worker, want)
		}
	}
	checkWorkerLog(t, r)
	if len(r.log) != tests {
		t.Fatalf("%d tests logged, want %d", len(r.log), tests)
	}

	// The crashed process's record comes first (the crash test is first in
	// collection order), then the replacement's.
	crash := r.log[0]
	if crash.NodeID != compatCrash || crash.WorkerID != "gw0" {
		t.Fatalf("first logged %s on %s, want %s on gw0", crash.NodeID, crash.WorkerID, compatCrash)
	}
	want := filepath.Join(r.dbDir, "gw0.sqlite")
	for _, rec := range r.log[1:] {
		if rec.PID == crash.PID {
			t.Errorf("%s ran in the process that crashed (pid %d)", rec.NodeID, rec.PID)
		}
		if rec.WorkerID != "gw0" || rec.EnvWorker == nil || *rec.EnvWorker != "gw0" || rec.DB != want {
			t.Errorf("after the crash: %s logged worker_id %q, PYTEST_XDIST_WORKER %s, database %s; want gw0, gw0, %s",
				rec.NodeID, rec.WorkerID, strPtr(rec.EnvWorker), rec.DB, want)
		}
		if rec.RowsAtOpen < 1 {
			t.Errorf("after the crash: %s's process opened %s with %d rows, want the dead worker's row in it",
				rec.NodeID, rec.DB, rec.RowsAtOpen)
		}
	}
	if pids := pidsByWorker(r.log)["gw0"]; len(pids) != 2 {
		t.Errorf("gw0 ran in processes %v, want 2 (the one that crashed, its replacement)", pids)
	}
}

// coverageTable is pytest-cov's terminal table: from the "---- coverage:"
// header to the TOTAL line, both included.
func coverageTable(t *testing.T, name, stdout string) string {
	t.Helper()
	lines := strings.Split(stdout, "\n")
	start := -1
	for i, l := range lines {
		if start < 0 && strings.HasPrefix(l, "-") && strings.Contains(l, " coverage: ") {
			start = i
		}
		if start >= 0 && strings.HasPrefix(l, "TOTAL ") {
			return strings.Join(lines[start:i+1], "\n")
		}
	}
	t.Errorf("%s printed no coverage table (\"---- coverage:\" ... TOTAL):\n%s", name, tail(stdout))
	return ""
}

// coverageXMLHits reads a Cobertura coverage.xml into file -> line -> hit.
func coverageXMLHits(t *testing.T, path string) map[string]map[int]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("coverage XML: %v", err)
	}
	var doc struct {
		Packages []struct {
			Classes []struct {
				Filename string `xml:"filename,attr"`
				Lines    []struct {
					Number int `xml:"number,attr"`
					Hits   int `xml:"hits,attr"`
				} `xml:"lines>line"`
			} `xml:"classes>class"`
		} `xml:"packages>package"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("coverage XML %s: %v", path, err)
	}
	out := map[string]map[int]bool{}
	for _, p := range doc.Packages {
		for _, c := range p.Classes {
			m := out[c.Filename]
			if m == nil {
				m = map[int]bool{}
				out[c.Filename] = m
			}
			for _, l := range c.Lines {
				m[l.Number] = m[l.Number] || l.Hits > 0
			}
		}
	}
	return out
}

// diffHits lists every file and line whose hit differs.
func diffHits(got, want map[string]map[int]bool) []string {
	var diffs []string
	files := map[string]bool{}
	for f := range got {
		files[f] = true
	}
	for f := range want {
		files[f] = true
	}
	for _, f := range keys(files) {
		g, w := got[f], want[f]
		if g == nil || w == nil {
			diffs = append(diffs, fmt.Sprintf("%s: in one report only", f))
			continue
		}
		lines := map[int]bool{}
		for n := range g {
			lines[n] = true
		}
		for n := range w {
			lines[n] = true
		}
		var ns []int
		for n := range lines {
			ns = append(ns, n)
		}
		sort.Ints(ns)
		for _, n := range ns {
			gh, gok := g[n]
			wh, wok := w[n]
			switch {
			case !gok || !wok:
				diffs = append(diffs, fmt.Sprintf("%s:%d: a statement in one report only", f, n))
			case gh != wh:
				diffs = append(diffs, fmt.Sprintf("%s:%d: hit %v, want %v", f, n, gh, wh))
			}
		}
	}
	return diffs
}

// TestCompatCoverageLostWorker: a worker that segfaults takes its coverage
// data with it; herd's coverage report says so and names it.
func TestCompatCoverageLostWorker(t *testing.T) {
	needCompatPlugins(t)
	t.Parallel()
	r := runCompat(t, "herd", "--cov=compatpkg", "--cov-report=term-missing", "tests/test_cov.py", "segv/test_segv.py")
	if r.code != 1 {
		t.Errorf("herd exits %d, want 1 (one test crashed)\nstdout:\n%s\nstderr:\n%s", r.code, tail(r.stdout), tail(r.stderr))
	}
	var crash jsonTest
	for _, tc := range r.report.Tests {
		if tc.NodeID == compatSegv {
			crash = tc
		} else if tc.Outcome != "passed" {
			t.Errorf("%s: %s, want passed", tc.NodeID, tc.Outcome)
		}
	}
	if crash.Outcome != "crashed" || !strings.Contains(string(crash.Crash), "SIGSEGV") {
		t.Errorf("%s: %s (crash %s), want crashed by SIGSEGV", compatSegv, crash.Outcome, crash.Crash)
	}
	coverageTable(t, "herd", r.stdout)
	const note = "coverage data lost with 1 crashed worker process"
	if !strings.Contains(r.stdout, note) {
		t.Errorf("herd's coverage report lacks %q\nstdout:\n%s", note, tail(r.stdout))
	}
	if who := fmt.Sprintf("    %s (died running %s)", crash.Worker, compatSegv); crash.Worker == "" || !strings.Contains(r.stdout, who+"\n") {
		t.Errorf("herd's coverage report does not name the lost worker: want line %q\nstdout:\n%s", who, tail(r.stdout))
	}
}
