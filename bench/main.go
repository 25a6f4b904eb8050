//go:build linux

// Command bench measures herd against plain pytest and pytest-xdist on
// generated suites. Run it from the repository:
//
//	go run ./bench            # full: 3 rounds, full-size suites
//	go run ./bench --quick    # 1 round, smaller suites
//
// It builds herd (go build -o <tmp>/herd ./cmd/herd, from the working tree,
// or from a clean `git archive` of --ref), generates the suites in a temp
// dir, runs every tool on every suite in alternating order per round, and
// prints a markdown table per suite and the targets, met or missed.
// BENCHMARKS.md describes the method and the latest results.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const workers = 2

// quietBusy is the CPU use of other processes under which a run may start.
const quietBusy = 0.25

type options struct {
	quick      bool
	rounds     int
	hugeRounds int
	hugeSizes  []int
	suites     map[string]bool
	tools      map[string]bool
	xdistLimit time.Duration
	timeout    time.Duration
	quietWait  time.Duration
	quietTotal time.Duration
	python     string
	ref        string
	workdir    string
	keep       bool
	jsonPath   string
}

var allSuites = []string{"trivial", "skewed", "import-heavy", "module-fixtures", "huge"}

func main() {
	var o options
	var suites, hugeSizes, tools string
	flag.BoolVar(&o.quick, "quick", false, "1 round and smaller suites")
	flag.IntVar(&o.rounds, "rounds", 0, "rounds per suite (default 3; 1 with --quick)")
	flag.IntVar(&o.hugeRounds, "huge-rounds", 1, "rounds for the huge suite (it dominates the run time)")
	flag.StringVar(&hugeSizes, "huge-sizes", "", "sizes of the huge suite, comma-separated (default 25000,50000,100000; --quick 5000,10000,20000)")
	flag.StringVar(&tools, "tools", "plain,xdist,herd", "tools to run, comma-separated")
	flag.StringVar(&suites, "suites", strings.Join(allSuites, ","), "suites to run, comma-separated")
	flag.DurationVar(&o.xdistLimit, "xdist-limit", 5*time.Minute, "huge suite: skip xdist (kill it, or do not start it when its linear extrapolation exceeds this)")
	flag.DurationVar(&o.quietWait, "quiet-wait", 30*time.Second, "before each run, wait up to this long for other processes to use < 0.25 CPU")
	flag.DurationVar(&o.quietTotal, "quiet-budget", 10*time.Minute, "total time all runs together may wait for quiet")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "kill any single run after this long")
	flag.StringVar(&o.python, "python", "/usr/bin/python3", "Python with pytest and pytest-xdist")
	flag.StringVar(&o.ref, "ref", "", "build herd from a clean `git archive` of this revision instead of the working tree")
	flag.StringVar(&o.workdir, "workdir", "", "directory for herd's build, the suites and the logs (default: a new temp dir)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, traces, suites)")
	flag.StringVar(&o.jsonPath, "json", "", "also write every run's measurements to this JSON file")
	flag.Parse()
	if flag.NArg() > 0 {
		fatalf("unexpected arguments: %v", flag.Args())
	}
	if o.rounds == 0 {
		o.rounds = 3
		if o.quick {
			o.rounds = 1
		}
	}
	if o.hugeRounds < 1 {
		o.hugeRounds = 1
	}
	if hugeSizes == "" {
		hugeSizes = "25000,50000,100000"
		if o.quick {
			hugeSizes = "5000,10000,20000"
		}
	}
	for _, s := range strings.Split(hugeSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fatalf("bad --huge-sizes %q", hugeSizes)
		}
		o.hugeSizes = append(o.hugeSizes, n)
	}
	slices.Sort(o.hugeSizes)
	o.suites = map[string]bool{}
	for _, s := range strings.Split(suites, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allSuites, s) {
			fatalf("unknown suite %q (have %s)", s, strings.Join(allSuites, ", "))
		}
		o.suites[s] = true
	}
	o.tools = map[string]bool{}
	for _, t := range strings.Split(tools, ",") {
		t = strings.TrimSpace(t)
		if t != "plain" && t != "xdist" && t != "herd" {
			fatalf("unknown tool %q (have plain, xdist, herd)", t)
		}
		o.tools[t] = true
	}
	if err := run(o); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(2)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// repoRoot is the directory of herd's go.mod.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run bench from herd's repository (no go.mod found)")
	}
	return filepath.Dir(mod), nil
}

func output(dir string, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(%s failed: %v)", name, err)
	}
	return strings.TrimSpace(string(out))
}

