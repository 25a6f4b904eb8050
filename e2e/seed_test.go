package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestSeedShared: every worker gives hypothesis the run's seed, the header
// prints it, and --seed N repeats the run's examples exactly.
func TestSeedShared(t *testing.T) {
	needHerd(t)
	if res := run(t, t.TempDir(), baseEnv(), python, "-c", "import hypothesis"); res.Code != 0 {
		t.Skip("hypothesis is not installed (Debian: python3-hypothesis)")
	}
	t.Parallel()
	draws := func(args ...string) (string, []string) {
		dir := copySuite(t, "seeded")
		logPath := filepath.Join(t.TempDir(), "draws.jsonl")
		stdout, stderr, code, _ := runHerdEnv(t, dir, []string{"SEEDED_LOG=" + logPath}, args...)
		if code != 0 {
			t.Fatalf("herd exits %d\nstdout:\n%s\nstderr:\n%s", code, tail(stdout), tail(stderr))
		}
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		sort.Strings(lines)
		return stdout, lines
	}
	out1, first := draws("--seed", "1234")
	if !strings.Contains(out1, "herd seed: 1234 for hypothesis") {
		t.Errorf("the header does not print the seed:\n%s", tail(out1))
	}
	_, again := draws("--seed", "1234")
	if strings.Join(first, "\n") != strings.Join(again, "\n") {
		t.Errorf("two runs with --seed 1234 drew different examples (%d and %d draws)", len(first), len(again))
	}
	out3, unseeded := draws()
	m := regexp.MustCompile(`herd seed: (\d+) for hypothesis \(herd --seed (\d+) reproduces it\)`).FindStringSubmatch(out3)
	if m == nil || m[1] != m[2] {
		t.Fatalf("a run without --seed prints no seed to reproduce it:\n%s", tail(out3))
	}
	_, replay := draws("--seed", m[1])
	if strings.Join(replay, "\n") != strings.Join(unseeded, "\n") {
		t.Errorf("--seed %s, the seed the run printed, does not reproduce its examples", m[1])
	}
}
