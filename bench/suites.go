//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The generated suites. Every suite directory gets a pytest.ini (so the
// rootdir is the suite directory, whatever lies above the temp dir) and a
// conftest.py whose hooks append one line per event to the file named by
// BENCH_TRACE when that variable is set:
//
//	start     <pid> <unix time> 0      pytest_sessionstart
//	collected <pid> <unix time> <n>    pytest_collection_finish, n items
//	first     <pid> <unix time> 0      first pytest_runtest_logstart
//	finish    <pid> <unix time> <n>    pytest_sessionfinish; n items collected
//	                                   in all (herd's split collection
//	                                   collects after collection_finish)
//	import    <pid> <unix time> 0      a helper module was imported (import-heavy)
//	fixture   <pid> <unix time> 0      a module fixture was set up (module-fixtures)
//
// The hooks write a handful of lines per process (plus one per import or
// fixture set-up), so they cost nothing measurable.

const iniText = "[pytest]\n"

const conftestText = `import os
import time

_TRACE = os.environ.get("BENCH_TRACE")


def _log(event, n=0):
    if _TRACE:
        with open(_TRACE, "a") as f:
            f.write("%s %d %.6f %d\n" % (event, os.getpid(), time.time(), n))


def pytest_sessionstart(session):
    _log("start")


def pytest_collection_finish(session):
    _log("collected", len(session.items))


_first = [True]


def pytest_runtest_logstart(nodeid, location):
    if _first[0]:
        _first[0] = False
        _log("first")


_items = [0]


def pytest_itemcollected(item):
    _items[0] += 1


def pytest_sessionfinish(session):
    _log("finish", _items[0])
`

// traceSnippet is inlined where a suite file logs an event of its own.
const traceSnippet = `_TRACE = os.environ.get("BENCH_TRACE")
if _TRACE:
    with open(_TRACE, "a") as _f:
        _f.write("%s %d %.6f 0\n" % (EVENT, os.getpid(), time.time()))
`

// Suite is one generated suite directory.
type Suite struct {
	Name  string // suite kind: trivial, skewed, ...
	Label string // name shown in the tables, with the size where it varies
	Dir   string
	Tests int // expected number of tests, all of which pass
	// Sleep is the sum of the tests' own sleeps and Longest the longest one,
	// by construction (the measured values come from herd's durations).
	Sleep, Longest float64
}

func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

func newSuiteDir(root, name string) (string, error) {
	dir := filepath.Join(root, name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(dir, "pytest.ini"), iniText); err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(dir, "conftest.py"), conftestText); err != nil {
		return "", err
	}
	return dir, nil
}

// genTrivial writes n tests that do nothing, 100 to a module.
func genTrivial(root, name string, n int) (*Suite, error) {
	dir, err := newSuiteDir(root, name)
	if err != nil {
		return nil, err
	}
	const perModule = 100
	for m := 0; m*perModule < n; m++ {
		var b strings.Builder
		for t := m * perModule; t < n && t < (m+1)*perModule; t++ {
			fmt.Fprintf(&b, "def test_%06d():\n    pass\n\n\n", t)
		}
		if err := writeFile(filepath.Join(dir, fmt.Sprintf("test_t%05d.py", m)), b.String()); err != nil {
			return nil, err
		}
	}
	return &Suite{Name: name, Label: fmt.Sprintf("%s (%d tests)", name, n), Dir: dir, Tests: n}, nil
}

