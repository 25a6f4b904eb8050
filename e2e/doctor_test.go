//go:build unix

package e2e

// herd doctor: every risk planted in testdata/suites/doctor_risky is found
// with the right kind, line, policy and marker, and nothing else is; the
// clean suite of safe look-alikes (testdata/suites/doctor_clean) gives no
// finding; diagnoses from earlier runs are listed; bad command lines end with
// one line and exit code 4.

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

type doctorReport struct {
	Version  int `json:"version"`
	Findings []struct {
		NodeID   string `json:"nodeid"`
		File     string `json:"file"`
		Line     int    `json:"line"`
		Kind     string `json:"kind"`
		Evidence string `json:"evidence"`
		Policy   string `json:"policy"`
		Marker   string `json:"marker"`
		Fixture  string `json:"fixture"`
	} `json:"findings"`
	Diagnosed []struct {
		NodeID  string `json:"nodeid"`
		Summary string `json:"summary"`
		Marker  string `json:"marker"`
	} `json:"diagnosed"`
	Notes []string `json:"notes"`
}

// runDoctor runs `herd doctor --python $HERD_PYTHON args...` in dir.
func runDoctor(t *testing.T, dir string, args ...string) execResult {
	t.Helper()
	needHerd(t)
	res := run(t, dir, baseEnv(), herdBin, append([]string{"doctor", "--python", python}, args...)...)
	t.Logf("herd doctor %s: exit %d", strings.Join(args, " "), res.Code)
	return res
}

func runDoctorJSON(t *testing.T, dir string, args ...string) (doctorReport, execResult) {
	t.Helper()
	res := runDoctor(t, dir, append([]string{"--json"}, args...)...)
	var rep doctorReport
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("herd doctor --json printed no JSON: %v\nstdout:\n%s\nstderr:\n%s", err, tail(res.Stdout), tail(res.Stderr))
	}
	if rep.Version != 1 {
		t.Errorf("version = %d, want 1", rep.Version)
	}
	return rep, res
}

// plantedRisk is one risk planted in doctor_risky, on the line that ends
// with "# doctor: TAG".
type plantedRisk struct {
	tag, nodeid, kind, fixture string
}

var plantedRisks = []plantedRisk{
	{"pool", "test_processes.py::test_multiprocessing_pool", "process_pool", ""},
	{"pool-executor", "test_processes.py::test_process_pool_executor", "process_pool", ""},
	{"process", "test_processes.py::test_multiprocessing_process", "multiprocessing", ""},
	{"fork", "test_processes.py::test_os_fork", "fork", ""},
	{"new-session", "test_processes.py::test_popen_new_session", "new_session", ""},
	{"setsid-command", "test_processes.py::test_setsid_command", "new_session", ""},
	{"preexec-setsid", "test_processes.py::test_preexec_os_setsid", "new_session", ""},
	{"thread", "test_processes.py::test_thread_not_joined", "thread", ""},
	{"thread-inline", "test_processes.py::test_thread_started_inline", "thread", ""},
	{"environ-assign", "test_process_state.py::test_environ_assignment", "environ", ""},
	{"environ-del", "test_process_state.py::test_environ_del", "environ", ""},
	{"environ-update", "test_process_state.py::test_environ_update", "environ", ""},
	{"environ-pop", "test_process_state.py::test_environ_pop", "environ", ""},
	{"environ-setdefault", "test_process_state.py::test_environ_setdefault", "environ", ""},
	{"environ-clear", "test_process_state.py::test_environ_clear", "environ", ""},
	{"environ-clear-restore", "test_process_state.py::test_environ_clear", "environ", ""},
	{"putenv", "test_process_state.py::test_putenv", "environ", ""},
	{"chdir", "test_process_state.py::test_chdir", "chdir", ""},
	{"sys-path-append", "test_process_state.py::test_sys_path_append", "sys_path", ""},
	{"sys-path-insert", "test_process_state.py::test_sys_path_insert", "sys_path", ""},
	{"sys-path-assign", "test_process_state.py::test_sys_path_assignment", "sys_path", ""},
	{"signal", "test_process_state.py::test_signal_handler", "signal", ""},
	{"fixture-environ", "test_process_state.py::test_uses_environ_fixture", "environ", "environ_fixture"},
	{"fixture-environ-pop", "test_process_state.py::test_uses_environ_fixture", "environ", "environ_fixture"},
	{"conftest-fixture-signal", "test_process_state.py::test_uses_conftest_signal_fixture", "signal", "usr1_handler"},
	{"conftest-fixture-signal-restore", "test_process_state.py::test_uses_conftest_signal_fixture", "signal", "usr1_handler"},
	{"helper-chdir", "test_process_state.py::TestInClass::test_chdir_through_helper", "chdir", ""},
	{"port-bind", "test_shared_resources.py::test_fixed_port_bind", "fixed_port", ""},
	{"port-keyword", "test_shared_resources.py::test_fixed_port_keyword", "fixed_port", ""},
	{"path-absolute", "test_shared_resources.py::test_fixed_absolute_path", "fixed_path", ""},
	{"path-relative", "test_shared_resources.py::test_fixed_relative_path", "fixed_path", ""},
	{"path-pathlib", "test_shared_resources.py::test_fixed_pathlib_path", "fixed_path", ""},
	{"module-sys-path", "test_module_level.py", "sys_path", ""},
}

