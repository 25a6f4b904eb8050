package pyworker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fpEntry is one file of herd_fp.py's input.
type fpEntry struct {
	Path    string `json:"p"`
	Content string `json:"content_b64,omitempty"`
}

// fpResult is one file of herd_fp.py's answer.
type fpResult struct {
	SHA     string            `json:"sha"`
	Parts   map[string]string `json:"parts"`
	Missing bool              `json:"missing"`
}

// runFP runs the installed herd_fp.py on input; it returns its stdout,
// its stderr and its error.
func runFP(t *testing.T, py, install string, input []byte) ([]byte, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join(install, FPName))
	cmd.Stdin = bytes.NewReader(input)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.Bytes(), errb.String(), err
}

// fingerprints fingerprints the given contents (path -> source) with
// herd_fp.py, and the files paths on disk under root.
func fingerprints(t *testing.T, py, install, root string, contents map[string]string, paths ...string) map[string]fpResult {
	t.Helper()
	req := struct {
		Root  string    `json:"root"`
		Files []fpEntry `json:"files"`
	}{Root: root}
	for p, c := range contents {
		req.Files = append(req.Files, fpEntry{Path: p, Content: base64.StdEncoding.EncodeToString([]byte(c))})
	}
	for _, p := range paths {
		req.Files = append(req.Files, fpEntry{Path: p})
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runFP(t, py, install, in)
	if err != nil {
		t.Fatalf("herd_fp.py: %v\n%s", err, stderr)
	}
	var got struct {
		Files map[string]fpResult `json:"files"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("herd_fp.py's answer %q: %v", out, err)
	}
	return got.Files
}

func installed(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := Install(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

const fpBase = `import os

X = 1


def f(a=1):
    g = lambda y: y + a
    return [g(i) for i in range(a)]


def h():
    return 2


class C:
    Z = 2

    def meth(self):
        return 3

    class Inner:
        def deep(self):
            return 4


def outer():
    def inner():
        return 5

    return inner
`

// changed reports which parts differ between two fingerprints, parts
// present in only one included.
func changed(a, b fpResult) []string {
	var out []string
	for k, v := range a.Parts {
		if b.Parts[k] != v {
			out = append(out, k)
		}
	}
	for k := range b.Parts {
		if _, ok := a.Parts[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

func TestFingerprintParts(t *testing.T) {
	py := testPython(t)
	install := installed(t)
	variants := map[string]string{
		"base.py": fpBase,
		// Comments, blank lines: no part changes.
		"comment.py": strings.Replace(fpBase, "def h():\n", "# a comment\n\n\ndef h():  # here\n", 1),
		// A body edit of f: only f's part.
		"body.py": strings.Replace(fpBase, "return [g(i) for i in range(a)]", "return [g(i) for i in range(a + 1)]", 1),
		// An edit of the lambda in f: f's part.
		"lambda.py": strings.Replace(fpBase, "y + a", "y - a", 1),
		// A new constant: the module's part.
		"const.py": strings.Replace(fpBase, "X = 1\n", "X = 1\nY = 2\n", 1),
		// f's default value: f's part (an undecorated module-level
		// function of its own name is not module code).
		"default.py": strings.Replace(fpBase, "def f(a=1)", "def f(a=2)", 1),
		// A new module-level function: its own part, nothing else.
		"added.py": strings.Replace(fpBase, "def h():", "def added():\n    return 9\n\n\ndef h():", 1),
		// A new function that shadows a binding (the import of os), or a
		// decorated one: module code changes.
		"shadow.py":    strings.Replace(fpBase, "def h():", "def os():\n    return 9\n\n\ndef h():", 1),
		"decorated.py": strings.Replace(fpBase, "def h():", "@staticmethod\ndef added():\n    return 9\n\n\ndef h():", 1),
		// A method's default value: the class body is module code.
		"method.py": strings.Replace(fpBase, "def meth(self):", "def meth(self, k=1):", 1),
		// inner's body: only inner.
		"inner.py": strings.Replace(fpBase, "return 5", "return 6", 1),
		// A syntax error: a sha, no parts.
		"broken.py": "def f(:\n    pass\n",
		"data.json": `{"a": 1}`,
	}
	got := fingerprints(t, py, install, t.TempDir(), variants, "absent.py")
	base := got["base.py"]
	wantParts := []string{"<module>", "f", "h", "C.meth", "C.Inner.deep", "outer", "outer.<locals>.inner"}
	if len(base.Parts) != len(wantParts) {
		t.Errorf("parts %v, want %v", base.Parts, wantParts)
	}
	for _, p := range wantParts {
		if base.Parts[p] == "" {
			t.Errorf("no part %q in %v", p, base.Parts)
		}
	}
	if len(base.SHA) != 64 {
		t.Errorf("sha %q", base.SHA)
	}
	for name, want := range map[string][]string{
		"comment.py":   nil,
		"body.py":      {"f"},
		"lambda.py":    {"f"},
		"const.py":     {"<module>"},
		"default.py":   {"f"},
		"added.py":     {"added"},
		"shadow.py":    {"<module>", "os"},
		"decorated.py": {"<module>", "added"},
		"method.py":    {"<module>", "C.meth"},
		"inner.py":     {"outer.<locals>.inner"},
	} {
		diff := changed(base, got[name])
		if strings.Join(sortStrings(diff), ",") != strings.Join(sortStrings(want), ",") {
			t.Errorf("%s: parts changed %v, want %v", name, diff, want)
		}
		if got[name].SHA == base.SHA {
			t.Errorf("%s: the same sha as base.py", name)
		}
	}
	if r := got["broken.py"]; r.Parts != nil || r.SHA == "" {
		t.Errorf("a file that does not parse: %+v", r)
	}
	if r := got["data.json"]; r.Parts != nil || r.SHA == "" {
		t.Errorf("data.json: %+v", r)
	}
	if !got["absent.py"].Missing {
		t.Errorf("absent.py: %+v", got["absent.py"])
	}
}

// The qualified names of the parts are those of the code objects
// CPython compiles, whatever the nesting.
func TestFingerprintQualnames(t *testing.T) {
	py := testPython(t)
	install := installed(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "m.py"), []byte(fpBase+`

class D:
    def m(self):
        class E:
            def n(self):
                pass
        return E

if X:
    def dup():
        return 1
else:
    def dup():
        return 2
`), 0o644); err != nil {
		t.Fatal(err)
	}
	got := fingerprints(t, py, install, root, nil, "m.py")["m.py"]
	script := `import sys, types, json
src = open(sys.argv[1]).read()
names = set()
def walk(c):
    if c.co_name not in ("<lambda>", "<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>"):
        names.add(c.co_qualname if c.co_name != "<module>" else "<module>")
    for k in c.co_consts:
        if isinstance(k, types.CodeType):
            walk(k)
walk(compile(src, "m.py", "exec"))
print(json.dumps(sorted(names)))
`
	out, err := exec.Command(py, "-c", script, filepath.Join(root, "m.py")).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "co_qualname") {
			t.Skip("no co_qualname before Python 3.11")
		}
		t.Fatalf("%v\n%s", err, out)
	}
	var codes []string
	if err := json.Unmarshal(out, &codes); err != nil {
		t.Fatal(err)
	}
	// Class bodies are code objects, and module code.
	for _, c := range codes {
		if c == "C" || c == "C.Inner" || c == "D" || c == "D.m.<locals>.E" {
			continue
		}
		if _, ok := got.Parts[c]; !ok {
			t.Errorf("code %q is not a part: %v", c, got.Parts)
		}
	}
	if _, ok := got.Parts["D.m.<locals>.E.n"]; !ok {
		t.Errorf("no part D.m.<locals>.E.n: %v", got.Parts)
	}
}

func TestFingerprintBadInput(t *testing.T) {
	py := testPython(t)
	install := installed(t)
	for _, in := range []string{"", "not json", "[]", `{"root": 3, "files": []}`, `{"root": "/", "files": [{}]}`, `{"root": "/", "files": [{"p": "a", "content_b64": "!!"}]}`} {
		out, stderr, err := runFP(t, py, install, []byte(in))
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("input %q: %v, want exit status 2", in, err)
		}
		if len(out) != 0 || !strings.HasPrefix(stderr, "herd_fp: ") || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "Traceback") {
			t.Errorf("input %q: stdout %q, stderr %q", in, out, stderr)
		}
	}
	// It starts without pytest: -X importtime lists every import.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-X", "importtime", filepath.Join(install, FPName))
	cmd.Stdin = strings.NewReader(`{"root": "/nonexistent", "files": [{"p": "a.py"}]}`)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, line := range strings.Split(errb.String(), "\n") {
		if strings.HasSuffix(line, "| pytest") || strings.HasSuffix(line, "| _pytest") {
			t.Errorf("herd_fp.py imports pytest: %s", line)
		}
	}
}

func sortStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// depsMsg is a message of the worker's, as far as these tests read it.
type depsMsg struct {
	Type string `json:"t"`
	ID   string `json:"id"`
	FP   *struct {
		Path  string            `json:"p"`
		SHA   string            `json:"sha"`
		Parts map[string]string `json:"parts"`
	} `json:"fp"`
	Keys []struct {
		Path string `json:"p"`
		Part string `json:"q"`
	} `json:"keys"`
	Passed string `json:"pp"`
}

// runDeps runs testdata/deps_suite through a real worker with HERD_DEPS
// set to deps ("" leaves it unset) and returns its messages.
func runDeps(t *testing.T, py, deps string, env ...string) []depsMsg {
	t.Helper()
	install := installed(t)
	suite := t.TempDir()
	if err := os.CopyFS(suite, os.DirFS(filepath.Join("testdata", "deps_suite"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("testdata", "deps_run.py"), install, suite)
	cmd.Env = append(os.Environ(), env...)
	for i, kv := range cmd.Env {
		if strings.HasPrefix(kv, "HERD_DEPS=") {
			cmd.Env[i] = "HERD_DEPS_UNUSED="
		}
	}
	if deps != "" {
		cmd.Env = append(cmd.Env, "HERD_DEPS="+deps)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("deps_run.py: %v\n%s", err, errb.String())
	}
	var msgs []depsMsg
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m depsMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// checkDeps checks what the worker recorded of deps_suite's tests.
func checkDeps(t *testing.T, msgs []depsMsg) {
	t.Helper()
	fps := map[string]bool{}
	deps := map[string]map[string]bool{}
	for _, m := range msgs {
		switch m.Type {
		case "fp":
			if m.FP == nil || m.FP.Path == "" || len(m.FP.SHA) != 64 {
				t.Errorf("fp message %+v", m.FP)
				continue
			}
			if fps[m.FP.Path] {
				t.Errorf("fp of %s sent twice", m.FP.Path)
			}
			fps[m.FP.Path] = true
		case "deps":
			set := map[string]bool{}
			for _, k := range m.Keys {
				if !fps[k.Path] {
					t.Errorf("%s: %s named before its fp", m.ID, k.Path)
				}
				if filepath.IsAbs(k.Path) || strings.HasPrefix(k.Path, "..") || strings.Contains(k.Path, "herd_") ||
					strings.Contains(k.Path, "site-packages") || strings.Contains(k.Path, "__pycache__") || strings.Contains(k.Path, ".pytest_cache") {
					t.Errorf("%s: key outside the project: %+v", m.ID, k)
				}
				set[k.Path+"|"+k.Part] = true
			}
			deps[m.ID] = set
		}
	}
	const mod = "tests/test_deps.py::"
	for id, want := range map[string][]string{
		"test_calls_f": {"pkg/mod.py|f", "pkg/mod.py|<module>", "pkg/consts.py|<module>", "pkg/__init__.py|<module>",
			"tests/test_deps.py|<module>", "tests/test_deps.py|test_calls_f", "tests/conftest.py|<module>",
			// Read while the module was collected (it parametrizes test_param).
			"data/params.json|"},
		"test_reads_json": {"data/x.json|", "pkg/mod.py|load"},
		"test_session_first": {"tests/conftest.py|session_data", "tests/conftest.py|_read_session_data",
			"data/session.json|"},
		// The session fixture was set up by test_session_first.
		"test_session_later": {"tests/conftest.py|session_data", "tests/conftest.py|_read_session_data",
			"data/session.json|"},
		"test_writes":   {"tests/conftest.py|plain", "tests/test_deps.py|test_writes"},
		"test_thread":   {"pkg/mod.py|g", "tests/test_deps.py|test_thread"},
		"test_param[1]": {"data/params.json|", "tests/test_deps.py|test_param"},
		// pkg/late.py is imported in the test's body, by a computed name:
		// its body and the code it runs are recorded as they run.
		"test_late_import": {"pkg/late.py|<module>", "pkg/late.py|h", "pkg/late.py|Late.m",
			"tests/test_deps.py|test_late_import"},
	} {
		got, ok := deps[mod+id]
		if !ok {
			t.Errorf("no deps message for %s", id)
			continue
		}
		for _, k := range want {
			if !got[k] {
				t.Errorf("%s: no key %s in %v", id, k, got)
			}
		}
	}
	for id, absent := range map[string][]string{
		"test_calls_f":       {"pkg/mod.py|g", "pkg/mod.py|load", "pkg/unused.py|<module>", "data/x.json|", "pkg/late.py|<module>"},
		"test_writes":        {"data/out.txt|", "data/session.json|"},
		"test_session_later": {"tests/test_deps.py|test_session_first"},
	} {
		for _, k := range absent {
			if deps[mod+id][k] {
				t.Errorf("%s: key %s", id, k)
			}
		}
	}
}

func TestDepsRecorded(t *testing.T) {
	py := testPython(t)
	checkDeps(t, runDeps(t, py, "1"))
}

// With HERD_DEPS unset, or "auto" where only a trace function would do,
// nothing is recorded and no hook is installed.
func TestDepsOff(t *testing.T) {
	py := testPython(t)
	modes := []string{""}
	if out, err := exec.Command(py, "-c", "import sys; print(sys.version_info >= (3, 12))").Output(); err == nil && strings.TrimSpace(string(out)) == "False" {
		modes = append(modes, "auto")
	}
	for _, mode := range modes {
		msgs := runDeps(t, py, mode)
		tracers := false
		for _, m := range msgs {
			if m.Type == "fp" || m.Type == "deps" {
				t.Errorf("HERD_DEPS=%q: a %s message", mode, m.Type)
			}
			if m.Type == "done" && m.ID == "tests/test_deps.py::test_tracers" {
				tracers = strings.Contains(m.Passed, "c")
			}
		}
		if !tracers {
			t.Errorf("HERD_DEPS=%q: test_tracers did not pass: a trace or profile function is set", mode)
		}
	}
}

// pyenvPython returns a pyenv interpreter of the given version that can
// import pytest from Debian's dist-packages, or skips the test.
func pyenvPython(t *testing.T, version string) string {
	t.Helper()
	py := filepath.Join("/root/.pyenv/versions", version, "bin/python3")
	cmd := exec.Command(py, "-c", "import pytest")
	cmd.Env = append(os.Environ(), "PYTHONPATH=/usr/lib/python3/dist-packages")
	if cmd.Run() != nil {
		t.Skipf("no Python %s with pytest", version)
	}
	return py
}

// On Python 3.12 and newer the recorder is sys.monitoring, on by default
// (auto).
func TestDepsMonitoring(t *testing.T) {
	for _, v := range []string{"3.12.1", "3.13.0"} {
		t.Run(v, func(t *testing.T) {
			py := pyenvPython(t, v)
			checkDeps(t, runDeps(t, py, "auto", "PYTHONPATH=/usr/lib/python3/dist-packages"))
		})
	}
}