// genSkewed writes short modules of short tests, then, last in collection
// order, one module of long tests. With shortSleep 0 and longSleep 0 it is
// the same suite shape with nothing to wait for (herd's start-up probe).
func genSkewed(root, name string, shortModules, perModule int, shortSleep float64, long int, longSleep float64) (*Suite, error) {
	dir, err := newSuiteDir(root, name)
	if err != nil {
		return nil, err
	}
	for m := 0; m < shortModules; m++ {
		var b strings.Builder
		b.WriteString("import time\n\n\n")
		for t := 0; t < perModule; t++ {
			fmt.Fprintf(&b, "def test_short_%03d():\n    time.sleep(%g)\n\n\n", t, shortSleep)
		}
		if err := writeFile(filepath.Join(dir, fmt.Sprintf("test_s%03d.py", m)), b.String()); err != nil {
			return nil, err
		}
	}
	var b strings.Builder
	b.WriteString("import time\n\n\n")
	for t := 0; t < long; t++ {
		fmt.Fprintf(&b, "def test_long_%d():\n    time.sleep(%g)\n\n\n", t, longSleep)
	}
	// "zz" sorts after every short module: the long tests come last.
	if err := writeFile(filepath.Join(dir, "test_zz_long.py"), b.String()); err != nil {
		return nil, err
	}
	n := shortModules*perModule + long
	return &Suite{
		Name:    name,
		Label:   fmt.Sprintf("%s (%d x %gs + %d x %gs, long tests last)", name, shortModules*perModule, shortSleep, long, longSleep),
		Dir:     dir,
		Tests:   n,
		Sleep:   float64(shortModules*perModule)*shortSleep + float64(long)*longSleep,
		Longest: longSleep,
	}, nil
}

// genImportHeavy writes modules test_iNNN.py, each importing its own
// helper_NNN.py, which sleeps importSleep seconds at import.
func genImportHeavy(root, name string, modules, perModule int, importSleep float64) (*Suite, error) {
	dir, err := newSuiteDir(root, name)
	if err != nil {
		return nil, err
	}
	helper := fmt.Sprintf("import os\nimport time\n\ntime.sleep(%g)\n\nEVENT = \"import\"\n", importSleep) + traceSnippet
	for m := 0; m < modules; m++ {
		if err := writeFile(filepath.Join(dir, fmt.Sprintf("helper_%03d.py", m)), helper); err != nil {
			return nil, err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "import helper_%03d\n\n\n", m)
		for t := 0; t < perModule; t++ {
			fmt.Fprintf(&b, "def test_%03d():\n    assert helper_%03d.EVENT\n\n\n", t, m)
		}
		if err := writeFile(filepath.Join(dir, fmt.Sprintf("test_i%03d.py", m)), b.String()); err != nil {
			return nil, err
		}
	}
	return &Suite{
		Name:  name,
		Label: fmt.Sprintf("%s (%d modules x %d tests, %gs import each)", name, modules, perModule, importSleep),
		Dir:   dir,
		Tests: modules * perModule,
		Sleep: float64(modules) * importSleep,
	}, nil
}

// genModuleFixtures writes modules with a module-scoped fixture that sleeps
// fixtureSleep seconds, used by each of the module's tests.
func genModuleFixtures(root, name string, modules, perModule int, fixtureSleep float64) (*Suite, error) {
	dir, err := newSuiteDir(root, name)
	if err != nil {
		return nil, err
	}
	for m := 0; m < modules; m++ {
		var b strings.Builder
		b.WriteString("import os\nimport time\n\nimport pytest\n\n\n")
		b.WriteString("@pytest.fixture(scope=\"module\")\ndef resource():\n")
		fmt.Fprintf(&b, "    time.sleep(%g)\n", fixtureSleep)
		b.WriteString("    EVENT = \"fixture\"\n")
		for _, line := range strings.Split(strings.TrimRight(traceSnippet, "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
		b.WriteString("    yield 1\n\n\n")
		for t := 0; t < perModule; t++ {
			fmt.Fprintf(&b, "def test_%03d(resource):\n    assert resource == 1\n\n\n", t)
		}
		if err := writeFile(filepath.Join(dir, fmt.Sprintf("test_f%03d.py", m)), b.String()); err != nil {
			return nil, err
		}
	}
	return &Suite{
		Name:  name,
		Label: fmt.Sprintf("%s (%d modules x %d tests, %gs module fixture)", name, modules, perModule, fixtureSleep),
		Dir:   dir,
		Tests: modules * perModule,
		Sleep: float64(modules) * fixtureSleep,
	}, nil
}
