package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/report"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/shard"
)

const reportMergeUsage = "usage: herd report merge [--junitxml PATH] [--report-html PATH] [--report-json PATH] [--flaky-fails] [-q|-v] [-r CHARS] [--tb STYLE] FILES..."

const reportMergeHelp = reportMergeUsage + `

Merges the JSON reports (--report-json) of several herd runs, such as the
shards of one suite run with --shard K/N on several machines, into one run:
prints pytest's terminal summary for it (failures, errors, warnings, the
short test summary and the closing line) and exits with the code one
unsharded run would have had.

Tests are listed in file order. A test in two reports is an error; the
collection errors, module-level skips and collection warnings every shard
reports once are kept once. Workers are renamed after the report they come
from ("shard1/gw0" for the first file's gw0), so the HTML timeline has a
lane per machine and worker; every shard's clock starts at 0, as if the
machines had started together. The merged run lasted as long as its longest
input.

options:
  --junitxml PATH     write a JUnit XML report of the merged run
  --report-html PATH  write an HTML report of the merged run
  --report-json PATH  write the merged run as herd's JSON report
  --flaky-fails       flaky tests fail the merged run (exit 1)
  -q, -v              less or more output
  -r CHARS            the short test summary's outcomes, as pytest's -r
                      (default fE)
  --tb STYLE          traceback style (auto, long, short, line, native, no)
  -h, --help          print this help

Exit codes: 0 all passed, 1 tests failed (or crashed, timed out, errored,
did not run), 2 an input run was interrupted, 3 a report could not be
written, 4 usage error or an unreadable input or a test in two inputs,
5 no tests at all.
`

// reportMergeMain runs `herd report merge` (args after "merge").
func reportMergeMain(args []string, stdout io.Writer) error {
	f, done, err := parseReportFlags("herd report merge", reportMergeUsage, reportMergeHelp, args, stdout, nil)
	if done {
		return err
	}
	files := f.args
	if len(files) == 0 {
		return usageErrorf("herd report merge: no reports given\n%s", reportMergeUsage)
	}

	runs := make([]*result.Run, 0, len(files))
	for _, f := range files {
		r, err := readReport(f)
		if err != nil {
			return usageErrorf("herd report merge: %s: %v", f, err)
		}
		runs = append(runs, r)
	}
	merged, err := mergeRuns(runs, files)
	if err != nil {
		return usageErrorf("herd report merge: %v", err)
	}
	return emitReport("herd report merge", merged, f, fmt.Sprintf(" (%d reports merged)", len(files)), stdout)
}

// reportFlags are the options herd report merge and herd report --queue
// share: the report files, --flaky-fails, and the terminal's -q, -v, -r
// and --tb.
type reportFlags struct {
	junit, html, jsonOut, tb, chars string
	verbosity                       int
	flakyFails                      bool
	// args are the positional arguments.
	args []string
}

// parseReportFlags parses the arguments of a report command (cmd, such as
// "herd report merge"). extra, when set, takes the command's own options:
// it is given the option's name and a function returning its value, and
// reports whether the option was its own, or an error message. done says
// the command ends now with code (help printed, or a usage error).
func parseReportFlags(cmd, usage, help string, args []string, stdout io.Writer,
	extra func(name string, value func() (string, bool)) (bool, string)) (f reportFlags, done bool, err error) {
	onlyPositions := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			name, val, hasVal = strings.Cut(a, "=")
		}
		value := func() (string, bool) {
			if hasVal {
				return val, true
			}
			if i+1 >= len(args) {
				return "", false
			}
			i++
			return args[i], true
		}
		switch {
		case onlyPositions:
			f.args = append(f.args, a)
			continue
		case a == "--":
			onlyPositions = true
			continue
		case a == "-h" || a == "--help":
			fmt.Fprint(stdout, help)
			return f, true, nil
		case a == "-q" || a == "--quiet":
			f.verbosity--
			continue
		case a == "-v" || a == "--verbose":
			f.verbosity++
			continue
		case name == "--flaky-fails":
			f.flakyFails = true
			continue
		case strings.HasPrefix(a, "-r") && len(a) > 2:
			f.chars = a[2:]
			continue
		}
		if extra != nil {
			own, msg := extra(name, value)
			if msg != "" {
				return f, true, usageErrorf("%s: %s\n%s", cmd, msg, usage)
			}
			if own {
				continue
			}
		}
		var dst *string
		switch name {
		case "--junitxml", "--junit-xml":
			dst = &f.junit
		case "--report-html":
			dst = &f.html
		case "--report-json":
			dst = &f.jsonOut
		case "--tb":
			dst = &f.tb
		case "-r":
			dst = &f.chars
		default:
			if strings.HasPrefix(a, "-") && a != "-" {
				return f, true, usageErrorf("%s: unknown option %s\n%s", cmd, a, usage)
			}
			f.args = append(f.args, a)
			continue
		}
		v, ok := value()
		if !ok || v == "" {
			return f, true, usageErrorf("%s: %s expects a value\n%s", cmd, name, usage)
		}
		*dst = v
	}
	return f, false, nil
}

