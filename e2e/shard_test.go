//go:build unix

package e2e

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/herd-run/herd/internal/report"
)

// shardLineRE is the header line of a --shard run.
var shardLineRE = regexp.MustCompile(`(?m)^shard (\d+)/(\d+): (\d+) of (\d+) tests \((.*); partition ([0-9a-f]+)\)$`)

// shardRun is one herd run of a suite, in its own copy of the suite as if
// on its own machine.
type shardRun struct {
	res    execResult
	report jsonReport
	path   string // the --report-json file
	// From the "shard K/N: M of T tests" line.
	kept, total int
	fingerprint string
	durations   string
}

// runSuiteCopy runs herd with args on a fresh copy of suite, writing its
// JSON report into out/name.json.
func runSuiteCopy(t *testing.T, suite, out, name string, env []string, args ...string) shardRun {
	t.Helper()
	dir := copySuite(t, suite)
	path := filepath.Join(out, name+".json")
	full := append([]string{"--python", python, "--report-json", path}, args...)
	res := run(t, dir, baseEnv(env...), herdBin, full...)
	t.Logf("herd %s (%s): exit %d", strings.Join(args, " "), name, res.Code)
	sr := shardRun{res: res, path: path}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: herd wrote no report: %v\nstdout:\n%s\nstderr:\n%s", name, err, tail(res.Stdout), tail(res.Stderr))
	}
	if err := json.Unmarshal(data, &sr.report); err != nil {
		t.Fatalf("%s: bad JSON report: %v", name, err)
	}
	sr.report.Present = true
	if m := shardLineRE.FindStringSubmatch(res.Stdout); m != nil {
		sr.kept, _ = strconv.Atoi(m[3])
		sr.total, _ = strconv.Atoi(m[4])
		sr.durations, sr.fingerprint = m[5], m[6]
	}
	return sr
}

