//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Set by TestMain.
var (
	herdBin    string // the herd binary built for this run
	python     string // $HERD_PYTHON, an interpreter with pytest
	repoRoot   string // the module root (parent of e2e/)
	skipReason string // non-empty: the whole package is skipped
	buildErr   error  // herd did not build: every test fails
)

// commandTimeout bounds one herd or pytest run, so a hung run fails its test
// instead of the whole package hitting go test's -timeout.
const commandTimeout = 150 * time.Second

// validOutcomes are the outcomes herd's --report-json may give a test.
var validOutcomes = map[string]bool{
	"passed": true, "failed": true, "error": true, "skipped": true,
	"xfailed": true, "xpassed": true, "crashed": true, "timeout": true,
	"not_run": true, "flaky": true, "interrupted": true,
}

// jsonReport is herd's --report-json file.
type jsonReport struct {
	// Present is false when herd wrote no report file.
	Present bool `json:"-"`
	// raw is the report file as herd wrote it, for fields not below.
	raw              []byte
	Version          json.RawMessage       `json:"version"`
	Collected        int                   `json:"collected"`
	Duration         float64               `json:"duration"`
	Summary          map[string]int        `json:"summary"`
	Tests            []jsonTest            `json:"tests"`
	CollectionErrors []jsonCollectionError `json:"collection_errors"`
	// Stalls are the worker processes herd killed for hanging outside a
	// test.
	Stalls []json.RawMessage `json:"stalls"`
}

type jsonTest struct {
	NodeID   string          `json:"nodeid"`
	Outcome  string          `json:"outcome"`
	Duration float64         `json:"duration"`
	Worker   string          `json:"worker"`
	Longrepr string          `json:"longrepr"`
	Crash    json.RawMessage `json:"crash"`
}

type jsonCollectionError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// outcomes maps nodeid to outcome. A nodeid listed twice keeps its last
// outcome; checkReport reports duplicates.
func (r jsonReport) outcomes() map[string]string {
	m := make(map[string]string, len(r.Tests))
	for _, tc := range r.Tests {
		m[tc.NodeID] = tc.Outcome
	}
	return m
}

// needHerd skips the test when the package is skipped and fails it when
// herd did not build.
func needHerd(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if buildErr != nil {
		t.Fatalf("herd did not build (output above): %v", buildErr)
	}
}

// suiteSrc is the path of an example suite in the repository.
func suiteSrc(name string) string {
	return filepath.Join(repoRoot, "testdata", "suites", name)
}

// copySuite copies an example suite into a fresh temporary directory and
// returns the copy's path, so runs never write into the repository (caches,
// __pycache__, herd's own state) nor see each other's files.
func copySuite(t *testing.T, name string) string {
	t.Helper()
	src := suiteSrc(name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "__pycache__", ".pytest_cache", ".herd":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy suite %s: %v", name, err)
	}
	return dst
}

// baseEnv is the environment of every herd and pytest run: the test's own,
// less anything that would change how pytest or herd behave, plus extra.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "PYTEST_"), strings.HasPrefix(k, "HERD_"),
			k == "PYTHONPATH", k == "PYTHONSTARTUP", k == "PYTHONWARNINGS",
			k == "OUTCOMES_JSON", k == "COLUMNS", k == "LINES":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PYTHONDONTWRITEBYTECODE=1", "COLUMNS=80")
	return append(env, extra...)
}

// execResult is what one command did.
type execResult struct {
	Stdout, Stderr string
	Code           int
}

// run runs a command in dir with a timeout, killing its whole process group
// (herd's workers included) when the timeout fires.
func run(t *testing.T, dir string, env []string, name string, args ...string) execResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = nil
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	res := execResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: timed out after %v\nstdout:\n%s\nstderr:\n%s",
			name, strings.Join(args, " "), commandTimeout, tail(res.Stdout), tail(res.Stderr))
	case err == nil:
		res.Code = 0
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
		if res.Code < 0 {
			t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s",
				name, strings.Join(args, " "), err, tail(res.Stdout), tail(res.Stderr))
		}
	default:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return res
}