// emitReport prints pytest's summary of run (header, collected line,
// failures, short summary, closing line) as f asks, writes the report
// files f names, and returns the run's exit code (3 when a file could not
// be written). titleSuffix ends the HTML report's title.
func emitReport(cmd string, run *result.Run, f reportFlags, titleSuffix string, stdout io.Writer) error {
	run.FlakyFails = f.flakyFails
	opts := report.DefaultTerminalOptions()
	opts.Verbosity = f.verbosity
	opts.TTY = isTerminal(stdout)
	opts.Width = terminalWidth(stdout)
	if f.chars != "" {
		opts.ReportChars = f.chars
	}
	if f.tb != "" {
		opts.TB = f.tb
	}
	opts.CI = os.Getenv("CI") != "" || os.Getenv("BUILD_NUMBER") != ""
	term := report.NewTerminal(stdout, opts)
	info := run.Info
	term.Handle(result.Event{Kind: result.RunStarted, Info: &info})
	term.Handle(result.Event{Kind: result.Collected, Run: run})
	term.Handle(result.Event{Kind: result.RunFinished, Time: run.Duration, Run: run})

	var werr error
	if f.junit != "" {
		host, _ := os.Hostname()
		werr = errors.Join(werr, writeFile(f.junit, func(w io.Writer) error {
			return report.WriteJUnit(w, run, report.JUnitOptions{Hostname: host, Timestamp: time.Now()})
		}))
	}
	if f.html != "" {
		title := "herd report"
		if run.Info.Rootdir != "" {
			title += ": " + filepath.Base(run.Info.Rootdir)
		}
		title += titleSuffix
		werr = errors.Join(werr, writeFile(f.html, func(w io.Writer) error {
			return report.WriteHTML(w, run, report.HTMLOptions{Title: title, Generated: time.Now()})
		}))
	}
	if f.jsonOut != "" {
		werr = errors.Join(werr, writeFile(f.jsonOut, func(w io.Writer) error { return report.WriteJSON(w, run) }))
	}
	if werr != nil {
		return internalErrorf("%s: %v", cmd, werr)
	}
	return exitWith(exitCode(run))
}

func readReport(path string) (*result.Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return report.ReadJSON(f)
}

// isCollectionSkip reports whether t is a module skipped while collecting:
// every shard collects the whole suite, so every shard reports it.
func isCollectionSkip(t *result.Test) bool {
	return t.Outcome == result.Skipped && t.Worker == "" && !strings.Contains(t.NodeID, "::")
}

// mergeRuns merges the runs read from files (in that order) into one.
//
//   - Tests are concatenated in file order; a test in two runs is an error,
//     except a module skipped at collection, which every shard reports.
//   - Workers are renamed "shardI/gwN", I the 1-based file number.
//   - Collection errors are kept once per path and message; a warning
//     (test and message) is kept as often as the run that has it most
//     often has it (collection warnings appear in every shard).
//   - Deselected: shards of one run each count the others' tests as
//     deselected, so when every run has the same collected+deselected
//     total (shards of one suite), the merged run has that total less
//     the tests run; otherwise the runs' deselected counts add up.
//   - Interrupted when any run was; -x or --maxfail only when no run was
//     interrupted for another reason. Durations: the longest. Workers: the
//     sum.
func mergeRuns(runs []*result.Run, files []string) (*result.Run, error) {
	m := &result.Run{}
	owner := map[string]int{}
	var dups []string
	warnMax := map[result.Warning]int{}
	var warnOrder []result.Warning // in the order they first appear
	seenErr := map[result.CollectionError]bool{}
	sameTotal := true
	trueInterrupt, maxfail := false, false
	for i, r := range runs {
		tag := fmt.Sprintf("shard%d/", i+1)
		if m.Info.Version == "" {
			m.Info.Version = r.Info.Version
		}
		if m.Info.Python == "" {
			m.Info.Python, m.Info.PythonPath = r.Info.Python, r.Info.PythonPath
		}
		if m.Info.Pytest == "" {
			m.Info.Pytest = r.Info.Pytest
		}
		if m.Info.Rootdir == "" {
			m.Info.Rootdir = r.Info.Rootdir
		}
		m.Info.Workers += r.Info.Workers
		m.Info.HeaderLines = append(m.Info.HeaderLines, fmt.Sprintf("shard%d: %s: %s", i+1, files[i], report.ClosingText(r)))
		m.Collected += r.Collected
		m.WorkerDeaths += r.WorkerDeaths
		m.Stalls = append(m.Stalls, r.Stalls...)
		if r.Duration > m.Duration {
			m.Duration = r.Duration
		}
		if r.Collected+r.Deselected != runs[0].Collected+runs[0].Deselected {
			sameTotal = false
		}
		switch {
		case r.Interrupted && !r.MaxfailReached:
			if !trueInterrupt {
				m.InterruptReason = r.InterruptReason
			}
			trueInterrupt = true
		case r.MaxfailReached:
			if !trueInterrupt && !maxfail {
				m.InterruptReason = r.InterruptReason
			}
			maxfail = true
		}
		m.Interrupted = m.Interrupted || r.Interrupted

		for _, t := range r.Tests {
			if j, ok := owner[t.NodeID]; ok {
				if isCollectionSkip(t) {
					continue
				}
				dups = append(dups, fmt.Sprintf("%s is in both %s and %s", t.NodeID, files[j], files[i]))
				continue
			}
			owner[t.NodeID] = i
			c := *t
			if c.Worker != "" {
				c.Worker = tag + c.Worker
			}
			if len(t.Attempts) > 0 {
				c.Attempts = append([]result.Attempt(nil), t.Attempts...)
				for k := range c.Attempts {
					if c.Attempts[k].Worker != "" {
						c.Attempts[k].Worker = tag + c.Attempts[k].Worker
					}
				}
			}
			m.Tests = append(m.Tests, &c)
		}
		for _, e := range r.CollectionErrors {
			if !seenErr[e] {
				seenErr[e] = true
				m.CollectionErrors = append(m.CollectionErrors, e)
			}
		}
		counts := map[result.Warning]int{}
		for _, w := range r.Warnings {
			if _, ok := warnMax[w]; !ok {
				warnOrder = append(warnOrder, w)
				warnMax[w] = 0
			}
			counts[w]++
			warnMax[w] = max(warnMax[w], counts[w])
		}
	}
	if len(dups) > 0 {
		sort.Strings(dups)
		msg := dups[0]
		if len(dups) > 1 {
			msg += fmt.Sprintf(" (and %d more tests are in two reports)", len(dups)-1)
		}
		return nil, errors.New(msg + ": the shards overlap; were they split from the same tests with the same durations?")
	}
	m.MaxfailReached = maxfail && !trueInterrupt
	if sameTotal && len(runs) > 1 {
		m.Deselected = runs[0].Collected + runs[0].Deselected - m.Collected
		if m.Deselected < 0 {
			sameTotal = false
		}
	}
	if !sameTotal || len(runs) == 1 {
		m.Deselected = 0
		for _, r := range runs {
			m.Deselected += r.Deselected
		}
	}
	for _, w := range warnOrder {
		for n := 0; n < warnMax[w]; n++ {
			m.Warnings = append(m.Warnings, w)
		}
	}
	return m, nil
}

