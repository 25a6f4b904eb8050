package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// probeTimeout bounds one interpreter probe (start Python, import pytest).
// Importing pytest takes a few hundred milliseconds; 20 s covers a cold disk.
const probeTimeout = 20 * time.Second

// minPytest is the oldest pytest herd's worker plugin supports.
var minPytest = [2]int{7, 0}

// Interpreter is a Python that can run herd's workers.
type Interpreter struct {
	Path   string
	Pytest string
}

// Candidate is one interpreter herd tried, and why it was refused.
type Candidate struct {
	Path   string
	Reason string
}

// NoPythonError lists every interpreter tried and why none would do.
type NoPythonError struct {
	Tried []Candidate
	// Given names what chose the one interpreter tried: "--python" or
	// "HERD_PYTHON"; empty when herd looked for one itself.
	Given string
}

func (e *NoPythonError) Error() string {
	if e.Given != "" && len(e.Tried) == 1 {
		c := e.Tried[0]
		if e.Given == "HERD_PYTHON" {
			return fmt.Sprintf("herd: HERD_PYTHON=%s: %s; herd needs a Python that can import pytest 7.0 or newer", c.Path, c.Reason)
		}
		return fmt.Sprintf("herd: %s %s: %s; herd needs a Python that can import pytest 7.0 or newer", e.Given, c.Path, c.Reason)
	}
	var parts []string
	for _, c := range e.Tried {
		parts = append(parts, fmt.Sprintf("%s (%s)", c.Path, c.Reason))
	}
	return "herd: no Python with pytest >= 7.0 found; tried " + strings.Join(parts, ", ") +
		"; pass --python PATH or set HERD_PYTHON"
}

// FindPython returns the interpreter to use: explicit (from --python or
// HERD_PYTHON; a refusal names --python, which the caller may change) when
// given, else the first that can import pytest 7.0 or newer of: the active
// virtualenv's ($VIRTUAL_ENV/bin/python), the virtualenv herd is installed
// in (see SelfVenvPython; self is herd's own executable, empty if
// unknown), ./.venv/bin/python in dir, and python3 and python on PATH.
func FindPython(ctx context.Context, explicit, dir, self string, getenv func(string) string) (*Interpreter, error) {
	if explicit != "" {
		path := explicit
		if !strings.Contains(path, "/") {
			p, err := exec.LookPath(path)
			if err != nil {
				return nil, &NoPythonError{Tried: []Candidate{{explicit, "not found on PATH"}}, Given: "--python"}
			}
			path = p
		}
		in, reason := probe(ctx, path)
		if in == nil {
			return nil, &NoPythonError{Tried: []Candidate{{explicit, reason}}, Given: "--python"}
		}
		return in, nil
	}
	var cands []string
	if v := getenv("VIRTUAL_ENV"); v != "" {
		cands = append(cands, filepath.Join(v, "bin", "python"))
	}
	if p := SelfVenvPython(self); p != "" {
		cands = append(cands, p)
	}
	cands = append(cands, filepath.Join(dir, ".venv", "bin", "python"))
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			cands = append(cands, p)
		} else {
			cands = append(cands, name)
		}
	}
	var tried []Candidate
	seen := map[string]bool{}
	for _, c := range cands {
		if seen[c] {
			continue
		}
		seen[c] = true
		in, reason := probe(ctx, c)
		if in != nil {
			return in, nil
		}
		tried = append(tried, Candidate{c, reason})
	}
	return nil, &NoPythonError{Tried: tried}
}

// SelfVenvPython is the python of the virtualenv that herd's executable
// (self) is installed in, as pip installs the pytest-herd wheel: self's
// directory holds python (or python3) and its parent holds pyvenv.cfg. So
// .venv/bin/herd uses .venv's python without the virtualenv being active.
// It is empty when self is not in a virtualenv's bin/.
func SelfVenvPython(self string) string {
	if self == "" {
		return ""
	}
	bin := filepath.Dir(self)
	if st, err := os.Stat(filepath.Join(filepath.Dir(bin), "pyvenv.cfg")); err != nil || st.IsDir() {
		return ""
	}
	for _, name := range []string{"python", "python3"} {
		p := filepath.Join(bin, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// probe checks that path runs and imports a recent enough pytest.
func probe(ctx context.Context, path string) (*Interpreter, string) {
	if !strings.Contains(path, "/") {
		return nil, "not found on PATH"
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "does not exist"
		}
		return nil, err.Error()
	}
	if st.IsDir() {
		return nil, "is a directory"
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", "import pytest; print(pytest.__version__)")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if strings.Contains(string(ee.Stderr), "No module named") {
				return nil, "cannot import pytest"
			}
			return nil, "fails to run: " + firstLine(string(ee.Stderr))
		}
		return nil, "cannot run: " + err.Error()
	}
	v := strings.TrimSpace(string(out))
	if !atLeast(v, minPytest) {
		return nil, fmt.Sprintf("has pytest %s, herd needs 7.0 or newer", v)
	}
	return &Interpreter{Path: path, Pytest: v}, ""
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	lines := strings.Split(s, "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func atLeast(version string, min [2]int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return major > min[0] || (major == min[0] && minor >= min[1])
}
