package config_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/config"
)

// fakePython is a stand-in interpreter: a symlink to testdata/fakepython.sh
// that answers `-c "import pytest; print(pytest.__version__)"` as told.
type fakePython struct {
	version  string // printed on stdout when set
	noPytest bool   // fails as Python does without pytest
	crash    string // fails with this last stderr line
}

func (f fakePython) write(t *testing.T, path string) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "fakepython.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(script, path); err != nil {
		t.Fatal(err)
	}
	write := func(suffix, content string) {
		if err := os.WriteFile(path+suffix, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	switch {
	case f.noPytest:
		write(".stderr", "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\n"+
			"ModuleNotFoundError: No module named 'pytest'\n")
	case f.crash != "":
		write(".stderr", "Traceback (most recent call last):\n"+f.crash+"\n")
	default:
		write(".stdout", f.version+"\n")
	}
	return path
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func noEnv(string) string { return "" }

func TestFindPythonExplicit(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name       string
		fake       *fakePython // nil: no file at the path
		dir        bool        // the path is a directory
		noSlash    string      // explicit is this bare name instead of a path
		wantPytest string      // success when set
		wantReason string      // else the refusal reason
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		tmp := t.TempDir()
		path := filepath.Join(tmp, "bin", "python")
		if tc.fake != nil {
			tc.fake.write(t, path)
		}
		if tc.dir {
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		explicit := path
		if tc.noSlash != "" {
			explicit = tc.noSlash
		}
		in, err := config.FindPython(ctxT(t), explicit, tmp, "", noEnv)
		if tc.wantPytest != "" {
			if err != nil {
				t.Fatalf("FindPython: %v", err)
			}
			if in.Path != path || in.Pytest != tc.wantPytest {
				t.Fatalf("FindPython = %+v, want %s with pytest %s", in, path, tc.wantPytest)
			}
			return
		}
		if in != nil {
			t.Fatalf("FindPython = %+v, want a refusal", in)
		}
		var npe *config.NoPythonError
		if !errors.As(err, &npe) {
			t.Fatalf("err = %T %v, want *NoPythonError", err, err)
		}
		if len(npe.Tried) != 1 || npe.Tried[0].Path != explicit {
			t.Fatalf("Tried = %+v, want just %s", npe.Tried, explicit)
		}
		msg := err.Error()
		if !strings.Contains(msg, explicit) || !strings.Contains(msg, tc.wantReason) {
			t.Fatalf("error %q should name %s and say %q", msg, explicit, tc.wantReason)
		}
		// One line that names the option; no advice to pass the option
		// the user just passed.
		if !strings.HasPrefix(msg, "herd: --python "+explicit+": ") || strings.Contains(msg, "pass --python") || strings.Contains(msg, "\n") {
			t.Errorf("error %q should be one line starting %q, without advice to pass --python", msg, "herd: --python "+explicit+": ")
		}
	}
	for _, tc := range []testCase{
		{name: "does not exist", wantReason: "does not exist"},
		{name: "is a directory", dir: true, wantReason: "is a directory"},
		{name: "bare name not on PATH", noSlash: "herd-no-such-python-3.99", wantReason: "not found on PATH"},
		{name: "cannot import pytest", fake: &fakePython{noPytest: true}, wantReason: "cannot import pytest"},
		{name: "old pytest", fake: &fakePython{version: "6.2.5"}, wantReason: "has pytest 6.2.5, herd needs 7.0 or newer"},
		{name: "garbage version", fake: &fakePython{version: "unknown"}, wantReason: "has pytest unknown"},
		{name: "broken interpreter", fake: &fakePython{crash: "SyntaxError: bad site.py"}, wantReason: "fails to run: SyntaxError: bad site.py"},
		{name: "pytest 7.0.0", fake: &fakePython{version: "7.0.0"}, wantPytest: "7.0.0"},
		{name: "pytest 8.3.2", fake: &fakePython{version: "8.3.2"}, wantPytest: "8.3.2"},
		{name: "pytest 7.4.0rc1", fake: &fakePython{version: "7.4.0rc1"}, wantPytest: "7.4.0rc1"},
		{name: "pytest 10.0 is not older than 7", fake: &fakePython{version: "10.0.1"}, wantPytest: "10.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestFindPythonDiscoveryOrder(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name string
		// venv and dotVenv are the fakes at $VIRTUAL_ENV/bin/python and
		// ./.venv/bin/python; nil means no file.
		venv, dotVenv *fakePython
		setVenv       bool
		want          string // "venv" or "dotvenv"
		wantPytest    string
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		tmp := t.TempDir()
		venvDir := filepath.Join(tmp, "active-env")
		work := filepath.Join(tmp, "project")
		venvPy := filepath.Join(venvDir, "bin", "python")
		dotPy := filepath.Join(work, ".venv", "bin", "python")
		if tc.venv != nil {
			tc.venv.write(t, venvPy)
		}
		if tc.dotVenv != nil {
			tc.dotVenv.write(t, dotPy)
		}
		getenv := func(k string) string {
			if k == "VIRTUAL_ENV" && tc.setVenv {
				return venvDir
			}
			return ""
		}
		in, err := config.FindPython(ctxT(t), "", work, "", getenv)
		if err != nil {
			t.Fatalf("FindPython: %v", err)
		}
		want := map[string]string{"venv": venvPy, "dotvenv": dotPy}[tc.want]
		if in.Path != want || in.Pytest != tc.wantPytest {
			t.Fatalf("FindPython = %+v, want %s with pytest %s", in, want, tc.wantPytest)
		}
	}
	for _, tc := range []testCase{
		{name: "active virtualenv first", setVenv: true, venv: &fakePython{version: "8.0.0"}, dotVenv: &fakePython{version: "7.1.0"}, want: "venv", wantPytest: "8.0.0"},
		{name: "./.venv when no virtualenv is active", venv: &fakePython{version: "8.0.0"}, dotVenv: &fakePython{version: "7.1.0"}, want: "dotvenv", wantPytest: "7.1.0"},
		{name: "./.venv when the active one lacks pytest", setVenv: true, venv: &fakePython{noPytest: true}, dotVenv: &fakePython{version: "7.1.0"}, want: "dotvenv", wantPytest: "7.1.0"},
		{name: "./.venv when the active one has an old pytest", setVenv: true, venv: &fakePython{version: "6.2.5"}, dotVenv: &fakePython{version: "7.2.0"}, want: "dotvenv", wantPytest: "7.2.0"},
		{name: "./.venv when the active one is gone", setVenv: true, dotVenv: &fakePython{version: "7.3.0"}, want: "dotvenv", wantPytest: "7.3.0"},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// TestFindPythonPATH changes PATH, so it and its subtests do not run in
// parallel with anything.
func TestFindPythonPATH(t *testing.T) {
	type testCase struct {
		name       string
		python3    *fakePython // on PATH; nil for none
		python     *fakePython
		wantPath   string // base name of the chosen one; "" for a NoPythonError
		wantTried  []string
		wantReason []string
	}
	run := func(t *testing.T, tc testCase) {
		tmp := t.TempDir()
		bin := filepath.Join(tmp, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if tc.python3 != nil {
			tc.python3.write(t, filepath.Join(bin, "python3"))
		}
		if tc.python != nil {
			tc.python.write(t, filepath.Join(bin, "python"))
		}
		t.Setenv("PATH", bin)
		venvDir := filepath.Join(tmp, "venv")
		work := filepath.Join(tmp, "work")
		getenv := func(k string) string {
			if k == "VIRTUAL_ENV" {
				return venvDir
			}
			return ""
		}
		in, err := config.FindPython(ctxT(t), "", work, "", getenv)
		if tc.wantPath != "" {
			if err != nil {
				t.Fatalf("FindPython: %v", err)
			}
			if in.Path != filepath.Join(bin, tc.wantPath) {
				t.Fatalf("FindPython = %+v, want %s", in, filepath.Join(bin, tc.wantPath))
			}
			return
		}
		var npe *config.NoPythonError
		if !errors.As(err, &npe) {
			t.Fatalf("err = %v, want *NoPythonError", err)
		}
		var paths, reasons []string
		for _, c := range npe.Tried {
			paths = append(paths, strings.ReplaceAll(c.Path, tmp, "$TMP"))
			reasons = append(reasons, c.Reason)
		}
		if strings.Join(paths, " ") != strings.Join(tc.wantTried, " ") {
			t.Errorf("tried %q, want %q", paths, tc.wantTried)
		}
		if strings.Join(reasons, "|") != strings.Join(tc.wantReason, "|") {
			t.Errorf("reasons %q, want %q", reasons, tc.wantReason)
		}
		for _, p := range npe.Tried {
			if !strings.Contains(err.Error(), p.Path+" ("+p.Reason+")") {
				t.Errorf("message %q does not list %s with its reason", err, p.Path)
			}
		}
	}
	for _, tc := range []testCase{
		{name: "python3 on PATH", python3: &fakePython{version: "7.4.4"}, python: &fakePython{version: "8.0.0"}, wantPath: "python3"},
		{name: "python when python3 lacks pytest", python3: &fakePython{noPytest: true}, python: &fakePython{version: "8.0.0"}, wantPath: "python"},
		{
			name:       "nothing usable",
			python:     &fakePython{version: "6.0.1"},
			wantTried:  []string{"$TMP/venv/bin/python", "$TMP/work/.venv/bin/python", "python3", "$TMP/bin/python"},
			wantReason: []string{"does not exist", "does not exist", "not found on PATH", "has pytest 6.0.1, herd needs 7.0 or newer"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// TestFindPythonSelfVenv: a herd installed in a virtualenv's bin/ (by pip,
// from the wheel) uses that virtualenv's python when nothing names one.
type selfVenvCase struct {
	name string
	// self is the fake python in herd's own virtualenv (nil: none);
	// selfName its name there ("python" unless set).
	self     *fakePython
	selfName string
	noCfg    bool // no pyvenv.cfg next to herd's bin/
	// active is $VIRTUAL_ENV's python (nil: VIRTUAL_ENV unset), dotVenv
	// ./.venv's.
	active, dotVenv *fakePython
	want            string // "self", "active", "dotvenv"; "" for a refusal
	wantTried       []string
}

// runSelfVenv lays out herd in a virtualenv (and what tc says around it)
// and checks what FindPython picks, or tries.
func runSelfVenv(t *testing.T, tc selfVenvCase) {
	tmp := t.TempDir()
	selfBin := filepath.Join(tmp, "tool-env", "bin")
	if err := os.MkdirAll(selfBin, 0o755); err != nil {
		t.Fatal(err)
	}
	herd := filepath.Join(selfBin, "herd")
	if err := os.WriteFile(herd, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !tc.noCfg {
		if err := os.WriteFile(filepath.Join(tmp, "tool-env", "pyvenv.cfg"), []byte("home = /usr/bin\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	name := tc.selfName
	if name == "" {
		name = "python"
	}
	selfPy := filepath.Join(selfBin, name)
	if tc.self != nil {
		tc.self.write(t, selfPy)
	}
	activeDir := filepath.Join(tmp, "active-env")
	activePy := filepath.Join(activeDir, "bin", "python")
	if tc.active != nil {
		tc.active.write(t, activePy)
	}
	work := filepath.Join(tmp, "project")
	dotPy := filepath.Join(work, ".venv", "bin", "python")
	if tc.dotVenv != nil {
		tc.dotVenv.write(t, dotPy)
	}
	getenv := func(k string) string {
		if k == "VIRTUAL_ENV" && tc.active != nil {
			return activeDir
		}
		return ""
	}
	in, err := config.FindPython(ctxT(t), "", work, herd, getenv)
	if tc.want == "" {
		var npe *config.NoPythonError
		if !errors.As(err, &npe) {
			t.Fatalf("FindPython = %+v, %v; want a NoPythonError", in, err)
		}
		var tried []string
		for _, c := range npe.Tried {
			if strings.HasPrefix(c.Path, tmp) {
				tried = append(tried, strings.ReplaceAll(c.Path, tmp, "$TMP"))
			}
		}
		if strings.Join(tried, " ") != strings.Join(tc.wantTried, " ") {
			t.Errorf("tried %q, want %q (and what PATH has)", tried, tc.wantTried)
		}
		return
	}
	if err != nil {
		t.Fatalf("FindPython: %v", err)
	}
	want := map[string]string{"self": selfPy, "active": activePy, "dotvenv": dotPy}[tc.want]
	if in.Path != want {
		t.Fatalf("FindPython = %s, want %s", in.Path, want)
	}
}

// TestFindPythonSelfVenv: a herd installed in a virtualenv's bin/ (by pip,
// from the wheel) uses that virtualenv's python when nothing names one.
func TestFindPythonSelfVenv(t *testing.T) {
	t.Parallel()
	for _, tc := range []selfVenvCase{
		{name: "herd's virtualenv when none is active", self: &fakePython{version: "8.0.0"}, dotVenv: &fakePython{version: "7.1.0"}, want: "self"},
		{name: "python3 when the virtualenv has no python", self: &fakePython{version: "8.0.0"}, selfName: "python3", want: "self"},
		{name: "the active virtualenv first", self: &fakePython{version: "8.0.0"}, active: &fakePython{version: "7.4.0"}, want: "active"},
		{name: "./.venv when herd's virtualenv lacks pytest (pipx, uv tool)", self: &fakePython{noPytest: true}, dotVenv: &fakePython{version: "7.1.0"}, want: "dotvenv"},
		{name: "no pyvenv.cfg: not a virtualenv", self: &fakePython{version: "8.0.0"}, noCfg: true, dotVenv: &fakePython{version: "7.1.0"}, want: "dotvenv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runSelfVenv(t, tc)
		})
	}
}

// TestFindPythonSelfVenvTried changes PATH (to an empty directory), so it
// does not run in parallel with anything.
func TestFindPythonSelfVenvTried(t *testing.T) {
	for _, tc := range []selfVenvCase{
		{name: "refusal lists herd's virtualenv", self: &fakePython{noPytest: true},
			wantTried: []string{"$TMP/tool-env/bin/python", "$TMP/project/.venv/bin/python"}},
		{name: "refusal without pyvenv.cfg does not", self: &fakePython{version: "8.0.0"}, noCfg: true,
			wantTried: []string{"$TMP/project/.venv/bin/python"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			runSelfVenv(t, tc)
		})
	}
}

func TestSelfVenvPython(t *testing.T) {
	t.Parallel()
	if got := config.SelfVenvPython(""); got != "" {
		t.Errorf("SelfVenvPython(\"\") = %q, want empty", got)
	}
	if got := config.SelfVenvPython("/no/such/dir/bin/herd"); got != "" {
		t.Errorf("SelfVenvPython of a missing path = %q, want empty", got)
	}
}
