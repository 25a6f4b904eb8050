//go:build unix

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// testdata/suites/affected is a package (shop) and its tests: prices read
// from a catalog by a session fixture, a template a function reads, a data
// file a test reads, a module-level tax rate, and a test that reads a file
// through a subprocess, which no recording can see (the planted miss).

const (
	tPrice   = "tests/test_price.py::test_price"
	tTax     = "tests/test_price.py::test_tax"
	tSize    = "tests/test_price.py::test_catalog_size"
	tRender  = "tests/test_render.py::test_render"
	tPlain   = "tests/test_render.py::test_plain"
	tCases   = "tests/test_data.py::test_cases"
	tHidden  = "tests/test_hidden.py::test_notes_through_a_subprocess"
	allTests = 7
)

// affectedReport is what --affected adds to the JSON report.
type affectedReport struct {
	Unaffected int `json:"unaffected"`
	Affected   *struct {
		All      bool     `json:"all"`
		Why      string   `json:"why"`
		Changed  []string `json:"changed"`
		Selected int      `json:"selected"`
		Total    int      `json:"total"`
		Verify   bool     `json:"verify"`
		Misses   []struct {
			NodeID string `json:"nodeid"`
			Was    string `json:"was"`
			Now    string `json:"now"`
		} `json:"misses"`
	} `json:"affected"`
}

type affectedRound struct {
	stdout, stderr string
	code           int
	ran            []string // the tests that ran, sorted
	outcomes       map[string]string
	aff            affectedReport
}

func runAffected(t *testing.T, dir string, args ...string) affectedRound {
	t.Helper()
	stdout, stderr, code, rep := runHerd(t, dir, append([]string{"--affected"}, args...)...)
	if !rep.Present {
		t.Fatalf("herd --affected %v wrote no report (exit %d)\nstdout:\n%s\nstderr:\n%s", args, code, tail(stdout), tail(stderr))
	}
	var r affectedRound
	r.stdout, r.stderr, r.code, r.outcomes = stdout, stderr, code, rep.outcomes()
	if err := json.Unmarshal(rep.raw, &r.aff); err != nil {
		t.Fatalf("report: %v", err)
	}
	for id := range r.outcomes {
		r.ran = append(r.ran, id)
	}
	sort.Strings(r.ran)
	if r.aff.Affected == nil {
		t.Fatalf("the report has no affected section:\n%s", rep.raw)
	}
	if n := len(r.ran) + r.aff.Unaffected; n != r.aff.Affected.Total {
		t.Errorf("%d ran + %d unaffected = %d, want every one of the %d tests counted once", len(r.ran), r.aff.Unaffected, n, r.aff.Affected.Total)
	}
	return r
}

func sorted(ids ...string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

func (r affectedRound) expect(t *testing.T, step string, code int, ids ...string) {
	t.Helper()
	want := sorted(ids...)
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(r.ran, want) {
		t.Errorf("%s: ran %v, want %v\nstdout:\n%s", step, r.ran, want, tail(r.stdout))
	}
	if r.aff.Affected.Total != allTests {
		t.Errorf("%s: %d tests collected, want %d", step, r.aff.Affected.Total, allTests)
	}
	if r.code != code {
		t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", step, r.code, code, tail(r.stdout), tail(r.stderr))
	}
	if r.aff.Unaffected > 0 {
		want := "deselected (unaffected)"
		if !strings.Contains(closingLine(r.stdout), want) {
			t.Errorf("%s: closing line %q does not say %q", step, closingLine(r.stdout), want)
		}
	}
}

func edit(t *testing.T, dir, name, from, to string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), from) {
		t.Fatalf("%s does not contain %q", name, from)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), from, to, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=herd", "-c", "user.email=herd@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// Each rule of --affected, on one project edited step by step as a
