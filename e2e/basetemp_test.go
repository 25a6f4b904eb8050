//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// baseTempSuite writes into tmp_path from every test and logs where.
var baseTempSuite = map[string]string{
	"test_tmp_a.py": baseTempTests,
	"test_tmp_b.py": baseTempTests,
}

// baseTempTests take long enough that every worker gets some.
const baseTempTests = `import os, time, pytest

@pytest.mark.parametrize("i", range(4))
def test_write(tmp_path, i):
    (tmp_path / "mark").write_text(os.environ.get("PYTEST_XDIST_WORKER", "main"))
    with open(os.environ["TMP_LOG"], "a") as f:
        f.write(str(tmp_path) + "\n")
    time.sleep(0.3)
`

// TestBaseTempAsXdist: workers get pytest's base temporary directory as
// pytest-xdist's workers get it, pytest-N/popen-gwK, one numbered
// directory per run; and no worker deletes another's tree at session end.
// Before, every worker made a numbered directory of its own and, at exit,
// deleted the numbered directories older than the newest three, so the
// last worker of a run spent its session end deleting trees other workers
// (of this run, with four workers, or the last runs) had made: on pytest's
// own suite that left a worker "hung" after its last test until herd's
// shutdown timeout killed it.
func TestBaseTempAsXdist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, baseTempSuite)
	tempRoot := t.TempDir()
	user := os.Getenv("USER")
	if user == "" {
		user = os.Getenv("LOGNAME")
	}
	root := filepath.Join(tempRoot, "pytest-of-"+user)
	if user == "" {
		root = filepath.Join(tempRoot, "pytest-of-*")
	}
	pathRE := regexp.MustCompile(`^` + regexp.QuoteMeta(tempRoot) + `/pytest-of-[^/]+/pytest-(\d+)/popen-gw(\d+)/test_write_\d_\d+$`)

	// logged runs one command's tests and returns the tmp_path each used,
	// after checking each still holds what its test wrote.
	logged := func(name string, run func(env []string)) (numbers map[int]bool, workers map[string]bool) {
		t.Helper()
		log := filepath.Join(t.TempDir(), "tmp.log")
		run([]string{"PYTEST_DEBUG_TEMPROOT=" + tempRoot, "TMP_LOG=" + log})
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatalf("%s: no test logged its tmp_path: %v", name, err)
		}
		lines := strings.Fields(string(data))
		if len(lines) != 8 {
			t.Fatalf("%s: %d tests logged a tmp_path, want 8", name, len(lines))
		}
		numbers, workers = map[int]bool{}, map[string]bool{}
		for _, p := range lines {
			m := pathRE.FindStringSubmatch(p)
			if m == nil {
				t.Fatalf("%s: tmp_path %s is not <root>/pytest-N/popen-gwK/<test> as under pytest-xdist", name, p)
			}
			n, _ := strconv.Atoi(m[1])
			numbers[n] = true
			workers["gw"+m[2]] = true
			if _, err := os.Stat(filepath.Join(p, "mark")); err != nil {
				t.Errorf("%s: %s was deleted by the end of the run: %v", name, p, err)
			}
		}
		return numbers, workers
	}

	numbers, _ := logged("pytest -n 2", func(env []string) {
		r := pytestRun(t, dir, env, "-n", "2")
		if r.Code != 0 {
			t.Fatalf("pytest -n 2: exit %d\n%s", r.Code, tail(r.Stdout))
		}
	})
	if len(numbers) != 1 {
		t.Fatalf("pytest -n 2 used numbered directories %v, want one", numbers)
	}
	last := -1
	for n := range numbers {
		last = n
	}
	for round := 1; round <= 4; round++ {
		numbers, workers := logged("herd -n 4", func(env []string) {
			stdout, _, code, rep := runHerdEnv(t, dir, env, "-n", "4", "-p", "no:cacheprovider")
			checkReport(t, rep, 8)
			if code != 0 || len(rep.Stalls) != 0 {
				t.Fatalf("round %d: exit %d, %d stalls\n%s", round, code, len(rep.Stalls), tail(stdout))
			}
		})
		if len(numbers) != 1 {
			t.Fatalf("round %d: herd's workers used numbered directories %v, want one per run as under xdist", round, numbers)
		}
		for n := range numbers {
			if n != last+1 {
				t.Errorf("round %d: pytest-%d after pytest-%d: want the next number", round, n, last)
			}
			last = n
		}
		if len(workers) < 2 {
			t.Errorf("round %d: only %v ran tests: the check needs workers side by side", round, workers)
		}
	}
	// pytest's retention: the newest three numbered directories stay.
	entries, _ := filepath.Glob(filepath.Join(root, "pytest-[0-9]*"))
	var kept []string
	for _, e := range entries {
		kept = append(kept, filepath.Base(e))
	}
	slices.Sort(kept)
	want := []string{"pytest-" + strconv.Itoa(last-2), "pytest-" + strconv.Itoa(last-1), "pytest-" + strconv.Itoa(last)}
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Errorf("numbered directories after the runs: %v, want the newest three %v", kept, want)
	}
}
