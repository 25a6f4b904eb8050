package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// needHypothesis skips the test when the suite's interpreter has no
// hypothesis.
func needHypothesis(t *testing.T) {
	t.Helper()
	if res := run(t, t.TempDir(), baseEnv(), python, "-c", "import hypothesis"); res.Code != 0 {
		t.Skip("hypothesis is not installed (Debian: python3-hypothesis)")
	}
}

// logLines reads a log the suites append one JSON value per line to.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestSeedShared: herd --seed N gives hypothesis N in every worker, the
// header says so, and the same N draws the same examples. Without --seed
// herd seeds nothing and says nothing, as pytest: two runs draw different
// examples.
func TestSeedShared(t *testing.T) {
	needHerd(t)
	needHypothesis(t)
	t.Parallel()
	draws := func(args ...string) (string, []string) {
		dir := copySuite(t, "seeded")
		logPath := filepath.Join(t.TempDir(), "draws.jsonl")
		stdout, stderr, code, _ := runHerdEnv(t, dir, []string{"SEEDED_LOG=" + logPath}, args...)
		if code != 0 {
			t.Fatalf("herd exits %d\nstdout:\n%s\nstderr:\n%s", code, tail(stdout), tail(stderr))
		}
		lines := logLines(t, logPath)
		sort.Strings(lines)
		return stdout, lines
	}
	out1, first := draws("--seed", "1234")
	if !strings.Contains(out1, "herd seed: 1234 for hypothesis (herd --seed 1234 reproduces it)") {
		t.Errorf("the header does not print the seed:\n%s", tail(out1))
	}
	_, again := draws("--seed", "1234")
	if strings.Join(first, "\n") != strings.Join(again, "\n") {
		t.Errorf("two runs with --seed 1234 drew different examples (%d and %d draws)", len(first), len(again))
	}
	outA, a := draws()
	outB, b := draws()
	for _, out := range []string{outA, outB} {
		if strings.Contains(out, "herd seed") {
			t.Errorf("a run without --seed prints a seed herd did not give:\n%s", tail(out))
		}
	}
	if strings.Join(a, "\n") == strings.Join(b, "\n") {
		t.Errorf("two runs without --seed drew the same %d examples: herd seeded hypothesis unasked", len(a))
	}
}

