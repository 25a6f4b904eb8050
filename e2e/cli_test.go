//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersion: herd -V and --version print herd's version, then what the
// suite's pytest prints for -V (-VV: its plugins too), and exit as pytest
// does.
func TestVersion(t *testing.T) {
	needHerd(t)
	dir := t.TempDir()
	for _, flag := range []string{"-V", "--version", "-VV"} {
		t.Run(flag, func(t *testing.T) {
			pyFlag := flag
			if flag == "--version" {
				pyFlag = "-V"
			}
			py := run(t, dir, baseEnv(), python, "-m", "pytest", pyFlag)
			h := run(t, dir, baseEnv(), herdBin, "--python", python, flag)
			if h.Code != 0 || h.Code != py.Code {
				t.Errorf("herd %s exits %d, pytest %s %d\n%s", flag, h.Code, pyFlag, py.Code, h.Stderr)
			}
			first, rest, _ := strings.Cut(h.Stdout, "\n")
			if !strings.HasPrefix(first, "herd ") {
				t.Errorf("herd %s: first line %q, want herd's version", flag, first)
			}
			if rest+h.Stderr != py.Stdout+py.Stderr {
				t.Errorf("herd %s after its own line:\n%s\npytest %s:\n%s", flag, rest+h.Stderr, pyFlag, py.Stdout+py.Stderr)
			}
		})
	}
}

// TestBadShortCluster: -x1 is pytest's usage error (-x takes no value),
// with pytest's message and exit code 4.
func TestBadShortCluster(t *testing.T) {
	needHerd(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"test_a.py": "def test_a():\n    pass\n"})
	for _, arg := range []string{"-x1", "-vx1"} {
		t.Run(arg, func(t *testing.T) {
			py := run(t, dir, baseEnv(), python, "-m", "pytest", arg)
			h := run(t, dir, baseEnv(), herdBin, "--python", python, arg)
			if py.Code != 4 || h.Code != py.Code {
				t.Errorf("herd %s exits %d, pytest %d", arg, h.Code, py.Code)
			}
			const msg = "error: argument -x/--exitfirst: ignored explicit argument '1'"
			if !strings.Contains(py.Stderr, msg) || !strings.Contains(h.Stderr, msg) {
				t.Errorf("want %q from both\nherd:\n%s\npytest:\n%s", msg, h.Stdout+h.Stderr, py.Stderr)
			}
			if strings.Contains(h.Stdout, "passed") {
				t.Errorf("herd ran tests:\n%s", h.Stdout)
			}
		})
	}
}

// TestSubcommandHelpAndUsage: every subcommand prints its own help, and a
// bare "herd report" or "herd durations" is a one-line usage error, not a
// run of tests in a directory of that name.
func TestSubcommandHelpAndUsage(t *testing.T) {
	needHerd(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"test_a.py": "def test_a():\n    pass\n"})
	tests := []struct {
		args   []string
		code   int
		stdout []string // the start of stdout, then substrings
		stderr string   // the start of stderr's one line
	}{
		{args: []string{"report", "--help"}, stdout: []string{"usage: herd report merge ", "usage: herd report --queue URL --run-id ID"}},
		{args: []string{"report", "-h"}, stdout: []string{"usage: herd report merge "}},
		{args: []string{"report", "merge", "--help"}, stdout: []string{"usage: herd report merge "}},
		{args: []string{"durations", "--help"}, stdout: []string{"usage: herd durations merge "}},
		{args: []string{"durations", "merge", "--help"}, stdout: []string{"usage: herd durations merge "}},
		{args: []string{"doctor", "--help"}, stdout: []string{"usage: herd doctor "}},
		{args: []string{"report"}, code: 4, stderr: "herd report: expects merge FILES... or --queue URL --run-id ID"},
		{args: []string{"report", "tests/"}, code: 4, stderr: "herd report: "},
		{args: []string{"durations"}, code: 4, stderr: "herd durations: expects merge FILES..."},
	}
	for _, tt := range tests {
		name := strings.Join(tt.args, " ")
		t.Run(name, func(t *testing.T) {
			h := run(t, dir, baseEnv("HERD_PYTHON="+python), herdBin, tt.args...)
			if h.Code != tt.code {
				t.Errorf("herd %s exits %d, want %d\n%s%s", name, h.Code, tt.code, h.Stdout, h.Stderr)
			}
			if len(tt.stdout) > 0 {
				if !strings.HasPrefix(h.Stdout, tt.stdout[0]) {
					t.Errorf("herd %s prints %.100q, want it to start %q", name, h.Stdout, tt.stdout[0])
				}
				for _, s := range tt.stdout[1:] {
					if !strings.Contains(h.Stdout, s) {
						t.Errorf("herd %s: help lacks %q", name, s)
					}
				}
			}
			if tt.stderr != "" {
				if !strings.HasPrefix(h.Stderr, tt.stderr) || strings.Count(h.Stderr, "\n") != 1 || h.Stdout != "" {
					t.Errorf("herd %s: stdout %q, stderr %q; want one line on stderr starting %q", name, h.Stdout, h.Stderr, tt.stderr)
				}
			}
		})
	}
}