// shardAndMerge runs suite unsharded and as n shards (each on its own copy,
// as on n machines), checks that every test ran in exactly one shard,
// merges the shards' reports with `herd report merge` and checks that the
// merged run equals the unsharded one: every test's outcome, the closing
// line's counts and the exit code.
func shardAndMerge(t *testing.T, suite string, n int, env []string, args ...string) (full shardRun, shards []shardRun, merged execResult, out string) {
	t.Helper()
	needHerd(t)
	out = t.TempDir()
	full = runSuiteCopy(t, suite, out, "full", env, args...)
	checkReport(t, full.report, -1)
	fullOutcomes := full.report.outcomes()

	in := map[string][]int{}
	fingerprints := map[string]bool{}
	sum := 0
	for k := 1; k <= n; k++ {
		s := runSuiteCopy(t, suite, out, fmt.Sprintf("shard%d", k), env, append(append([]string{}, args...), "--shard", fmt.Sprintf("%d/%d", k, n))...)
		shards = append(shards, s)
		checkReport(t, s.report, s.kept)
		if s.fingerprint == "" {
			t.Fatalf("shard %d/%d: no shard line in the header:\n%s", k, n, tail(s.res.Stdout))
		}
		if !strings.Contains(s.res.Stdout, fmt.Sprintf("shard %d/%d: %d of %d tests", k, n, s.kept, s.total)) {
			t.Errorf("shard %d/%d: header line not in the form \"shard K/N: M of T tests\"", k, n)
		}
		fingerprints[s.fingerprint] = true
		if s.total != full.report.Collected {
			t.Errorf("shard %d/%d split %d tests; the unsharded run collected %d", k, n, s.total, full.report.Collected)
		}
		// The tests of other shards count as deselected, with those -k or
		// -m deselected.
		if d := s.total - s.kept + lineCounts(closingLine(full.res.Stdout))["deselected"]; d > 0 && !strings.Contains(s.res.Stdout, fmt.Sprintf("%d deselected", d)) {
			t.Errorf("shard %d/%d: the %d tests of other shards are not counted as deselected:\n%s", k, n, d, tail(s.res.Stdout))
		}
		sum += s.kept
		for _, tc := range s.report.Tests {
			if tc.Worker == "" && tc.Outcome == "skipped" && !strings.Contains(tc.NodeID, "::") {
				continue // a module skipped at collection: every shard reports it
			}
			in[tc.NodeID] = append(in[tc.NodeID], k)
		}
	}
	if len(fingerprints) != 1 {
		t.Errorf("the shards computed different partitions: fingerprints %v", fingerprints)
	}
	if sum != full.report.Collected {
		t.Errorf("the shards ran %d tests in all; the unsharded run collected %d", sum, full.report.Collected)
	}
	var bad []string
	for id, o := range fullOutcomes {
		if o == "skipped" && !strings.Contains(id, "::") {
			continue
		}
		if len(in[id]) != 1 {
			bad = append(bad, fmt.Sprintf("%s in shards %v", id, in[id]))
		}
	}
	for id := range in {
		if _, ok := fullOutcomes[id]; !ok {
			bad = append(bad, id+" only in the shards")
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Fatalf("tests not in exactly one shard:\n  %s", strings.Join(limit(bad, 20), "\n  "))
	}

	// Merge.
	margs := []string{"report", "merge", "--report-json", filepath.Join(out, "merged.json"),
		"--junitxml", filepath.Join(out, "merged.xml"), "--report-html", filepath.Join(out, "merged.html")}
	for _, s := range shards {
		margs = append(margs, s.path)
	}
	merged = run(t, out, baseEnv("COLUMNS=80"), herdBin, margs...)
	t.Logf("herd report merge: exit %d", merged.Code)
	if merged.Code != full.res.Code {
		t.Errorf("herd report merge exits %d, the unsharded run %d\nstdout:\n%s\nstderr:\n%s", merged.Code, full.res.Code, tail(merged.Stdout), merged.Stderr)
	}
	gotLine, wantLine := closingLine(merged.Stdout), closingLine(full.res.Stdout)
	if g, w := lineCounts(gotLine), lineCounts(wantLine); !equalCounts(g, w) || !strings.HasPrefix(strings.Trim(gotLine, "= "), strings.SplitN(strings.Trim(wantLine, "= "), " in ", 2)[0]+" in ") {
		t.Errorf("merged closing line differs from the unsharded run's:\n  merged:    %q\n  unsharded: %q", gotLine, wantLine)
	}
	if got, want := collectedLine(merged.Stdout), collectedLine(full.res.Stdout); got != want {
		t.Errorf("merged collected line %q, the unsharded run's %q", got, want)
	}
	var mrep jsonReport
	data, err := os.ReadFile(filepath.Join(out, "merged.json"))
	if err != nil {
		t.Fatalf("herd report merge wrote no --report-json: %v", err)
	}
	if err := json.Unmarshal(data, &mrep); err != nil {
		t.Fatal(err)
	}
	mrep.Present = true
	checkReport(t, mrep, full.report.Collected)
	got := mrep.outcomes()
	var diffs []string
	for id, want := range fullOutcomes {
		if got[id] != want {
			diffs = append(diffs, fmt.Sprintf("%s: merged %q, unsharded %q", id, got[id], want))
		}
	}
	if len(got) != len(fullOutcomes) {
		diffs = append(diffs, fmt.Sprintf("merged has %d tests, unsharded %d", len(got), len(fullOutcomes)))
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("merged outcomes differ from the unsharded run's:\n  %s", strings.Join(limit(diffs, 20), "\n  "))
	}
	// Workers are renamed after their shard, which ran the test.
	for _, tc := range mrep.Tests {
		if tc.Worker == "" {
			continue
		}
		k := in[tc.NodeID]
		if len(k) == 1 && !strings.HasPrefix(tc.Worker, fmt.Sprintf("shard%d/gw", k[0])) {
			t.Errorf("merged: %s ran in shard %d but its worker is %q", tc.NodeID, k[0], tc.Worker)
			break
		}
	}
	// The JUnit XML parses and has every test; the HTML report exists.
	xmlData, err := os.ReadFile(filepath.Join(out, "merged.xml"))
	if err != nil {
		t.Fatalf("herd report merge wrote no --junitxml: %v", err)
	}
	var suites struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(xmlData, &suites); err != nil || len(suites.Suites) != 1 {
		t.Errorf("merged JUnit XML does not parse as one testsuite: %v", err)
	}
	if st, err := os.Stat(filepath.Join(out, "merged.html")); err != nil || st.Size() == 0 {
		t.Errorf("herd report merge wrote no --report-html: %v", err)
	}
	return full, shards, merged, out
}

// collectedLine is pytest's "collected N items ..." line in stdout.
func collectedLine(stdout string) string {
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "collected ") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// TestShardBigSuite splits the 2,040-test suite in three, by module (it has
// 40 modules, at least 4 per shard), and merges the shards' reports.
func TestShardBigSuite(t *testing.T) {
	_, shards, _, _ := shardAndMerge(t, "big", 3, nil, "-n", "1")
	for _, s := range shards {
		// By module: no module is split across shards.
		if s.kept == 0 {
			t.Errorf("shard with no tests: %+v", s.report.Summary)
		}
	}
	mods := map[string]int{}
	for k, s := range shards {
		for _, tc := range s.report.Tests {
			mod, _, _ := strings.Cut(tc.NodeID, "::")
			if prev, ok := mods[mod]; ok && prev != k {
				t.Errorf("module %s is split across shards %d and %d", mod, prev+1, k+1)
				delete(mods, mod)
				continue
			}
			mods[mod] = k
		}
	}
}

// TestShardSemantics splits the semantics suite (doctests, module-scoped
// errors, a module skipped at import, a warning, teardown errors after
// failures) in three, by test, and merges the shards: the merged closing
// line has the unsharded run's warning and error counts.
func TestShardSemantics(t *testing.T) {
	_, _, merged, _ := shardAndMerge(t, "semantics", 3, nil, "-n", "1")
	if !strings.Contains(merged.Stdout, "warnings summary") || !strings.Contains(merged.Stdout, "short test summary info") {
		t.Errorf("merged output lacks the warnings summary or the short test summary:\n%s", tail(merged.Stdout))
	}
}

// TestShardGroups: a group's members run in one shard. With -k, the
// merged closing line counts the tests -k deselected, as the unsharded run
// does, and not those each shard left to the others.
func TestShardGroups(t *testing.T) {
	full, shards, merged, _ := shardAndMerge(t, "policies", 3, []string{"POLICY_NAP_SCALE=0.05"}, "-n", "2", "-k", "db or g1 or plain_a")
	if d := lineCounts(closingLine(full.res.Stdout))["deselected"]; d == 0 || lineCounts(closingLine(merged.Stdout))["deselected"] != d {
		t.Errorf("-k deselected %d tests; merged closing line %q", d, closingLine(merged.Stdout))
	}
	where := map[string]map[int]bool{}
	for k, s := range shards {
		for _, tc := range s.report.Tests {
			g := policyKind(tc.NodeID)
			if g != "db" && g != "g1" {
				continue
			}
			if where[g] == nil {
				where[g] = map[int]bool{}
			}
			where[g][k+1] = true
		}
	}
	for _, g := range []string{"db", "g1"} {
		if len(where[g]) != 1 {
			t.Errorf("group %s ran in shards %v, want one", g, where[g])
		}
	}
}

// TestShardEmptyAndUsage: a shard with nothing to run passes; bad --shard
// values are usage errors.
func TestShardEmptyAndUsage(t *testing.T) {
	needHerd(t)
	out := t.TempDir()
	s := runSuiteCopy(t, "semantics", out, "empty", nil, "-n", "1", "--shard", "70/70")
	if s.res.Code != 0 || s.kept != 0 || s.total == 0 || s.total >= 70 {
		t.Errorf("--shard 70/70 of the %d-test semantics suite: exit %d, %d tests kept; want exit 0 and none\n%s", s.total, s.res.Code, s.kept, tail(s.res.Stdout))
	}
	if !strings.Contains(s.res.Stdout, "shard 70/70 is empty") {
		t.Errorf("an empty shard does not say so:\n%s", tail(s.res.Stdout))
	}
	dir := copySuite(t, "semantics")
	for _, v := range []string{"0/3", "4/3", "3", "a/b", "1/0"} {
		res := run(t, dir, baseEnv(), herdBin, "--python", python, "--shard", v)
		lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
		if res.Code != 4 || len(lines) != 1 || !strings.Contains(lines[0], "--shard") {
			t.Errorf("--shard %s: exit %d, stderr %q; want exit 4 and one line naming --shard", v, res.Code, res.Stderr)
		}
	}
}

// TestShardDurations: `herd durations merge` merges two files (later wins),
// and a .test_durations in the rootdir weighs the tests: a test recorded as
// very long gets a shard of its own.
func TestShardDurations(t *testing.T) {
	needHerd(t)
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	b := filepath.Join(dir, ".test_durations")
	os.WriteFile(a, []byte(`{"test_cart.py::test_a": 1.5, "test_cart.py::test_b": 2.0}`), 0o644)
	os.WriteFile(b, []byte(`{"test_cart.py::test_b": 3.0, "test_text.py::test_c": 0.25}`), 0o644)
	res := run(t, dir, baseEnv(), herdBin, "durations", "merge", a, b)
	want := "{\n  \"test_cart.py::test_a\": 1.5,\n  \"test_cart.py::test_b\": 3,\n  \"test_text.py::test_c\": 0.25\n}\n"
	if res.Code != 0 || res.Stdout != want {
		t.Errorf("herd durations merge: exit %d\n%s\nwant\n%s\nstderr: %s", res.Code, res.Stdout, want, res.Stderr)
	}
	outPath := filepath.Join(dir, "out", "merged.json")
	res = run(t, dir, baseEnv(), herdBin, "durations", "merge", a, b, "-o", outPath)
	if got, _ := os.ReadFile(outPath); res.Code != 0 || string(got) != want {
		t.Errorf("herd durations merge -o: exit %d, file %q", res.Code, got)
	}
	res = run(t, dir, baseEnv(), herdBin, "durations", "merge", a, filepath.Join(dir, "missing.json"))
	if res.Code != 4 || !strings.Contains(res.Stderr, "missing.json") {
		t.Errorf("herd durations merge of a missing file: exit %d, stderr %q; want 4 naming it", res.Code, res.Stderr)
	}

	// One test of the semantics suite recorded as 100s: it is a shard
	// alone.
	suite := copySuite(t, "semantics")
	list := run(t, suite, baseEnv(), python, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider")
	var ids []string
	for _, l := range strings.Split(list.Stdout, "\n") {
		if strings.Contains(l, "::") {
			ids = append(ids, strings.TrimSpace(l))
		}
	}
	if len(ids) < 4 {
		t.Fatalf("the semantics suite lists %d tests:\n%s", len(ids), list.Stdout)
	}
	durs := map[string]float64{}
	for _, id := range ids {
		durs[id] = 0.01
	}
	heavy := ids[len(ids)/2]
	durs[heavy] = 100
	data, _ := json.Marshal(durs)
	os.WriteFile(filepath.Join(suite, ".test_durations"), data, 0o644)
	for k := 1; k <= 2; k++ {
		repPath := filepath.Join(dir, fmt.Sprintf("shard%d.json", k))
		res := run(t, suite, baseEnv(), herdBin, "--python", python, "-n", "1", "-p", "no:cacheprovider",
			"--report-json", repPath, "--shard", fmt.Sprintf("%d/2", k))
		m := shardLineRE.FindStringSubmatch(res.Stdout)
		if m == nil {
			t.Fatalf("shard %d/2: no shard line:\n%s", k, tail(res.Stdout))
		}
		if !strings.Contains(m[5], fmt.Sprintf("%d durations known, from .test_durations", len(ids))) {
			t.Errorf("shard %d/2 header %q does not say the durations came from .test_durations", k, m[0])
		}
		got, err := reportIDs(repPath)
		if err != nil {
			t.Fatal(err)
		}
		hasHeavy := false
		n := 0
		for _, id := range got {
			hasHeavy = hasHeavy || id == heavy
			if strings.Contains(id, "::") { // not a module skipped at import
				n++
			}
		}
		got = got[:n]
		switch {
		case hasHeavy && len(got) != 1:
			t.Errorf("shard %d/2 holds the 100s test and %d others", k, len(got)-1)
		case !hasHeavy && len(got) != len(ids)-1:
			t.Errorf("shard %d/2 holds %d tests, want the %d short ones", k, len(got), len(ids)-1)
		}
	}
}

// TestShardReportMergeErrors: a test in two reports, a file that is not a
// report, and no files are usage errors that say what is wrong.
func TestShardReportMergeErrors(t *testing.T) {
	needHerd(t)
	out := t.TempDir()
	s := runSuiteCopy(t, "semantics", out, "one", nil, "-n", "1")
	res := run(t, out, baseEnv(), herdBin, "report", "merge", s.path, s.path)
	if res.Code != 4 || !strings.Contains(res.Stderr, "is in both") {
		t.Errorf("merging a report with itself: exit %d, stderr %q; want 4 and the test named", res.Code, res.Stderr)
	}
	notJSON := filepath.Join(out, "x.json")
	os.WriteFile(notJSON, []byte("{}"), 0o644)
	res = run(t, out, baseEnv(), herdBin, "report", "merge", notJSON)
	if res.Code != 4 || !strings.Contains(res.Stderr, "x.json") {
		t.Errorf("merging a non-report: exit %d, stderr %q", res.Code, res.Stderr)
	}
	res = run(t, out, baseEnv(), herdBin, "report", "merge")
	if res.Code != 4 {
		t.Errorf("merging nothing: exit %d, want 4", res.Code)
	}
	// One report merged alone is that run again.
	res = run(t, out, baseEnv("COLUMNS=80"), herdBin, "report", "merge", s.path)
	if res.Code != s.res.Code || lineCounts(closingLine(res.Stdout))["passed"] != lineCounts(closingLine(s.res.Stdout))["passed"] {
		t.Errorf("one report merged: exit %d %q; the run: exit %d %q", res.Code, closingLine(res.Stdout), s.res.Code, closingLine(s.res.Stdout))
	}
	if ids, err := reportIDs(s.path); err != nil || len(ids) != len(s.report.Tests) {
		t.Errorf("report.ReadJSON of a real report: %d tests, %v; want %d", len(ids), err, len(s.report.Tests))
	}
}

// reportIDs reads a JSON report with report.ReadJSON and returns its
// tests' node ids.
func reportIDs(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := report.ReadJSON(f)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, t := range r.Tests {
		ids = append(ids, t.NodeID)
	}
	return ids, nil
}

// sequentialShards runs `herd --shard K/n` for K = 1..n one after another
// in one checkout, dir, as a CI runner that keeps its workspace does: each
// shard finds the cache the previous one left. It checks that every test
// of the selection (pytest's outcomes on the same suite) ran in exactly one
// shard, with pytest's outcome, and that the n headers show one partition.
// It returns the shards.
func sequentialShards(t *testing.T, dir string, n int, pytest map[string]string, args ...string) []shardRun {
	t.Helper()
	out := t.TempDir()
	var shards []shardRun
	in := map[string][]int{}
	union := map[string]string{}
	fingerprints := map[string][]int{}
	for k := 1; k <= n; k++ {
		path := filepath.Join(out, fmt.Sprintf("shard%d.json", k))
		full := append([]string{"--python", python, "-n", "1", "--report-json", path, "--shard", fmt.Sprintf("%d/%d", k, n)}, args...)
		res := run(t, dir, baseEnv(), herdBin, full...)
		t.Logf("herd %s: exit %d", strings.Join(full[2:], " "), res.Code)
		s := shardRun{res: res, path: path}
		m := shardLineRE.FindStringSubmatch(res.Stdout)
		if m == nil {
			t.Fatalf("shard %d/%d: no shard line in the header (exit %d):\n%s\nstderr:\n%s", k, n, res.Code, tail(res.Stdout), tail(res.Stderr))
		}
		s.kept, _ = strconv.Atoi(m[3])
		s.total, _ = strconv.Atoi(m[4])
		s.durations, s.fingerprint = m[5], m[6]
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("shard %d/%d wrote no report: %v", k, n, err)
		}
		if err := json.Unmarshal(data, &s.report); err != nil {
			t.Fatal(err)
		}
		s.report.Present = true
		checkReport(t, s.report, s.kept)
		fingerprints[s.fingerprint] = append(fingerprints[s.fingerprint], k)
		for _, tc := range s.report.Tests {
			union[tc.NodeID] = tc.Outcome
			if tc.Worker == "" && tc.Outcome == "skipped" && !strings.Contains(tc.NodeID, "::") {
				continue // a module skipped at collection: every shard reports it
			}
			in[tc.NodeID] = append(in[tc.NodeID], k)
		}
		shards = append(shards, s)
	}
	if len(fingerprints) != 1 {
		t.Errorf("the %d shards, run one after another in one checkout, computed different partitions (fingerprint: shards) %v", n, fingerprints)
	}
	var bad []string
	for id := range pytest {
		if !strings.Contains(id, "::") {
			continue
		}
		if len(in[id]) != 1 {
			bad = append(bad, fmt.Sprintf("%s ran in shards %v", id, in[id]))
		}
	}
	for id := range in {
		if _, ok := pytest[id]; !ok {
			bad = append(bad, id+" ran in a shard, but pytest did not select it")
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("%d tests did not run exactly once across the shards:\n  %s", len(bad), strings.Join(limit(bad, 20), "\n  "))
	}
	diffOutcomes(t, union, pytest)
	return shards
}

// fileSum is a file's content, "" when it does not exist.
func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// TestShardSequentialOneCheckout: three `herd --shard K/3` runs one after
// another in one checkout ran some tests twice and others never, because
// each shard recorded durations that changed the next shard's partition.
// Now the partition depends only on the selection and a durations file no
// shard run writes: none, a committed .test_durations, or --durations-file
// written by `herd durations merge`. Each way, after an unsharded run has
// recorded durations in the checkout, every test runs exactly once across
// the three shards, with plain pytest's outcome, and the three headers show
// the same partition.
func TestShardSequentialOneCheckout(t *testing.T) {
	needHerd(t)
	t.Parallel()
	pytest, _ := runPytest(t, copySuite(t, "semantics"))
	if len(pytest) < 30 {
		t.Fatalf("plain pytest reported %d tests of the semantics suite", len(pytest))
	}
	var ids []string
	for id := range pytest {
		if strings.Contains(id, "::") {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	cacheDurations := func(dir string) string {
		return filepath.Join(dir, ".pytest_cache", "v", "herd", "durations")
	}
	// A checkout that ran herd before: its cache holds every test's
	// duration, which the shards must not split by.
	ranBefore := func() string {
		dir := copySuite(t, "semantics")
		res := run(t, dir, baseEnv(), herdBin, "--python", python, "-n", "1")
		if res.Code != 1 || fileSum(t, cacheDurations(dir)) == "" {
			t.Fatalf("unsharded run: exit %d, durations recorded: %q", res.Code, fileSum(t, cacheDurations(dir)))
		}
		return dir
	}

	t.Run("no durations file", func(t *testing.T) {
		dir := ranBefore()
		before := fileSum(t, cacheDurations(dir))
		shards := sequentialShards(t, dir, 3, pytest)
		for _, s := range shards {
			if !strings.Contains(s.durations, "no durations file") {
				t.Errorf("shard header %q: want \"no durations file\" (the recorded durations are not used)", s.durations)
			}
		}
		// The shards still record durations, for local scheduling and for
		// `herd durations merge`.
		if after := fileSum(t, cacheDurations(dir)); after == before {
			t.Errorf("the shard runs recorded no durations in %s", cacheDurations(dir))
		}
	})

	t.Run("committed .test_durations", func(t *testing.T) {
		dir := ranBefore()
		// Durations unlike the recorded ones: one test very long.
		durs := map[string]float64{}
		for i, id := range ids {
			durs[id] = 0.01 * float64(1+i%5)
		}
		durs[ids[len(ids)/2]] = 50
		data, _ := json.Marshal(durs)
		committed := filepath.Join(dir, ".test_durations")
		if err := os.WriteFile(committed, data, 0o644); err != nil {
			t.Fatal(err)
		}
		shards := sequentialShards(t, dir, 3, pytest)
		for _, s := range shards {
			if !strings.Contains(s.durations, "durations known, from .test_durations") {
				t.Errorf("shard header %q does not name .test_durations", s.durations)
			}
		}
		if fileSum(t, committed) != string(data) {
			t.Errorf("a shard run changed .test_durations")
		}
	})

	t.Run("--durations-file from herd durations merge", func(t *testing.T) {
		dir := ranBefore()
		// Last CI run's shards uploaded their recorded durations; a final
		// job merged them.
		other := filepath.Join(t.TempDir(), "other.json")
		os.WriteFile(other, []byte(fmt.Sprintf(`{%q: 40, %q: 0.5}`, ids[0], ids[1])), 0o644)
		merged := filepath.Join(dir, "ci", "durations.json")
		res := run(t, dir, baseEnv(), herdBin, "durations", "merge", cacheDurations(dir), other, "-o", merged)
		if res.Code != 0 {
			t.Fatalf("herd durations merge: exit %d: %s", res.Code, res.Stderr)
		}
		// A committed .test_durations too: --durations-file wins.
		os.WriteFile(filepath.Join(dir, ".test_durations"), []byte(fmt.Sprintf(`{%q: 99}`, ids[2])), 0o644)
		want := fileSum(t, merged)
		shards := sequentialShards(t, dir, 3, pytest, "--durations-file", "ci/durations.json")
		for _, s := range shards {
			if !strings.Contains(s.durations, "durations known, from ci/durations.json") {
				t.Errorf("shard header %q does not name ci/durations.json", s.durations)
			}
		}
		if fileSum(t, merged) != want {
			t.Errorf("a shard run changed the --durations-file")
		}
	})

	t.Run("--durations-file is the recorded durations", func(t *testing.T) {
		// Pointed at the cache's own file, the shards must not rewrite it.
		dir := ranBefore()
		want := fileSum(t, cacheDurations(dir))
		shards := sequentialShards(t, dir, 3, pytest, "--durations-file", ".pytest_cache/v/herd/durations")
		if fileSum(t, cacheDurations(dir)) != want {
			t.Errorf("a shard run rewrote %s, the file its partition was weighed by", cacheDurations(dir))
		}
		if !strings.Contains(shards[0].res.Stderr, "durations not recorded") {
			t.Errorf("the shard does not say why it recorded no durations; stderr:\n%s", shards[0].res.Stderr)
		}
	})

	t.Run("missing --durations-file", func(t *testing.T) {
		dir := copySuite(t, "semantics")
		res := run(t, dir, baseEnv(), herdBin, "--python", python, "-n", "1", "--shard", "1/3", "--durations-file", "nope.json")
		lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
		if res.Code != 4 || len(lines) != 1 || !strings.Contains(lines[0], "nope.json") {
			t.Errorf("a missing --durations-file: exit %d, stderr %q; want exit 4 and one line naming it", res.Code, res.Stderr)
		}
	})
}
