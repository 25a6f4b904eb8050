// Package doctor is `herd doctor`: it reads a suite's test sources (with
// Python's ast, run by the suite's own interpreter; nothing is imported or
// run) and lists the tests at risk when run in parallel, with the policy herd
// would apply and the marker line that asks for it. It also lists the tests
// that earlier runs found crashing only beside other tests.
package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/herd-run/herd/internal/history"
)

// The policies herd applies to a risky test.
const (
	// Exclusive: nothing else runs while the test runs.
	Exclusive = "exclusive"
	// Isolated: the test runs in a fresh worker process of its own, which
	// is discarded afterwards.
	Isolated = "isolated"
)

// Where a finding was seen.
const (
	// ScopeTest: in a test, a fixture it requests or a helper it calls.
	ScopeTest = "test"
	// ScopeModule: in code run when the module is imported.
	ScopeModule = "module"
	// ScopeFixture: in a fixture that no test found requests.
	ScopeFixture = "fixture"
)

// kind describes one risk kind.
type kind struct {
	// what says what the code does, after the test's name.
	what   string
	policy string
	// coveredBy are the markers that already give the test a policy that
	// contains the risk: a fresh, discarded process contains changes to
	// process state, but not a port or a file other processes see.
	coveredBy []string
}

var (
	exclusiveOnly = []string{"serial", "parallel_unsafe"}
	processState  = []string{"serial", "parallel_unsafe", "isolated"}
	isolatedOnly  = []string{"isolated"}
)

// kinds are the risks the analyzer reports, by its name for them.
var kinds = map[string]kind{
	"process_pool":    {"starts a process pool", Isolated, isolatedOnly},
	"multiprocessing": {"starts a multiprocessing process", Isolated, isolatedOnly},
	"fork":            {"forks its process", Isolated, isolatedOnly},
	"new_session":     {"starts a process in a new session or process group", Isolated, isolatedOnly},
	"thread":          {"starts a thread it does not join", Isolated, isolatedOnly},
	"environ":         {"changes os.environ", Exclusive, processState},
	"chdir":           {"changes the current directory", Exclusive, processState},
	"sys_path":        {"changes sys.path", Exclusive, processState},
	"signal":          {"installs a signal handler", Exclusive, processState},
	"fixed_port":      {"listens on a fixed port", Exclusive, exclusiveOnly},
	"fixed_path":      {"writes to a fixed path outside tmp_path", Exclusive, exclusiveOnly},
}

// Marker returns the marker line that asks herd for policy, for a test or
// fixture (a decorator) or for a whole module (pytestmark).
func Marker(policy, scope string) string {
	name := "parallel_unsafe"
	if policy == Isolated {
		name = "isolated"
	}
	if scope == ScopeModule {
		return "pytestmark = pytest.mark." + name
	}
	return "@pytest.mark." + name
}

// Finding is one risky line, for one test (or module, or unused fixture).
type Finding struct {
	// NodeID is the test's node id (file::Class::test), the module's path
	// for code run at import, or file::fixture for a fixture no test
	// requests.
	NodeID string `json:"nodeid"`
	// File and Line are where the risky code is (a fixture's may be in a
	// conftest.py).
	File     string `json:"file"`
	Line     int    `json:"line"`
	Kind     string `json:"kind"`
	Evidence string `json:"evidence"`
	Policy   string `json:"policy"`
	Marker   string `json:"marker"`
	Scope    string `json:"scope"`
	// Fixture names the fixture (or xunit set-up) the code is in, when it
	// is not in the test itself.
	Fixture string `json:"fixture,omitempty"`
	// Via names the helper function the test (or fixture) calls that holds
	// the code.
	Via string `json:"via,omitempty"`
}

// Diagnosed is a test an earlier run found crashing only beside other tests.
type Diagnosed struct {
	NodeID  string `json:"nodeid"`
	Summary string `json:"summary"`
	Marker  string `json:"marker"`
}

// Report is what herd doctor found.
type Report struct {
	Findings  []Finding
	Diagnosed []Diagnosed
	// Notes are one-line remarks: files skipped for syntax errors.
	Notes []string
	// Files is the number of source files read.
	Files int
	// marked maps a test's node id to the policy markers it carries.
	marked map[string][]string
}

// Found says there is something to report: exit code 1.
func (r *Report) Found() bool { return len(r.Findings) > 0 || len(r.Diagnosed) > 0 }

// Options say what to analyze and with what.
type Options struct {
	// Python is the suite's interpreter; Script the analyzer's source.
	Python string
	Script []byte
	// Rootdir is the suite's rootdir: node ids are relative to it.
	Rootdir string
	// Paths are the files and directories to read (absolute).
	Paths []string
}