// kindPolicy is the policy herd applies to each kind of risk.
var kindPolicy = map[string]string{
	"process_pool": "isolated", "multiprocessing": "isolated", "fork": "isolated",
	"new_session": "isolated", "thread": "isolated",
	"environ": "exclusive", "chdir": "exclusive", "sys_path": "exclusive",
	"signal": "exclusive", "fixed_port": "exclusive", "fixed_path": "exclusive",
}

var tagRE = regexp.MustCompile(`# doctor: ([a-z0-9-]+)\s*$`)

// plantedLines maps each tag in the suite at dir to "file:line".
func plantedLines(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.py"))
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			if m := tagRE.FindStringSubmatch(sc.Text()); m != nil {
				if prev, dup := out[m[1]]; dup {
					t.Fatalf("tag %s planted twice: %s and %s:%d", m[1], prev, filepath.Base(path), n)
				}
				out[m[1]] = filepath.Base(path) + ":" + strconv.Itoa(n)
			}
		}
		f.Close()
	}
	return out
}

func expectedMarker(kind, nodeid string) string {
	name := "parallel_unsafe"
	if kindPolicy[kind] == "isolated" {
		name = "isolated"
	}
	if !strings.Contains(nodeid, "::") {
		return "pytestmark = pytest.mark." + name
	}
	return "@pytest.mark." + name
}