// buildHerd builds herd into dir and returns its path and a description of
// what was built.
func buildHerd(root, dir, ref string) (string, string, error) {
	bin := filepath.Join(dir, "herd")
	src := root
	desc := "working tree at " + output(root, "git", "rev-parse", "--short", "HEAD")
	if ref != "" {
		src = filepath.Join(dir, "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return "", "", err
		}
		sh := fmt.Sprintf("git -C %q archive %q | tar -x -C %q", root, ref, src)
		if out, err := exec.Command("bash", "-o", "pipefail", "-c", sh).CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("git archive %s: %v\n%s", ref, err, out)
		}
		desc = fmt.Sprintf("clean export of %s (%s)", ref, output(root, "git", "rev-parse", "--short", ref))
	} else {
		dirty := output(root, "git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench", ":!BENCHMARKS.md")
		if dirty != "" {
			desc += " with uncommitted changes: " + strings.ReplaceAll(dirty, "\n", ";")
		}
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/herd")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build ./cmd/herd in %s: %v\n%s", src, err, out)
	}
	return bin, desc, nil
}

func readFirst(path, prefix string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			_, v, _ := strings.Cut(line, ":")
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// cleanEnv is the environment of every run: ours, without variables that
// would change what pytest or herd do.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PYTEST_ADDOPTS" || k == "PYTEST_PLUGINS" || k == "PYTEST_XDIST_AUTO_NUM_WORKERS" ||
			strings.HasPrefix(k, "HERD_") || k == "BENCH_TRACE" || k == "COLUMNS" || k == "PYTHONDONTWRITEBYTECODE" || k == "PYTHONUNBUFFERED" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "COLUMNS=80")
}

type bench struct {
	o       options
	env     []string
	logDir  string
	plain   Tool
	xdist   Tool
	herd    Tool // -p no:cacheprovider, as plain and xdist
	herdH   Tool // keeps durations in .pytest_cache (skewed suite)
	results []*Result
	out     *report
	waited  time.Duration // time spent waiting for quiet so far
}