// TestHypothesisDatabase: herd leaves Hypothesis its example database, as
// pytest does. A test that fails for some examples is run twice in one
// checkout by pytest, pytest -n 2 and herd: the first run saves the
// falsifying example in .hypothesis/examples, and the second run tries that
// example first. (A seed herd forced on Hypothesis turned the database off.)
// With herd --seed N, Hypothesis draws what it draws under pytest
// --hypothesis-seed=N.
func TestHypothesisDatabase(t *testing.T) {
	needHerd(t)
	needHypothesis(t)
	t.Parallel()
	falsifyingRE := regexp.MustCompile(`Falsifying example: test_below_1000\(\s*(?:E\s+)?x=(\d+),`)
	type runner struct {
		name string
		run  func(dir string, env []string, args ...string) execResult
	}
	runners := []runner{
		{"pytest", func(dir string, env []string, args ...string) execResult {
			return pytestRun(t, dir, env, args...).execResult
		}},
		{"pytest -n 2", func(dir string, env []string, args ...string) execResult {
			return pytestRun(t, dir, env, append([]string{"-n", "2"}, args...)...).execResult
		}},
		{"herd", func(dir string, env []string, args ...string) execResult {
			stdout, stderr, code, rep := runHerdEnv(t, dir, env, args...)
			checkReport(t, rep, 4)
			return execResult{Stdout: stdout, Stderr: stderr, Code: code}
		}},
	}
	falsifying := map[string]string{}
	for _, r := range runners {
		dir := copySuite(t, "hypodb")
		var fals, first [2]string
		for i := 0; i < 2; i++ {
			logPath := filepath.Join(t.TempDir(), "examples.jsonl")
			res := r.run(dir, []string{"HYPODB_LOG=" + logPath})
			if res.Code != 1 || !strings.Contains(res.Stdout, "1 failed, 3 passed") {
				t.Fatalf("%s, run %d: exit %d, want 1 with 1 failed, 3 passed\nstdout:\n%s\nstderr:\n%s", r.name, i+1, res.Code, tail(res.Stdout), tail(res.Stderr))
			}
			m := falsifyingRE.FindStringSubmatch(res.Stdout)
			if m == nil {
				t.Fatalf("%s, run %d: no falsifying example in the output:\n%s", r.name, i+1, tail(res.Stdout))
			}
			fals[i] = m[1]
			first[i] = logLines(t, logPath)[0]
			if strings.Contains(res.Stdout, "herd seed") {
				t.Errorf("%s, run %d: a seed in the header, but none was given:\n%s", r.name, i+1, tail(res.Stdout))
			}
			if i == 0 {
				entries, _ := filepath.Glob(filepath.Join(dir, ".hypothesis", "examples", "*"))
				if len(entries) == 0 {
					t.Errorf("%s: the first run saved nothing in .hypothesis/examples", r.name)
				}
			}
		}
		t.Logf("%s: falsifying x=%s, then x=%s; first example of each run: %s, %s", r.name, fals[0], fals[1], first[0], first[1])
		if first[1] != fals[0] {
			t.Errorf("%s: the second run tried x=%s first, not x=%s, the falsifying example the first run saved", r.name, first[1], fals[0])
		}
		if fals[1] != fals[0] {
			t.Errorf("%s: the second run's falsifying example x=%s differs from the first run's x=%s", r.name, fals[1], fals[0])
		}
		falsifying[r.name] = fals[0]
	}
	if falsifying["herd"] != falsifying["pytest"] || falsifying["herd"] != falsifying["pytest -n 2"] {
		t.Errorf("the falsifying examples differ: %v", falsifying)
	}

	// herd --seed N is pytest --hypothesis-seed=N, in every worker.
	seeded := func(name string, runIt func(dir string, env []string, args ...string) execResult, args ...string) []string {
		logPath := filepath.Join(t.TempDir(), "examples.jsonl")
		res := runIt(copySuite(t, "hypodb"), []string{"HYPODB_LOG=" + logPath}, args...)
		if res.Code != 1 {
			t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), res.Code, tail(res.Stdout))
		}
		return logLines(t, logPath)
	}
	herdDraws := seeded("herd", runners[2].run, "--seed", "4242")
	pytestDraws := seeded("pytest", runners[0].run, "--hypothesis-seed=4242")
	if strings.Join(herdDraws, ",") != strings.Join(pytestDraws, ",") {
		t.Errorf("herd --seed 4242 drew %d examples, pytest --hypothesis-seed=4242 %d other ones", len(herdDraws), len(pytestDraws))
	}
}

// randomlyRun is one run of the randomly suite: the seed its header
// printed and the seed each process took.
type randomlyRun struct {
	res     execResult
	headers []string          // every "Using --randomly-seed=N" value
	seeds   map[string]string // worker id ("main" for pytest's own process) to seed
}

var randomlyHeaderRE = regexp.MustCompile(`(?m)^Using --randomly-seed=(\S+)$`)