// developer would, with the records each run leaves for the next.
func TestAffectedRules(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := copySuite(t, "affected")
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(".pytest_cache/\n__pycache__/\n"), 0o644)
	gitIn(t, dir, "init", "-q")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-qm", "shop")
	// The developer commits each step once its run is over: the next
	// step's changes since HEAD are its own.
	commit := func(msg string) { gitIn(t, dir, "commit", "-qam", msg) }

	r := runAffected(t, dir)
	r.expect(t, "first run (no records)", 0, tPrice, tTax, tSize, tRender, tPlain, tCases, tHidden)
	if !r.aff.Affected.All || !strings.Contains(r.stdout, "affected: all 7 tests run: no dependency records yet") {
		t.Errorf("first run: want every test run for want of records, said so:\n%s", tail(r.stdout))
	}

	r = runAffected(t, dir)
	r.expect(t, "nothing changed", 0)
	if !strings.Contains(r.stdout, "collected 7 items / 7 deselected (unaffected) / 0 selected") {
		t.Errorf("nothing changed: collected line:\n%s", tail(r.stdout))
	}

	edit(t, dir, "shop/price.py", `return "nobody calls this"`, `return "still nobody"`)
	runAffected(t, dir).expect(t, "a function no test runs", 0)
	commit("unused")

	edit(t, dir, "shop/price.py", "return amount * TAX_RATE // 100", "return amount * TAX_RATE // 100 + 0")
	r = runAffected(t, dir)
	r.expect(t, "the body of tax()", 0, tTax)
	if !strings.Contains(r.stdout, "affected: 1 of 7 tests since HEAD (changed: shop/price.py)") {
		t.Errorf("the body of tax(): header:\n%s", tail(r.stdout))
	}
	// Uncommitted changes count until they are committed, as they do for
	// git diff.
	runAffected(t, dir).expect(t, "tax() still uncommitted", 0, tTax)
	commit("tax")
	runAffected(t, dir).expect(t, "tax() committed", 0)

	// A template the code opens: the audit hook saw it.
	edit(t, dir, "shop/templates/page.txt", "Hello", "Hi")
	runAffected(t, dir).expect(t, "a template", 1, tRender)
	commit("template")
	runAffected(t, dir).expect(t, "failed last time", 1, tRender)
	edit(t, dir, "shop/templates/page.txt", "Hi", "Hello")
	runAffected(t, dir).expect(t, "the template fixed", 0, tRender)
	commit("template back")

	// A data file read by a session fixture: every test using it reruns,
	// not only the one that set the fixture up.
	edit(t, dir, "shop/catalog.json", `"pear": 150`, `"pear": 150, "plum": 90`)
	runAffected(t, dir).expect(t, "a session fixture's data file", 1, tPrice, tSize)
	edit(t, dir, "shop/catalog.json", `, "plum": 90`, ``)
	runAffected(t, dir).expect(t, "the data file back", 0, tPrice, tSize)

	// Module-level code: every test whose code imports the module.
	edit(t, dir, "shop/price.py", "TAX_RATE = 20", "TAX_RATE = 25")
	runAffected(t, dir).expect(t, "a module-level constant", 1, tPrice, tTax, tSize)
	edit(t, dir, "shop/price.py", "TAX_RATE = 25", "TAX_RATE = 20")
	runAffected(t, dir).expect(t, "the constant back", 0, tPrice, tTax, tSize)

	// A data file a test opens itself.
	edit(t, dir, "tests/data/cases.json", "[2, 2, 4]", "[2, 2, 5]")
	runAffected(t, dir).expect(t, "a test's data file", 1, tCases)
	edit(t, dir, "tests/data/cases.json", "[2, 2, 5]", "[2, 2, 4]")
	runAffected(t, dir).expect(t, "the test's data file back", 0, tCases)

	// A changed test file: its tests.
	edit(t, dir, "tests/test_render.py", `"x" * 3 == "xxx"`, `"y" * 3 == "yyy"`)
	runAffected(t, dir).expect(t, "a test file", 0, tRender, tPlain)
	commit("test file")

	// A change no record maps: everything, and why.
	edit(t, dir, "conftest.py", "import json", "import json  # edited")
	r = runAffected(t, dir)
	r.expect(t, "conftest.py", 0, tPrice, tTax, tSize, tRender, tPlain, tCases, tHidden)
	if !r.aff.Affected.All || r.aff.Affected.Why != "conftest.py changed" || !strings.Contains(r.stdout, "affected: all 7 tests run: conftest.py changed") {
		t.Errorf("conftest.py: all %v why %q\n%s", r.aff.Affected.All, r.aff.Affected.Why, tail(r.stdout))
	}
	commit("conftest")

	// Against a revision: the records are up to date, but the commits
	// since HEAD~2 changed the test file and conftest.py.
	runAffected(t, dir).expect(t, "committed, nothing changed since HEAD", 0)
	r = runAffected(t, dir, "HEAD~2")
	r.expect(t, "since HEAD~2", 0, tTax, tRender, tPlain, tPrice, tSize, tCases, tHidden)
	if !r.aff.Affected.All || r.aff.Affected.Why != "conftest.py changed" {
		t.Errorf("since HEAD~2: all %v why %q, want all for conftest.py", r.aff.Affected.All, r.aff.Affected.Why)
	}
	edit(t, dir, "shop/price.py", "// 100 + 0", "// 100 + 0 + 0")
	commit("tax again")
	runAffected(t, dir).expect(t, "records made before the commit", 0, tTax)
	runAffected(t, dir, "HEAD~1").expect(t, "since HEAD~1, records up to date", 0, tTax)

	// A new test file.
	os.WriteFile(filepath.Join(dir, "tests", "test_new.py"), []byte("def test_new():\n    pass\n"), 0o644)
	stdout, _, _, rep := runHerd(t, dir, "--affected")
	if got := rep.outcomes(); len(got) != 1 || got["tests/test_new.py::test_new"] != "passed" {
		t.Errorf("a new test file: ran %v\n%s", got, tail(stdout))
	}
	os.Remove(filepath.Join(dir, "tests", "test_new.py"))

	// A bad revision is a usage error, in one line.
	r2 := run(t, dir, baseEnv(), herdBin, "--python", python, "--affected=no-such-rev")
	if r2.Code != 4 || !strings.Contains(r2.Stderr, `herd: --affected: git rev-parse no-such-rev: "no-such-rev" is not a commit`) || strings.Contains(r2.Stderr, "Traceback") {
		t.Errorf("a bad revision: exit %d\n%s", r2.Code, r2.Stderr)
	}
}