// TestNoSuchPython: an interpreter given with --python or HERD_PYTHON that
// will not do is one line naming where it came from and why, exit 4, with
// no advice to pass the option just passed.
func TestNoSuchPython(t *testing.T) {
	needHerd(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"--python", nil, []string{"--python", "/nonexistent/python"}, "herd: --python /nonexistent/python: does not exist"},
		{"HERD_PYTHON", []string{"HERD_PYTHON=/nonexistent/python"}, nil, "herd: HERD_PYTHON=/nonexistent/python: does not exist"},
		{"doctor --python", nil, []string{"doctor", "--python", "/nonexistent/python"}, "herd: --python /nonexistent/python: does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := run(t, dir, baseEnv(tt.env...), herdBin, tt.args...)
			if h.Code != 4 || !strings.HasPrefix(h.Stderr, tt.want) || strings.Count(h.Stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit 4 and one line starting %q", h.Code, h.Stderr, tt.want)
			}
			if strings.Contains(h.Stderr, "pass --python") {
				t.Errorf("stderr %q advises passing --python", h.Stderr)
			}
		})
	}
}

// TestDoctorAdviceNamesTheMarker: doctor does not claim herd isolates an
// unmarked test; it says the test is not isolated unless marked, and how.
func TestDoctorAdviceNamesTheMarker(t *testing.T) {
	needHerd(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"test_fork.py": "import os\n\n\ndef test_fork():\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n"})
	h := run(t, dir, baseEnv(), herdBin, "doctor", "--python", python)
	if h.Code != 1 {
		t.Fatalf("herd doctor exits %d, want 1 (a risk found)\n%s%s", h.Code, h.Stdout, h.Stderr)
	}
	const want = "not isolated unless marked: add @pytest.mark.isolated (herd then runs it in a fresh worker process of its own)"
	if !strings.Contains(h.Stdout, want) || strings.Contains(h.Stdout, "herd runs it") {
		t.Errorf("herd doctor says:\n%s\nwant %q", h.Stdout, want)
	}
}

// TestOutputPathsCheckedFirst: a report or event-stream path that cannot
// be written (under a regular file: not a directory, even for root) is a
// one-line usage error before any test runs, from the command line or, for
// --junitxml, from ini addopts; missing directories are created, as pytest
// creates them for --junitxml.
func TestOutputPathsCheckedFirst(t *testing.T) {
	needHerd(t)
	// The test leaves a file behind when it runs.
	suite := map[string]string{"test_mark.py": "import pathlib\n\n\ndef test_mark():\n    pathlib.Path('ran').write_text('yes')\n"}
	tests := []struct {
		name string
		ini  string
		flag string // followed by a path under a regular file
	}{
		{name: "report-json", flag: "--report-json"},
		{name: "junitxml", flag: "--junitxml"},
		{name: "report-html", flag: "--report-html"},
		{name: "events", flag: "--events"},
		{name: "junitxml in addopts", ini: "[pytest]\naddopts = --junitxml=plain/sub/junit.xml\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, suite)
			writeFiles(t, dir, map[string]string{"plain": "a regular file\n"})
			args := []string{"--python", python, "-n", "2"}
			flag := tt.flag
			if tt.ini != "" {
				writeFiles(t, dir, map[string]string{"pytest.ini": tt.ini})
				flag = "--junitxml"
			} else {
				args = append(args, tt.flag, filepath.Join("plain", "sub", "out"))
			}
			h := run(t, dir, baseEnv(), herdBin, args...)
			want := "herd: " + flag + " plain/sub/"
			if h.Code != 4 || !strings.HasPrefix(h.Stderr, want) || strings.Count(h.Stderr, "\n") != 1 || !strings.Contains(h.Stderr, "not a directory") {
				t.Errorf("exit %d, stderr %q; want exit 4 and one line starting %q, saying not a directory", h.Code, h.Stderr, want)
			}
			if fileExists(filepath.Join(dir, "ran")) {
				t.Errorf("the test ran before herd refused the path")
			}
		})
	}
	// A missing directory is made, by pytest and by herd alike.
	t.Run("missing directories", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFiles(t, dir, suite)
		py := pytestRun(t, dir, nil, "--junitxml", "py/a/b/junit.xml")
		h := run(t, dir, baseEnv(), herdBin, "--python", python, "-n", "2", "--junitxml", "herd/a/b/junit.xml",
			"--report-json", "herd/c/r.json", "--report-html", "herd/d/r.html", "--events", "herd/e/ev.ndjson")
		if py.Code != 0 || h.Code != 0 {
			t.Fatalf("pytest exits %d, herd %d\n%s", py.Code, h.Code, h.Stderr)
		}
		for _, p := range []string{"py/a/b/junit.xml", "herd/a/b/junit.xml", "herd/c/r.json", "herd/d/r.html", "herd/e/ev.ndjson"} {
			if st, err := os.Stat(filepath.Join(dir, p)); err != nil || st.Size() == 0 {
				t.Errorf("%s not written: %v", p, err)
			}
		}
	})
}