func run(o options) error {
	// Descendants orphaned by a run are re-parented to us, so their CPU time
	// is counted and none is left running.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	work := o.workdir
	if work == "" {
		work, err = os.MkdirTemp("", "herd-bench-")
		if err != nil {
			return err
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if !o.keep && o.workdir == "" {
		defer os.RemoveAll(work)
	}
	logf("work dir %s", work)
	herdBin, herdDesc, err := buildHerd(root, work, o.ref)
	if err != nil {
		return err
	}
	b := &bench{o: o, env: cleanEnv(), logDir: filepath.Join(work, "logs"), out: &report{}}
	if err := os.MkdirAll(b.logDir, 0o755); err != nil {
		return err
	}
	py := o.python
	b.plain = Tool{"plain", []string{py, "-m", "pytest", "-p", "no:cacheprovider", "-q"}}
	b.xdist = Tool{"xdist", []string{py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", strconv.Itoa(workers)}}
	b.herd = Tool{"herd", []string{herdBin, "-n", strconv.Itoa(workers), "--python", py, "-q", "-p", "no:cacheprovider"}}
	b.herdH = Tool{"herd", []string{herdBin, "-n", strconv.Itoa(workers), "--python", py, "-q"}}

	started := time.Now()
	r := b.out
	r.printf("# herd benchmark\n\n")
	r.printf("| | |\n| --- | --- |\n")
	r.printf("| command | `go run ./bench %s` |\n", strings.Join(os.Args[1:], " "))
	r.printf("| started | %s |\n", started.Format(time.RFC3339))
	r.printf("| machine | %d CPUs (nproc: %s), %s, %s memory, kernel %s |\n", runtime.NumCPU(), output("", "nproc"),
		readFirst("/proc/cpuinfo", "model name"), readFirst("/proc/meminfo", "MemTotal"), output("", "uname", "-r"))
	r.printf("| go | %s |\n", output("", "go", "version"))
	r.printf("| python | %s |\n", output("", py, "-c",
		"import sys, pytest, xdist; print(sys.version.split()[0] + ', pytest ' + pytest.__version__ + ', xdist ' + xdist.__version__)"))
	r.printf("| herd | %s; `herd --version`: %s |\n", herdDesc, output("", herdBin, "--version"))
	r.printf("| load average at start | %s |\n", loadavg())
	r.printf("| rounds | %d (huge: %d) |\n", o.rounds, o.hugeRounds)
	r.printf("| quiet wait | before each run, up to %s (%s in all) for other processes to use < %.2f CPU |\n", o.quietWait, o.quietTotal, quietBusy)
	r.printf("\nCommands (in each suite's directory):\n\n")
	r.printf("- plain: `%s`\n- xdist: `%s`\n- herd: `%s` (skewed suite: without `-p no:cacheprovider`)\n\n",
		shortArgv(b.plain.Argv), shortArgv(b.xdist.Argv), shortArgv(b.herd.Argv))

	suitesDir := filepath.Join(work, "suites")
	q := o.quick
	pick := func(full, quick int) int {
		if q {
			return quick
		}
		return full
	}
	if o.suites["trivial"] {
		s, err := genTrivial(suitesDir, "trivial", pick(5000, 1000))
		if err != nil {
			return err
		}
		if err := b.simple(s); err != nil {
			return err
		}
	}
	if o.suites["skewed"] {
		if err := b.skewed(suitesDir); err != nil {
			return err
		}
	}
	if o.suites["import-heavy"] {
		s, err := genImportHeavy(suitesDir, "import-heavy", pick(100, 30), 10, 0.05)
		if err != nil {
			return err
		}
		if err := b.simple(s); err != nil {
			return err
		}
	}
	if o.suites["module-fixtures"] {
		s, err := genModuleFixtures(suitesDir, "module-fixtures", pick(20, 10), 10, 0.2)
		if err != nil {
			return err
		}
		if err := b.simple(s); err != nil {
			return err
		}
	}
	if o.suites["huge"] {
		if err := b.huge(suitesDir); err != nil {
			return err
		}
	}
	r.printf("## Targets\n\n")
	r.printf("| target | measured | verdict |\n| --- | --- | --- |\n")
	for _, t := range r.targets {
		r.printf("| %s | %s | %s |\n", t.name, t.measured, t.verdict)
	}
	r.printf("\nFinished in %s (of which %s waiting for other processes to go quiet); load average at end %s.\n",
		time.Since(started).Round(time.Second), b.waited.Round(time.Second), loadavg())
	if o.keep || o.workdir != "" {
		r.printf("Logs and traces: %s\n", b.logDir)
	}
	if o.jsonPath != "" {
		data, err := json.MarshalIndent(b.results, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonPath, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func shortArgv(argv []string) string {
	out := append([]string(nil), argv...)
	out[0] = filepath.Base(out[0])
	if out[0] != "herd" {
		out[0] = argv[0]
	} else {
		out[0] = "herd"
	}
	return strings.Join(out, " ")
}

// warm runs an untimed collection, so every run finds the bytecode caches
// (__pycache__, assertion-rewritten test modules) written.
func (b *bench) warm(s *Suite) {
	logf("%s: warm-up collection", s.Label)
	cmd := exec.Command(b.o.python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only")
	cmd.Dir = s.Dir
	cmd.Env = b.env
	_ = cmd.Run()
	reapOrphans()
}

func (b *bench) one(s *Suite, t Tool, round int, tag string, timeout time.Duration) (*Result, error) {
	if timeout == 0 {
		timeout = b.o.timeout
	}
	limit := min(b.o.quietWait, b.o.quietTotal-b.waited)
	waited, busy := waitQuiet(max(limit, 0), quietBusy)
	b.waited += waited
	if busy >= quietBusy {
		logf("other processes still use %.2f CPUs after waiting %s; running anyway", busy, waited.Round(time.Second))
	}
	res, err := runOne(runSpec{suite: s, tool: t, round: round, timeout: timeout, logDir: b.logDir, tag: tag}, b.env)
	if err != nil {
		return nil, err
	}
	res.BusyBefore = busy
	status := "ok"
	if !res.OK {
		status = fmt.Sprintf("NOT OK (exit %d, passed %d of %d, timed out %v; log %s)", res.Exit, res.Passed, s.Tests, res.TimedOut, res.Log)
	}
	logf("%s round %d %-18s wall %7.2fs cpu %7.2fs ctrl %6.2fs ctrl-rss %4.0fMB foreign %5.2fs %s",
		s.Name, round+1, t.Name+tag, res.Wall, res.CPUTotal, res.CtrlCPU, float64(res.CtrlHWM)/1024, res.Foreign, status)
	b.results = append(b.results, res)
	return res, nil
}

// pick returns the tools selected with --tools.
func (b *bench) pick(tools ...Tool) []Tool {
	var out []Tool
	for _, t := range tools {
		if b.o.tools[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

// order alternates the tools' order from round to round.
func order[T any](xs []T, round int) []T {
	out := append([]T(nil), xs...)
	if round%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// simple runs plain, xdist and herd on s for the configured rounds.
func (b *bench) simple(s *Suite) error {
	b.warm(s)
	runs := map[string][]*Result{}
	for round := 0; round < b.o.rounds; round++ {
		for _, t := range order(b.pick(b.plain, b.xdist, b.herd), round) {
			res, err := b.one(s, t, round, "", 0)
			if err != nil {
				return err
			}
			runs[t.Name] = append(runs[t.Name], res)
		}
	}
	b.out.suiteTable(s, b.o.rounds, runs, []string{"plain", "xdist", "herd"}, nil)
	return nil
}

// skewed runs the skewed suite. herd runs twice per round, the first time
// with no history (.pytest_cache deleted), and the second run is the one
// reported as "herd". A probe measures herd's start-up on the same suite
// shape with nothing to wait for.
func (b *bench) skewed(root string) error {
	s, err := genSkewed(root, "skewed", 20, 10, 0.01, 4, 1.5)
	if err != nil {
		return err
	}
	probe, err := genSkewed(root, "skewed-zero", 20, 10, 0, 4, 0)
	if err != nil {
		return err
	}
	b.warm(s)
	b.warm(probe)
	runs := map[string][]*Result{}
	var ideals []float64
	probeTool := Tool{"herd start-up probe", b.herd.Argv}
	type step struct{ name string }
	for round := 0; round < b.o.rounds; round++ {
		for _, st := range order([]step{{"plain"}, {"xdist"}, {"herd"}}, round) {
			if !b.o.tools[st.name] {
				continue
			}
			switch st.name {
			case "plain", "xdist":
				t := b.plain
				if st.name == "xdist" {
					t = b.xdist
				}
				res, err := b.one(s, t, round, "", 0)
				if err != nil {
					return err
				}
				runs[t.Name] = append(runs[t.Name], res)
			case "herd":
				cache := filepath.Join(s.Dir, ".pytest_cache")
				if err := os.RemoveAll(cache); err != nil {
					return err
				}
				first, err := b.one(s, Tool{"herd 1st run", b.herdH.Argv}, round, "", 0)
				if err != nil {
					return err
				}
				runs["herd 1st run"] = append(runs["herd 1st run"], first)
				second, err := b.one(s, b.herdH, round, "", 0)
				if err != nil {
					return err
				}
				runs["herd"] = append(runs["herd"], second)
				if ideal, ok := idealFromDurations(cache); ok {
					ideals = append(ideals, ideal)
				}
				p, err := b.one(probe, probeTool, round, "", 0)
				if err != nil {
					return err
				}
				runs[probeTool.Name] = append(runs[probeTool.Name], p)
			}
		}
	}
	b.out.suiteTable(s, b.o.rounds, runs, []string{"plain", "xdist", "herd 1st run", "herd", "herd start-up probe"},
		&skewInfo{ideals: ideals, designed: max(s.Longest, s.Sleep/workers)})
	return nil
}

// idealFromDurations reads the durations herd recorded and returns
// max(longest test, total / workers).
func idealFromDurations(cache string) (float64, bool) {
	data, err := os.ReadFile(filepath.Join(cache, "v", "herd", "durations"))
	if err != nil {
		return 0, false
	}
	var secs map[string]float64
	if json.Unmarshal(data, &secs) != nil || len(secs) == 0 {
		return 0, false
	}
	var sum, longest float64
	for _, v := range secs {
		sum += v
		longest = max(longest, v)
	}
	return max(longest, sum/workers), true
}

// huge runs the trivial suite at each of the huge sizes. xdist is skipped
// at a size when it was killed at a smaller one, or when its time at the
// previous size, scaled linearly, exceeds the limit.
func (b *bench) huge(root string) error {
	var xdistPrev float64
	var xdistPrevSize int
	xdistOff := ""
	var rows []hugeRow
	for _, n := range b.o.hugeSizes {
		s, err := genTrivial(root, fmt.Sprintf("huge-%d", n), n)
		if err != nil {
			return err
		}
		s.Name = "huge"
		b.warm(s)
		if xdistOff == "" && xdistPrevSize > 0 {
			if pred := xdistPrev * float64(n) / float64(xdistPrevSize); pred > b.o.xdistLimit.Seconds() {
				xdistOff = fmt.Sprintf("skipped from %d tests: %.0f s at %d tests extrapolates to %.0f s > %s", n, xdistPrev, xdistPrevSize, pred, b.o.xdistLimit)
			}
		}
		runs := map[string][]*Result{}
		for round := 0; round < b.o.hugeRounds; round++ {
			for _, t := range order(b.pick(b.plain, b.xdist, b.herd), round) {
				timeout := time.Duration(0)
				if t.Name == "xdist" {
					if xdistOff != "" {
						continue
					}
					timeout = b.o.xdistLimit
				}
				res, err := b.one(s, t, round, "", timeout)
				if err != nil {
					return err
				}
				if t.Name == "xdist" && res.TimedOut {
					xdistOff = fmt.Sprintf("killed at %d tests after %s", n, b.o.xdistLimit)
				}
				runs[t.Name] = append(runs[t.Name], res)
			}
		}
		if xs := runs["xdist"]; len(xs) > 0 && !xs[0].TimedOut {
			xdistPrev, xdistPrevSize = medianOf(xs, wallOf), n
		}
		b.out.suiteTable(s, b.o.hugeRounds, runs, []string{"plain", "xdist", "herd"}, nil)
		rows = append(rows, hugeRow{n: n, runs: runs})
	}
	b.out.hugeSummary(rows, xdistOff)
	return nil
}