// runHerd runs `herd --python $HERD_PYTHON -n 2 --report-json R args...` in
// dir and returns its output, exit code and parsed report (Present is false
// when herd wrote none).
func runHerd(t *testing.T, dir string, args ...string) (stdout, stderr string, code int, report jsonReport) {
	t.Helper()
	return runHerdEnv(t, dir, nil, args...)
}

// runHerdEnv is runHerd with extra environment variables ("K=V").
func runHerdEnv(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int, report jsonReport) {
	t.Helper()
	needHerd(t)
	reportPath := filepath.Join(t.TempDir(), "herd-report.json")
	full := append([]string{"--python", python, "-n", "2", "--report-json", reportPath}, args...)
	res := run(t, dir, baseEnv(env...), herdBin, full...)
	t.Logf("herd %s: exit %d", strings.Join(args, " "), res.Code)
	data, err := os.ReadFile(reportPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		t.Fatalf("read herd report: %v", err)
	default:
		if err := json.Unmarshal(data, &report); err != nil {
			t.Fatalf("herd's --report-json is not valid JSON: %v\n%s", err, tail(string(data)))
		}
		report.Present = true
		report.raw = data
	}
	return res.Stdout, res.Stderr, res.Code, report
}

// pytestResult is one plain pytest run.
type pytestResult struct {
	Outcomes map[string]string
	execResult
}

// runPytest runs plain pytest (`$HERD_PYTHON -m pytest -p no:cacheprovider
// -p outcomes args...`) in dir and returns testdata/outcomes.py's map of
// nodeid to outcome and pytest's exit code.
func runPytest(t *testing.T, dir string, args ...string) (outcomes map[string]string, code int) {
	t.Helper()
	r := pytestRun(t, dir, nil, args...)
	return r.Outcomes, r.Code
}

// pytestRun is runPytest with extra environment variables and the output.
func pytestRun(t *testing.T, dir string, env []string, args ...string) pytestResult {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	outPath := filepath.Join(t.TempDir(), "outcomes.json")
	env = append([]string{
		"PYTHONPATH=" + filepath.Join(repoRoot, "testdata"),
		"OUTCOMES_JSON=" + outPath,
	}, env...)
	full := append([]string{"-m", "pytest", "-p", "no:cacheprovider", "-p", "outcomes"}, args...)
	res := pytestResult{Outcomes: map[string]string{}}
	res.execResult = run(t, dir, baseEnv(env...), python, full...)
	t.Logf("pytest %s: exit %d", strings.Join(args, " "), res.Code)
	data, err := os.ReadFile(outPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Usage errors end pytest before the session, so before the plugin
		// writes anything.
	case err != nil:
		t.Fatalf("read outcomes: %v", err)
	default:
		if err := json.Unmarshal(data, &res.Outcomes); err != nil {
			t.Fatalf("outcomes.py wrote bad JSON: %v", err)
		}
	}
	return res
}

// checkReport checks what must hold for any herd report: it exists, every
// outcome is valid, every nodeid is listed once, and the summary counts the
// tests' outcomes. When collected >= 0, the report's collected count, the
// number of tests and the summary's total must all equal it.
func checkReport(t *testing.T, rep jsonReport, collected int) {
	t.Helper()
	if !rep.Present {
		t.Errorf("herd wrote no --report-json file")
		return
	}
	seen := map[string]int{}
	counts := map[string]int{}
	for _, tc := range rep.Tests {
		seen[tc.NodeID]++
		counts[tc.Outcome]++
		if !validOutcomes[tc.Outcome] {
			t.Errorf("report: %s has unknown outcome %q", tc.NodeID, tc.Outcome)
		}
	}
	var dups []string
	for id, n := range seen {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%s (%d times)", id, n))
		}
	}
	if len(dups) > 0 {
		sort.Strings(dups)
		t.Errorf("report lists tests more than once: %s", strings.Join(limit(dups, 10), ", "))
	}
	total := 0
	for k, n := range rep.Summary {
		total += n
		if !validOutcomes[k] {
			t.Errorf("report summary has unknown outcome %q", k)
		}
	}
	for k := range validOutcomes {
		if rep.Summary[k] != counts[k] {
			t.Errorf("report summary says %d %s, the tests list has %d", rep.Summary[k], k, counts[k])
		}
	}
	if total != len(rep.Tests) {
		t.Errorf("report summary adds up to %d, the tests list has %d tests", total, len(rep.Tests))
	}
	if collected >= 0 {
		if rep.Collected != collected {
			t.Errorf("report says %d collected, want %d", rep.Collected, collected)
		}
		if total != collected {
			t.Errorf("report summary adds up to %d, want %d collected", total, collected)
		}
	}
}