// --verify runs every test and names each one --affected would have left
// out whose outcome changed: here a test reads a file through a
// subprocess, which no recording sees.
func TestAffectedVerifyCatchesMiss(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := copySuite(t, "affected")
	gitIn(t, dir, "init", "-q")
	runAffected(t, dir).expect(t, "first run", 0, tPrice, tTax, tSize, tRender, tPlain, tCases, tHidden)

	edit(t, dir, "shop/notes.txt", "Read by", "Written for")
	r := runAffected(t, dir)
	r.expect(t, "the hidden dependency changed", 0)

	r = runAffected(t, dir, "--verify")
	r.expect(t, "--verify", 1, tPrice, tTax, tSize, tRender, tPlain, tCases, tHidden)
	a := r.aff.Affected
	if a == nil || !a.Verify || len(a.Misses) != 1 || a.Misses[0].NodeID != tHidden || a.Misses[0].Was != "passed" || a.Misses[0].Now != "failed" {
		t.Fatalf("--verify: misses %+v, want the subprocess test, passed then failed", a)
	}
	if !strings.Contains(r.stdout, "MISS "+tHidden+" - was passed, now failed") || !strings.Contains(closingLine(r.stdout), "1 miss") {
		t.Errorf("--verify output:\n%s", tail(r.stdout))
	}
	// With no miss, --verify says so and exits as the tests do.
	edit(t, dir, "shop/notes.txt", "Written for", "Read by")
	r = runAffected(t, dir, "--verify")
	r.expect(t, "--verify without a miss", 0, tPrice, tTax, tSize, tRender, tPlain, tCases, tHidden)
	if !strings.Contains(r.stdout, "affected --verify: no misses") {
		t.Errorf("--verify without a miss:\n%s", tail(r.stdout))
	}
	// A recorded dependency deleted: every test runs, and herd says why.
	os.Remove(filepath.Join(dir, "tests", "data", "cases.json"))
	r = runAffected(t, dir)
	r.expect(t, "a dependency deleted", 1, tPrice, tTax, tSize, tRender, tPlain, tCases, tHidden)
	if why := "tests/data/cases.json, which tests depend on, was deleted"; !r.aff.Affected.All || r.aff.Affected.Why != why ||
		!strings.Contains(r.stdout, "affected: all 7 tests run: "+why) {
		t.Errorf("a dependency deleted: all %v why %q\n%s", r.aff.Affected.All, r.aff.Affected.Why, tail(r.stdout))
	}
}