func TestDoctorFindsEveryPlantedRisk(t *testing.T) {
	dir := copySuite(t, "doctor_risky")
	// A file with a syntax error is one note, and skipped.
	if err := os.WriteFile(filepath.Join(dir, "test_broken.py"), []byte("def test_broken(:\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lines := plantedLines(t, dir)
	if len(lines) != len(plantedRisks) {
		t.Fatalf("the suite plants %d tagged lines, the test expects %d", len(lines), len(plantedRisks))
	}
	kindsSeen := map[string]bool{}
	for _, p := range plantedRisks {
		kindsSeen[p.kind] = true
	}
	for k := range kindPolicy {
		if !kindsSeen[k] {
			t.Errorf("no planted risk of kind %s", k)
		}
	}

	rep, res := runDoctorJSON(t, dir)
	if res.Code != 1 {
		t.Errorf("exit code %d, want 1 (risks found)\nstderr:\n%s", res.Code, tail(res.Stderr))
	}
	checkBrokenNote(t, res.Stderr)
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "test_broken.py") {
		t.Errorf("notes = %q, want one about test_broken.py", rep.Notes)
	}

	type key struct{ nodeid, where string }
	got := map[key]int{}
	for i, f := range rep.Findings {
		got[key{f.NodeID, f.File + ":" + strconv.Itoa(f.Line)}] = i
	}
	for _, p := range plantedRisks {
		where := lines[p.tag]
		i, ok := got[key{p.nodeid, where}]
		if !ok {
			t.Errorf("%s: no finding for %s at %s", p.tag, p.nodeid, where)
			continue
		}
		delete(got, key{p.nodeid, where})
		f := rep.Findings[i]
		if f.Kind != p.kind {
			t.Errorf("%s: kind %q, want %q", p.tag, f.Kind, p.kind)
		}
		if f.Policy != kindPolicy[p.kind] {
			t.Errorf("%s: policy %q, want %q", p.tag, f.Policy, kindPolicy[p.kind])
		}
		if want := expectedMarker(p.kind, p.nodeid); f.Marker != want {
			t.Errorf("%s: marker %q, want %q", p.tag, f.Marker, want)
		}
		if f.Fixture != p.fixture {
			t.Errorf("%s: fixture %q, want %q", p.tag, f.Fixture, p.fixture)
		}
		if !strings.HasSuffix(f.Evidence, "# doctor: "+p.tag) {
			t.Errorf("%s: evidence %q is not the planted line", p.tag, f.Evidence)
		}
	}
	var extra []string
	for k := range got {
		extra = append(extra, k.nodeid+" at "+k.where)
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("findings nothing planted: %s", strings.Join(extra, "; "))
	}

	// For people: grouped by file, every finding with its line and marker,
	// and the closing count.
	text := runDoctor(t, dir)
	if text.Code != 1 {
		t.Errorf("text mode: exit code %d, want 1", text.Code)
	}
	checkBrokenNote(t, text.Stderr)
	for _, p := range plantedRisks {
		if !strings.Contains(text.Stdout, lines[p.tag]+": ") {
			t.Errorf("text output does not show %s (%s)", lines[p.tag], p.tag)
		}
	}
	for _, file := range []string{"test_processes.py", "test_process_state.py", "test_shared_resources.py", "test_module_level.py"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(file) + `$`).MatchString(text.Stdout) {
			t.Errorf("text output has no group header for %s", file)
		}
	}
	if want := "herd doctor: 33 risks in 29 tests and 1 module"; closingLine(text.Stdout) != want {
		t.Errorf("closing line %q, want %q", closingLine(text.Stdout), want)
	}
}

func checkBrokenNote(t *testing.T, stderr string) {
	t.Helper()
	got := strings.TrimSpace(stderr)
	if strings.Count(got, "\n") != 0 || !strings.Contains(got, "test_broken.py") || !strings.Contains(got, "syntax error") {
		t.Errorf("stderr should be one note about test_broken.py's syntax error, got:\n%s", stderr)
	}
	if strings.Contains(stderr, "Traceback") {
		t.Errorf("stderr holds a traceback:\n%s", stderr)
	}
}

func TestDoctorPathsAndRootdir(t *testing.T) {
	dir := copySuite(t, "doctor_risky")
	// Run from elsewhere, on one file: node ids stay relative to the
	// suite's rootdir, and the conftest fixture is still seen.
	rep, res := runDoctorJSON(t, t.TempDir(), filepath.Join(dir, "test_process_state.py"))
	if res.Code != 1 {
		t.Errorf("exit code %d, want 1", res.Code)
	}
	n := 0
	for _, f := range rep.Findings {
		if !strings.HasPrefix(f.NodeID, "test_process_state.py::") {
			t.Errorf("finding for %s, want only test_process_state.py's tests", f.NodeID)
		}
		if f.Fixture == "usr1_handler" && f.File == "conftest.py" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d findings from the conftest fixture, want 2", n)
	}
}