// diffOutcomes compares herd's outcomes with plain pytest's, nodeid by
// nodeid, and reports every difference. A test plain pytest never reported
// matches herd's not_run (pytest lists no test it did not run).
func diffOutcomes(t *testing.T, herd, pytest map[string]string) {
	t.Helper()
	var diffs []string
	for id, want := range pytest {
		got, ok := herd[id]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing from herd: %s (pytest: %s)", id, want))
		case got != want:
			diffs = append(diffs, fmt.Sprintf("%s: herd %s, pytest %s", id, got, want))
		}
	}
	for id, got := range herd {
		if _, ok := pytest[id]; !ok && got != "not_run" {
			diffs = append(diffs, fmt.Sprintf("only in herd: %s (%s)", id, got))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("herd's outcomes differ from plain pytest's in %d tests:\n  %s",
			len(diffs), strings.Join(limit(diffs, 40), "\n  "))
	}
}

// closingLineRE is the shape of pytest's (and herd's) closing line when some
// test passed or failed.
var closingLineRE = regexp.MustCompile(`^=+ .*\d+ (passed|failed).* in \d+\.\d\ds =+$`)

// closingLine is the last non-empty line of stdout.
func closingLine(stdout string) string {
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return strings.TrimRight(lines[i], " \r")
		}
	}
	return ""
}

var countRE = regexp.MustCompile(`(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)\b`)

// lineCounts parses "1 failed, 2 passed, 3 errors" into {failed:1,
// passed:2, error:3}. Warnings and durations are ignored.
func lineCounts(line string) map[string]int {
	m := map[string]int{}
	for _, sm := range countRE.FindAllStringSubmatch(line, -1) {
		n, _ := strconv.Atoi(sm[1])
		m[strings.TrimSuffix(sm[2], "s")] += n
	}
	return m
}

// checkClosingLine checks herd's closing line: pytest's shape, and the same
// counts as plain pytest's closing line.
func checkClosingLine(t *testing.T, herdStdout, pytestStdout string) {
	t.Helper()
	got, want := closingLine(herdStdout), closingLine(pytestStdout)
	if !closingLineRE.MatchString(got) {
		t.Errorf("herd's closing line %q does not match %s\nstdout tail:\n%s", got, closingLineRE, tail(herdStdout))
	}
	g, w := lineCounts(got), lineCounts(want)
	// pytest counts a test whose call passed and whose teardown failed
	// twice, "1 passed, 1 error"; herd gives every test one outcome (error),
	// as the README says. So herd's passed may fall short of pytest's by at
	// most the number of errors; every other count must be equal.
	if short := w["passed"] - g["passed"]; short > 0 && short <= w["error"]+w["errors"] {
		g["passed"] = w["passed"]
	}
	if !equalCounts(g, w) {
		t.Errorf("closing line counts differ:\n  herd:   %q\n  pytest: %q", got, want)
	}
}

func equalCounts(a, b map[string]int) bool {
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

// tail keeps the last 3000 bytes of s for failure messages.
func tail(s string) string {
	const n = 3000
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
}

// writeFiles writes files (path relative to dir -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