const durationsMergeUsage = "usage: herd durations merge FILES... [-o PATH]"

const durationsMergeHelp = durationsMergeUsage + `

Merges durations files into one: herd's .pytest_cache/v/herd/durations and
pytest-split's .test_durations (both a JSON object of node id to seconds).
A later file's duration for a test replaces an earlier one's. The result
goes to stdout, or to PATH with -o.

In CI, each shard (herd --shard K/N) uploads its
.pytest_cache/v/herd/durations as an artifact; a final job merges them,
  herd durations merge shard-*/durations -o .test_durations
and commits .test_durations (herd --shard weighs tests by it on every
machine alike), or keeps the merged file for the next run's shards, which
are given it with --durations-file PATH.

options:
  -o, --output PATH   write the merged file to PATH instead of stdout
  -h, --help          print this help

Exit codes: 0 merged, 3 the output could not be written, 4 usage error or
an unreadable input.
`

// durationsMergeMain runs `herd durations merge` (args after "merge").
func durationsMergeMain(args []string, stdout, stderr io.Writer) error {
	var files []string
	out := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-h" || a == "--help":
			fmt.Fprint(stdout, durationsMergeHelp)
			return nil
		case a == "-o" || a == "--output":
			if i+1 >= len(args) || args[i+1] == "" {
				return usageErrorf("herd durations merge: %s expects a path\n%s", a, durationsMergeUsage)
			}
			i++
			out = args[i]
		case strings.HasPrefix(a, "--output="):
			out = strings.TrimPrefix(a, "--output=")
		case a == "--":
			files = append(files, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			return usageErrorf("herd durations merge: unknown option %s\n%s", a, durationsMergeUsage)
		default:
			files = append(files, a)
		}
	}
	if len(files) == 0 {
		return usageErrorf("herd durations merge: no files given\n%s", durationsMergeUsage)
	}
	var all []map[string]float64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return usageErrorf("herd durations merge: %v", err)
		}
		d, err := shard.ParseDurations(b)
		if err != nil {
			return usageErrorf("herd durations merge: %s: %v", f, err)
		}
		all = append(all, d)
	}
	merged := shard.MergeDurations(all...)
	if out == "" || out == "-" {
		if err := shard.WriteDurations(stdout, merged); err != nil {
			return internalErrorf("herd durations merge: %v", err)
		}
		return nil
	}
	if err := writeFile(out, func(w io.Writer) error { return shard.WriteDurations(w, merged) }); err != nil {
		return internalErrorf("herd durations merge: %v", err)
	}
	fmt.Fprintf(stderr, "herd durations merge: %d tests from %d files into %s\n", len(merged), len(files), out)
	return nil
}