// TestRandomlySeed: pytest-randomly (a stand-in with its option and its
// way to share a seed with xdist workers; Debian has no package of it)
// works under herd as under pytest and pytest -n 2. Without --seed every
// worker takes one seed, drawn per run, from workerinput as xdist's workers
// do, and only the plugin's own header line prints it. --randomly-seed
// reaches the plugin as given, also with herd --seed. herd --seed N gives
// the plugin N and says so.
func TestRandomlySeed(t *testing.T) {
	needHerd(t)
	t.Parallel()
	herdRun := func(args ...string) randomlyRun {
		dir := copySuite(t, "randomly")
		logPath := filepath.Join(t.TempDir(), "seeds.jsonl")
		stdout, stderr, code, rep := runHerdEnv(t, dir, []string{"RANDOMLY_LOG=" + logPath}, args...)
		checkReport(t, rep, 4)
		return readRandomly(t, execResult{stdout, stderr, code}, logPath)
	}
	pytestRunR := func(args ...string) randomlyRun {
		dir := copySuite(t, "randomly")
		logPath := filepath.Join(t.TempDir(), "seeds.jsonl")
		res := pytestRun(t, dir, []string{"RANDOMLY_LOG=" + logPath}, args...)
		return readRandomly(t, res.execResult, logPath)
	}
	// one checks that the run passed, printed one seed in its header and
	// gave every process that seed, and returns it.
	one := func(name string, r randomlyRun, wantWho ...string) string {
		t.Helper()
		if r.res.Code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", name, r.res.Code, tail(r.res.Stdout), tail(r.res.Stderr))
		}
		if len(r.headers) != 1 {
			t.Fatalf("%s: the header prints %d seeds %v, want one:\n%s", name, len(r.headers), r.headers, tail(r.res.Stdout))
		}
		for _, w := range wantWho {
			if _, ok := r.seeds[w]; !ok {
				t.Errorf("%s: %s logged no seed (logged: %v)", name, w, r.seeds)
			}
		}
		for who, s := range r.seeds {
			if s != r.headers[0] {
				t.Errorf("%s: %s took seed %s, the header says %s", name, who, s, r.headers[0])
			}
		}
		return r.headers[0]
	}
	noHerdSeed := func(name string, r randomlyRun) {
		t.Helper()
		if strings.Contains(r.res.Stdout, "herd seed") {
			t.Errorf("%s: herd printed a seed it was not asked for:\n%s", name, tail(r.res.Stdout))
		}
	}

	one("pytest", pytestRunR(), "main")
	one("pytest -n 2", pytestRunR("-n", "2"), "main", "gw0", "gw1")
	h1 := herdRun()
	s1 := one("herd", h1, "gw0", "gw1")
	noHerdSeed("herd", h1)
	h2 := herdRun()
	if s2 := one("herd, again", h2, "gw0", "gw1"); s2 == s1 {
		t.Errorf("two herd runs took the same seed %s; pytest draws one per run", s1)
	}
	noHerdSeed("herd, again", h2)

	// The plugin's own option: what the user gave, as under pytest -n 2.
	if s := one("pytest -n 2 --randomly-seed=77", pytestRunR("-n", "2", "--randomly-seed=77"), "gw0", "gw1"); s != "77" {
		t.Errorf("pytest -n 2 --randomly-seed=77 took %s", s)
	}
	h := herdRun("--randomly-seed=77")
	if s := one("herd --randomly-seed=77", h, "gw0", "gw1"); s != "77" {
		t.Errorf("herd --randomly-seed=77 took %s", s)
	}
	noHerdSeed("herd --randomly-seed=77", h)

	// herd --seed N: asked, herd gives the plugin N and says so; the
	// plugin's own option still wins.
	h = herdRun("--seed", "5")
	if s := one("herd --seed 5", h, "gw0", "gw1"); s != "5" {
		t.Errorf("herd --seed 5 gave pytest-randomly %s", s)
	}
	if !regexp.MustCompile(`(?m)^herd seed: 5 for pytest-randomly\b`).MatchString(h.res.Stdout) {
		t.Errorf("herd --seed 5 does not say it seeded pytest-randomly:\n%s", tail(h.res.Stdout))
	}
	h = herdRun("--seed", "5", "--randomly-seed=77")
	if s := one("herd --seed 5 --randomly-seed=77", h, "gw0", "gw1"); s != "77" {
		t.Errorf("herd --seed 5 --randomly-seed=77 gave pytest-randomly %s", s)
	}
	if strings.Contains(h.res.Stdout, "for pytest-randomly") {
		t.Errorf("herd says it seeded pytest-randomly, which had its own --randomly-seed:\n%s", tail(h.res.Stdout))
	}
}

func readRandomly(t *testing.T, res execResult, logPath string) randomlyRun {
	t.Helper()
	r := randomlyRun{res: res, seeds: map[string]string{}}
	for _, m := range randomlyHeaderRE.FindAllStringSubmatch(res.Stdout, -1) {
		r.headers = append(r.headers, m[1])
	}
	if _, err := os.Stat(logPath); err != nil {
		return r
	}
	for _, l := range logLines(t, logPath) {
		var entry []json.RawMessage
		if err := json.Unmarshal([]byte(l), &entry); err != nil || len(entry) != 2 {
			t.Fatalf("bad seed log line %q", l)
		}
		var who string
		json.Unmarshal(entry[0], &who)
		seed := string(entry[1])
		if prev, ok := r.seeds[who]; ok && prev != seed {
			t.Errorf("%s took two seeds, %s and %s", who, prev, seed)
		}
		r.seeds[who] = seed
	}
	return r
}
