package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/history"
	"github.com/herd-run/herd/internal/pyworker"
)

func sampleReport() *Report {
	return &Report{
		Files: 3,
		Findings: []Finding{
			{NodeID: "test_a.py::test_env", File: "test_a.py", Line: 4, Kind: "environ",
				Evidence: `os.environ["X"] = "1"`, Policy: Exclusive, Marker: "@pytest.mark.parallel_unsafe", Scope: ScopeTest},
			{NodeID: "test_a.py::TestC::test_fixture", File: "conftest.py", Line: 9, Kind: "signal",
				Evidence: "signal.signal(signal.SIGUSR1, h)", Policy: Exclusive, Marker: "@pytest.mark.parallel_unsafe",
				Scope: ScopeTest, Fixture: "usr1"},
			{NodeID: "test_a.py::TestC::test_fixture", File: "test_a.py", Line: 20, Kind: "fork",
				Evidence: "os.fork()", Policy: Isolated, Marker: "@pytest.mark.isolated", Scope: ScopeTest, Via: "_spawn"},
			{NodeID: "test_b.py", File: "test_b.py", Line: 2, Kind: "sys_path",
				Evidence: `sys.path.insert(0, "x")`, Policy: Exclusive, Marker: "pytestmark = pytest.mark.parallel_unsafe", Scope: ScopeModule},
			{NodeID: "conftest.py::stale", File: "conftest.py", Line: 15, Kind: "thread",
				Evidence: "t.start()", Policy: Isolated, Marker: "@pytest.mark.isolated", Scope: ScopeFixture, Fixture: "stale"},
		},
		Diagnosed: []Diagnosed{{NodeID: "test_c.py::test_crashy", Summary: "passed alone", Marker: "@pytest.mark.parallel_unsafe"}},
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `test_a.py
  test_a.py::test_env: changes os.environ [environ]
    test_a.py:4: os.environ["X"] = "1"
    not exclusive unless marked: add @pytest.mark.parallel_unsafe (herd then runs it with nothing else running)
  test_a.py::TestC::test_fixture: installs a signal handler in fixture usr1 [signal]
    conftest.py:9: signal.signal(signal.SIGUSR1, h)
    not exclusive unless marked: add @pytest.mark.parallel_unsafe (herd then runs it with nothing else running)
  test_a.py::TestC::test_fixture: forks its process in _spawn [fork]
    test_a.py:20: os.fork()
    not isolated unless marked: add @pytest.mark.isolated (herd then runs it in a fresh worker process of its own)

test_b.py
  test_b.py (at import): changes sys.path [sys_path]
    test_b.py:2: sys.path.insert(0, "x")
    not exclusive unless marked: add pytestmark = pytest.mark.parallel_unsafe to the module (herd then runs its tests with nothing else running)

conftest.py
  conftest.py::stale (fixture; no test found requests it): starts a thread it does not join [thread]
    conftest.py:15: t.start()
    not isolated unless marked: add @pytest.mark.isolated to the tests that use it (herd then runs each in a fresh worker process of its own)

crashed only beside other tests in earlier runs
  test_c.py::test_crashy
    passed alone
    add @pytest.mark.parallel_unsafe

herd doctor: 5 risks in 2 tests, 1 module and 1 unused fixture; 1 test crashed only beside other tests
`
	if got := b.String(); got != want {
		t.Errorf("text output:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTextNothingFound(t *testing.T) {
	var b bytes.Buffer
	if err := (&Report{Files: 1}).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "herd doctor: no risks found in 1 file\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestClosingLine(t *testing.T) {
	one := &Report{Findings: []Finding{{NodeID: "a.py::t", Scope: ScopeTest}}}
	if got, want := one.ClosingLine(), "herd doctor: 1 risk in 1 test"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	seven := &Report{}
	for _, id := range []string{"a::1", "a::1", "a::2", "a::3", "a::4", "a::5", "a::5"} {
		seven.Findings = append(seven.Findings, Finding{NodeID: id, Scope: ScopeTest})
	}
	if got, want := seven.ClosingLine(), "herd doctor: 7 risks in 5 tests"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	diag := &Report{Files: 2, Diagnosed: []Diagnosed{{}, {}}}
	if got, want := diag.ClosingLine(), "herd doctor: no risks found in 2 files; 2 tests crashed only beside other tests"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   int                 `json:"version"`
		Findings  []map[string]any    `json:"findings"`
		Diagnosed []map[string]string `json:"diagnosed"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if doc.Version != 1 || len(doc.Findings) != 5 || len(doc.Diagnosed) != 1 {
		t.Fatalf("got version %d, %d findings, %d diagnosed", doc.Version, len(doc.Findings), len(doc.Diagnosed))
	}
	f := doc.Findings[0]
	for k, want := range map[string]any{
		"nodeid": "test_a.py::test_env", "file": "test_a.py", "line": float64(4), "kind": "environ",
		"evidence": `os.environ["X"] = "1"`, "policy": "exclusive", "marker": "@pytest.mark.parallel_unsafe",
	} {
		if f[k] != want {
			t.Errorf("findings[0].%s = %v, want %v", k, f[k], want)
		}
	}
	if _, ok := f["fixture"]; ok {
		t.Errorf("findings[0] has a fixture key, want it left out when empty")
	}
	if d := doc.Diagnosed[0]; d["nodeid"] != "test_c.py::test_crashy" || d["summary"] != "passed alone" || d["marker"] != "@pytest.mark.parallel_unsafe" {
		t.Errorf("diagnosed[0] = %v", d)
	}

	// Nothing found: empty lists, never null.
	b.Reset()
	if err := (&Report{}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	compact := strings.Join(strings.Fields(b.String()), "")
	if want := `{"version":1,"findings":[],"diagnosed":[],"notes":[]}`; compact != want {
		t.Errorf("empty report: %s, want %s", compact, want)
	}
}

func TestFromRawPoliciesAndCoveredMarkers(t *testing.T) {
	var raw rawOutput
	err := json.Unmarshal([]byte(`{"files":1,"findings":[
		{"nodeid":"t.py::a","file":"t.py","line":1,"kind":"environ","scope":"test","markers":[]},
		{"nodeid":"t.py::b","file":"t.py","line":2,"kind":"environ","scope":"test","markers":["isolated"]},
		{"nodeid":"t.py::c","file":"t.py","line":3,"kind":"fixed_port","scope":"test","markers":["isolated"]},
		{"nodeid":"t.py::d","file":"t.py","line":4,"kind":"thread","scope":"test","markers":["parallel_unsafe"]},
		{"nodeid":"t.py::e","file":"t.py","line":5,"kind":"thread","scope":"test","markers":["isolated"]},
		{"nodeid":"t.py","file":"t.py","line":6,"kind":"chdir","scope":"module","markers":[]},
		{"nodeid":"t.py::f","file":"t.py","line":7,"kind":"unknown","scope":"test","markers":[]}]}`), &raw)
	if err != nil {
		t.Fatal(err)
	}
	r := fromRaw(&raw)
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.NodeID+" "+f.Policy+" "+f.Marker)
	}
	want := []string{
		"t.py::a exclusive @pytest.mark.parallel_unsafe",
		"t.py::c exclusive @pytest.mark.parallel_unsafe",
		"t.py::d isolated @pytest.mark.isolated",
		"t.py exclusive pytestmark = pytest.mark.parallel_unsafe",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRootdir(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "pkg", "tests")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(sub, "test_x.py"), "")
	if got := Rootdir(sub); got != sub {
		t.Errorf("no ini file: rootdir %s, want the path %s", got, sub)
	}
	// A pyproject.toml without a pytest section counts only when nothing
	// better is found.
	write(filepath.Join(root, "pkg", "pyproject.toml"), "[project]\n")
	if got := Rootdir(filepath.Join(sub, "test_x.py")); got != filepath.Join(root, "pkg") {
		t.Errorf("rootdir %s, want %s", got, filepath.Join(root, "pkg"))
	}
	write(filepath.Join(root, "tox.ini"), "[pytest]\n")
	if got := Rootdir(sub); got != root {
		t.Errorf("rootdir %s, want %s (tox.ini with [pytest])", got, root)
	}
}

func TestAddDiagnoses(t *testing.T) {
	root := t.TempDir()
	r := &Report{marked: map[string][]string{"tests/test_a.py::test_marked": {"parallel_unsafe"}}}
	r.AddDiagnoses(map[string]history.Diagnosis{
		"tests/test_a.py::test_beside":     {CrashedAlone: false, Summary: "passed alone", Marker: "@pytest.mark.parallel_unsafe"},
		"tests/test_a.py::test_alone":      {CrashedAlone: true, Summary: "crashes alone too"},
		"tests/test_a.py::test_marked[1]":  {CrashedAlone: false, Summary: "passed alone"},
		"other/test_b.py::test_elsewhere":  {CrashedAlone: false, Summary: "passed alone"},
		"tests/test_a.py::test_no_marker":  {CrashedAlone: false},
		"tests/test_aa.py::test_not_under": {CrashedAlone: false},
	}, root, []string{filepath.Join(root, "tests", "test_a.py")})
	want := []Diagnosed{
		{NodeID: "tests/test_a.py::test_beside", Summary: "passed alone", Marker: "@pytest.mark.parallel_unsafe"},
		{NodeID: "tests/test_a.py::test_no_marker", Summary: "crashed beside other tests and passed when rerun alone", Marker: "@pytest.mark.parallel_unsafe"},
	}
	if len(r.Diagnosed) != len(want) {
		t.Fatalf("diagnosed = %+v, want %+v", r.Diagnosed, want)
	}
	for i := range want {
		if r.Diagnosed[i] != want[i] {
			t.Errorf("diagnosed[%d] = %+v, want %+v", i, r.Diagnosed[i], want[i])
		}
	}
}

// testPython is an interpreter for the analyzer tests (which need no
// pytest): $HERD_PYTHON, else /usr/bin/python3, else python3 on PATH.
func testPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HERD_PYTHON"), "/usr/bin/python3"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	t.Skip("no Python interpreter found")
	return ""
}

// TestAnalyzeLookalikes runs the embedded analyzer on small sources: what it
// must report, and the safe look-alikes it must not.
func TestAnalyzeLookalikes(t *testing.T) {
	py := testPython(t)
	dir := t.TempDir()
	src := `import os, socket, sys, threading
from pathlib import Path
import pytest

def test_env_alias():
    e = os.environ
    e["X"] = "1"

def test_env_copy():
    e = dict(os.environ)
    e["X"] = "1"
    os.environ.copy().update(X="1")

def test_monkeypatch(monkeypatch, tmp_path):
    monkeypatch.setenv("X", "1")
    monkeypatch.chdir(tmp_path)

def test_tmp_write(tmp_path):
    (tmp_path / "x").write_text("x")
    open(tmp_path / "y", "w").close()

def test_read_abs():
    open("/etc/hostname").read()

def test_rel_write():
    open("out.txt", "wb")

def test_backlog_and_port0():
    s = socket.socket()
    s.bind(("", 0))
    s.listen(2048)

def test_server_port():
    s = socket.socket()
    s.bind(("", 9999))

def test_threads():
    t = threading.Thread(target=print)
    t.start()
    t.join()
    u = threading.Thread(target=print)
    u.start()

@pytest.fixture
def fx():
    sys.path.append("x")

class TestK:
    def test_fx(self, fx):
        pass
`
	if err := os.WriteFile(filepath.Join(dir, "test_k.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test_broken.py"), []byte("def test_x(:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Analyze(ctx, Options{Python: py, Script: pyworker.DoctorScript(), Rootdir: dir, Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.NodeID+" "+f.Kind+" "+f.Evidence)
	}
	want := []string{
		`test_k.py::test_env_alias environ e["X"] = "1"`,
		`test_k.py::test_rel_write fixed_path open("out.txt", "wb")`,
		`test_k.py::test_server_port fixed_port s.bind(("", 9999))`,
		`test_k.py::test_threads thread u.start()`,
		`test_k.py::TestK::test_fx sys_path sys.path.append("x")`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "test_broken.py") || strings.Contains(r.Notes[0], "\n") {
		t.Errorf("notes = %q, want one line about test_broken.py", r.Notes)
	}
	if r.Files != 1 {
		t.Errorf("files = %d, want 1 (the broken one is skipped)", r.Files)
	}
}