func TestDoctorCleanSuite(t *testing.T) {
	dir := copySuite(t, "doctor_clean")
	rep, res := runDoctorJSON(t, dir)
	if res.Code != 0 {
		t.Errorf("exit code %d, want 0\nstderr:\n%s", res.Code, tail(res.Stderr))
	}
	for _, f := range rep.Findings {
		t.Errorf("false alarm: %s %s at %s:%d: %s", f.NodeID, f.Kind, f.File, f.Line, f.Evidence)
	}
	if len(rep.Diagnosed) != 0 || len(rep.Notes) != 0 {
		t.Errorf("diagnosed %v, notes %v: want none", rep.Diagnosed, rep.Notes)
	}
	if !strings.Contains(res.Stdout, `"findings": []`) {
		t.Errorf("--json with nothing found should list findings as [], got:\n%s", res.Stdout)
	}
	text := runDoctor(t, dir)
	if text.Code != 0 || strings.TrimSpace(text.Stdout) != "herd doctor: no risks found in 3 files" || text.Stderr != "" {
		t.Errorf("text mode: exit %d\nstdout:\n%s\nstderr:\n%s", text.Code, text.Stdout, text.Stderr)
	}
}

func TestDoctorListsDiagnoses(t *testing.T) {
	dir := copySuite(t, "doctor_clean")
	cache := filepath.Join(dir, ".pytest_cache", "v", "herd")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	diags := `{
  "test_plain.py::test_addition": {"crashed_alone": false, "cause": "parallel-unsafe",
    "marker": "@pytest.mark.parallel_unsafe", "summary": "passed alone: it crashed only beside other tests", "when": "2025-01-01T00:00:00Z"},
  "test_plain.py::test_strings": {"crashed_alone": true, "summary": "crashes alone too", "when": "2025-01-01T00:00:00Z"}
}`
	if err := os.WriteFile(filepath.Join(cache, "diagnoses"), []byte(diags), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, res := runDoctorJSON(t, dir)
	if res.Code != 1 {
		t.Errorf("exit code %d, want 1 (a test crashed beside others)", res.Code)
	}
	if len(rep.Findings) != 0 {
		t.Errorf("%d findings, want 0", len(rep.Findings))
	}
	if len(rep.Diagnosed) != 1 {
		t.Fatalf("diagnosed = %+v, want only test_addition (test_strings crashed alone too)", rep.Diagnosed)
	}
	d := rep.Diagnosed[0]
	if d.NodeID != "test_plain.py::test_addition" || d.Marker != "@pytest.mark.parallel_unsafe" || !strings.Contains(d.Summary, "beside other tests") {
		t.Errorf("diagnosed[0] = %+v", d)
	}
	text := runDoctor(t, dir)
	if !strings.Contains(text.Stdout, "test_plain.py::test_addition") ||
		closingLine(text.Stdout) != "herd doctor: no risks found in 3 files; 1 test crashed only beside other tests" {
		t.Errorf("text output:\n%s", text.Stdout)
	}
}

func TestDoctorUsageErrors(t *testing.T) {
	needHerd(t)
	dir := copySuite(t, "doctor_clean")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad option", []string{"doctor", "--python", python, "--bogus"}, "unknown option --bogus"},
		{"no such path", []string{"doctor", "--python", python, "no/such/dir"}, "no such file or directory: no/such/dir"},
		{"no interpreter", []string{"doctor", "--python", filepath.Join(dir, "no-python")}, "no-python: does not exist; herd needs a Python that can import pytest"},
		{"--python without value", []string{"doctor", "--python"}, "--python expects a path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, dir, baseEnv(), herdBin, tc.args...)
			if res.Code != 4 {
				t.Errorf("exit code %d, want 4", res.Code)
			}
			msg := strings.TrimRight(res.Stderr, "\n")
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "Traceback") {
				t.Errorf("stderr should be one line containing %q, got:\n%s", tc.want, res.Stderr)
			}
			if res.Stdout != "" {
				t.Errorf("stdout should be empty, got:\n%s", res.Stdout)
			}
		})
	}
}
