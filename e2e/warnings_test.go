//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestWarningsInPytestOrder: the warnings summary of herd -n 2 is serial
// pytest's, in the same order (what files raise while imported, in
// collection order, then the tests', in collection order), although the
// workers import and run the files in another order and report them as
// they come.
func TestWarningsInPytestOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{}
	for i, f := range []string{"a", "b", "c", "d"} {
		files["test_"+f+".py"] = fmt.Sprintf(`import warnings, time
warnings.warn("import of %[1]s")

def test_1():
    time.sleep(%.1[2]f)
    warnings.warn("test %[1]s 1")

def test_2():
    warnings.warn(UserWarning("test %[1]s 2"))
`, f, 0.6-0.2*float64(i))
	}
	writeFiles(t, dir, files)
	py := pytestRun(t, dir, nil, "-q")
	want := warningsSection(py.Stdout)
	if py.Code != 0 || strings.Count(want, "UserWarning: ") != 12 {
		t.Fatalf("pytest: exit %d, warnings section:\n%s", py.Code, want)
	}
	for round := 1; round <= 2; round++ {
		stdout, _, code, _ := runHerd(t, dir, "-q", "-p", "no:cacheprovider")
		if got := warningsSection(stdout); code != 0 || got != want {
			t.Errorf("round %d: exit %d; herd's warnings summary:\n%s\npytest's:\n%s", round, code, got, want)
		}
	}
}