// rawOutput is the analyzer's JSON.
type rawOutput struct {
	Files    int `json:"files"`
	Findings []struct {
		NodeID   string   `json:"nodeid"`
		File     string   `json:"file"`
		Line     int      `json:"line"`
		Kind     string   `json:"kind"`
		Evidence string   `json:"evidence"`
		Scope    string   `json:"scope"`
		Fixture  string   `json:"fixture"`
		Via      string   `json:"via"`
		Markers  []string `json:"markers"`
	} `json:"findings"`
	Marked map[string][]string `json:"marked"`
	Notes  []string            `json:"notes"`
}

// Analyze runs the analyzer and turns what it saw into findings with
// policies and markers. Findings on tests that already carry a marker whose
// policy contains the risk are left out.
func Analyze(ctx context.Context, o Options) (*Report, error) {
	args := append([]string{"-I", "-", o.Rootdir}, o.Paths...)
	cmd := exec.CommandContext(ctx, o.Python, args...)
	cmd.Stdin = bytes.NewReader(o.Script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := lastLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("the analyzer failed under %s: %s", o.Python, msg)
	}
	var raw rawOutput
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		return nil, fmt.Errorf("the analyzer's output is not JSON: %v", err)
	}
	return fromRaw(&raw), nil
}

func fromRaw(raw *rawOutput) *Report {
	r := &Report{Files: raw.Files, Notes: raw.Notes, marked: raw.Marked}
	for _, f := range raw.Findings {
		k, ok := kinds[f.Kind]
		if !ok || covered(f.Markers, k.coveredBy) {
			continue
		}
		r.Findings = append(r.Findings, Finding{
			NodeID: f.NodeID, File: f.File, Line: f.Line, Kind: f.Kind,
			Evidence: f.Evidence, Policy: k.policy, Marker: Marker(k.policy, f.Scope),
			Scope: f.Scope, Fixture: f.Fixture, Via: f.Via,
		})
	}
	return r
}

func covered(have, by []string) bool {
	for _, h := range have {
		for _, b := range by {
			if h == b {
				return true
			}
		}
	}
	return false
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// AddDiagnoses lists the tests under paths that earlier runs found crashing
// only beside other tests (diagnoses with crashed_alone false), unless the
// test now carries a policy marker. Node ids are relative to rootdir.
func (r *Report) AddDiagnoses(diags map[string]history.Diagnosis, rootdir string, paths []string) {
	for id, d := range diags {
		if d.CrashedAlone || !under(filepath.Join(rootdir, filepath.FromSlash(fileOf(id))), paths) {
			continue
		}
		if len(r.marked[baseID(id)]) > 0 {
			continue
		}
		marker := d.Marker
		if marker == "" {
			marker = Marker(Exclusive, ScopeTest)
		}
		summary := d.Summary
		if summary == "" {
			summary = "crashed beside other tests and passed when rerun alone"
		}
		r.Diagnosed = append(r.Diagnosed, Diagnosed{NodeID: id, Summary: summary, Marker: marker})
	}
	sort.Slice(r.Diagnosed, func(i, j int) bool { return r.Diagnosed[i].NodeID < r.Diagnosed[j].NodeID })
}

// fileOf is the path part of a node id.
func fileOf(nodeid string) string {
	f, _, _ := strings.Cut(nodeid, "::")
	return f
}

// baseID is a node id without its parameters: test_a.py::test_x[1] ->
// test_a.py::test_x.
func baseID(nodeid string) string {
	if i := strings.Index(nodeid, "["); i > 0 && strings.HasSuffix(nodeid, "]") {
		return nodeid[:i]
	}
	return nodeid
}

func under(file string, paths []string) bool {
	for _, p := range paths {
		if file == p || strings.HasPrefix(file, strings.TrimSuffix(p, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// iniFiles are the files that make a directory pytest's rootdir, with the
// section each must hold to count at first sight (pytest.ini always counts).
var iniFiles = []struct{ name, section string }{
	{"pytest.ini", ""},
	{"pyproject.toml", "[tool.pytest.ini_options]"},
	{"tox.ini", "[pytest]"},
	{"setup.cfg", "[tool:pytest]"},
}

// Rootdir finds the suite's rootdir from the first path, as pytest does in
// short: the nearest directory, from the path's own up, holding an ini file
// with a pytest section; else the nearest holding any of those files; else
// the path's directory.
func Rootdir(path string) string {
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	for _, needSection := range []bool{true, false} {
		for d := dir; ; {
			for _, ini := range iniFiles {
				b, err := os.ReadFile(filepath.Join(d, ini.name))
				if err != nil {
					continue
				}
				if !needSection || ini.section == "" || bytes.Contains(b, []byte(ini.section)) {
					return d
				}
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return dir
}

// CacheDir is pytest's cache directory of a rootdir.
func CacheDir(rootdir string) string { return filepath.Join(rootdir, ".pytest_cache") }

// ErrNoPath is returned by CheckPaths for a path that does not exist.
var ErrNoPath = errors.New("no such file or directory")

// CheckPaths makes paths absolute and checks they exist.
func CheckPaths(paths []string) ([]string, error) {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if _, err := os.Stat(abs); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s", ErrNoPath, p)
			}
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, abs)
	}
	return out, nil
}
