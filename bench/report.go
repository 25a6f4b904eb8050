//go:build linux

package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
)

type target struct{ name, measured, verdict string }

// report prints markdown to stdout as the run goes, and collects the
// targets for the closing table.
type report struct {
	targets []target
	invalid string // set while a suite's runs did not all pass
}

func (r *report) printf(format string, args ...any) {
	fmt.Fprintf(os.Stdout, format, args...)
}

func (r *report) target(name, measured string, met bool, by string) {
	if r.invalid != "" {
		r.targets = append(r.targets, target{name, measured, "not measured: " + r.invalid})
		return
	}
	v := "met"
	if !met {
		v = "**missed**"
	}
	if by != "" {
		v += " (" + by + ")"
	}
	r.targets = append(r.targets, target{name, measured, v})
}

type skewInfo struct {
	ideals   []float64 // max(longest, total/workers) from herd's recorded durations, per round
	designed float64   // the same from the suite's sleeps
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func values(rs []*Result, f func(*Result) float64) []float64 {
	out := make([]float64, 0, len(rs))
	for _, r := range rs {
		out = append(out, f(r))
	}
	return out
}

func medianOf(rs []*Result, f func(*Result) float64) float64 { return median(values(rs, f)) }

func wallOf(r *Result) float64 { return r.Wall }

func maxOf(rs []*Result, f func(*Result) float64) float64 {
	m := math.NaN()
	for _, r := range rs {
		if v := f(r); math.IsNaN(m) || v > m {
			m = v
		}
	}
	return m
}

func minOf(rs []*Result, f func(*Result) float64) float64 {
	m := math.NaN()
	for _, r := range rs {
		if v := f(r); math.IsNaN(m) || v < m {
			m = v
		}
	}
	return m
}

func mb(kb float64) string {
	if kb < 0 || math.IsNaN(kb) {
		return "?"
	}
	return fmt.Sprintf("%.1f", kb/1024)
}

func share(r *Result) float64 {
	if r.Tool == "plain" || r.WorkersCPU() <= 0 {
		return math.NaN()
	}
	return r.CtrlCPU / r.WorkersCPU()
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

// ratio returns the ratio of the medians of a and b and the range of the
// per-round ratios (runs of one round are paired by index).
func ratio(a, b []*Result) (med, lo, hi float64) {
	med = medianOf(a, wallOf) / medianOf(b, wallOf)
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := 0; i < len(a) && i < len(b); i++ {
		x := a[i].Wall / b[i].Wall
		lo, hi = min(lo, x), max(hi, x)
	}
	return
}

func (r *report) suiteTable(s *Suite, rounds int, runs map[string][]*Result, names []string, skew *skewInfo) {
	r.printf("## %s\n\n", s.Label)
	r.printf("%d round(s), tool order alternating per round. Times in seconds, memory in MB; median over rounds unless the column says otherwise.\n\n", rounds)
	r.printf("| tool | ok runs | wall median | wall min | wall max | CPU total | controller CPU | workers' CPU | controller / workers CPU | controller peak RSS (max) | tree max RSS (max) | other processes' CPU (share of machine) |\n")
	r.printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, name := range names {
		rs := runs[name]
		if len(rs) == 0 {
			continue
		}
		ok := 0
		for _, x := range rs {
			if x.OK {
				ok++
			}
		}
		r.printf("| %s | %d/%d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s | %s | %.2f (%s) |\n", name, ok, len(rs),
			medianOf(rs, wallOf), minOf(rs, wallOf), maxOf(rs, wallOf),
			medianOf(rs, func(x *Result) float64 { return x.CPUTotal }),
			medianOf(rs, func(x *Result) float64 { return x.CtrlCPU }),
			medianOf(rs, func(x *Result) float64 { return x.WorkersCPU() }),
			pct(medianOf(rs, share)),
			mb(maxOf(rs, func(x *Result) float64 { return float64(x.CtrlHWM) })),
			mb(maxOf(rs, func(x *Result) float64 { return float64(x.TreeRSS) })),
			medianOf(rs, func(x *Result) float64 { return x.Foreign }),
			pct(medianOf(rs, func(x *Result) float64 { return x.Foreign / (x.Wall * float64(runtime.NumCPU())) })))
	}
	r.printf("\nWhere the time goes (conftest trace; seconds after the tool was started; medians):\n\n")
	r.printf("| tool | processes that collected | tests collected by each | last session start | longest collection | longest wait collected -> first test | last first test | last session finish | last worker alive | exit | helper imports (processes) | module fixture set-ups |\n")
	r.printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, name := range names {
		var trs []*Result
		for _, x := range runs[name] {
			if x.Trace != nil {
				trs = append(trs, x)
			}
		}
		if len(trs) == 0 {
			continue
		}
		t0 := trs[len(trs)/2].Trace
		items := make([]string, len(t0.Items))
		for i, n := range t0.Items {
			items[i] = fmt.Sprint(n)
		}
		tf := func(f func(*Trace) float64) float64 {
			return medianOf(trs, func(x *Result) float64 { return f(x.Trace) })
		}
		alive := "-"
		if lc := medianOf(trs, func(x *Result) float64 { return x.LastChild }); lc >= 0 {
			alive = fmt.Sprintf("%.2f", lc)
		}
		r.printf("| %s | %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %.2f | %.0f (%.0f) | %.0f |\n", name, t0.Procs, strings.Join(items, ", "),
			tf(func(t *Trace) float64 { return t.StartMax }),
			tf(func(t *Trace) float64 { return t.CollectMax }),
			tf(func(t *Trace) float64 { return t.GapMax }),
			tf(func(t *Trace) float64 { return t.FirstMax }),
			tf(func(t *Trace) float64 { return t.FinishMax }),
			alive,
			medianOf(trs, wallOf),
			tf(func(t *Trace) float64 { return float64(t.Imports) }),
			tf(func(t *Trace) float64 { return float64(t.ImportPIDs) }),
			tf(func(t *Trace) float64 { return float64(t.Fixtures) }))
	}
	r.printf("\n")

	r.invalid = ""
	for _, name := range names {
		for _, x := range runs[name] {
			if !x.OK {
				r.invalid = "some runs did not pass all tests"
			}
		}
	}
	defer func() { r.invalid = "" }()
	herd, xdist, plain := runs["herd"], runs["xdist"], runs["plain"]
	if len(herd) > 0 && len(xdist) > 0 {
		m, lo, hi := ratio(herd, xdist)
		r.printf("- herd / xdist wall: **%.2fx** (per round %.2f-%.2f)\n", m, lo, hi)
		switch s.Name {
		case "trivial":
			r.target("trivial: herd <= 0.4x xdist", fmt.Sprintf("%.2fx", m), m <= 0.4, fmt.Sprintf("%.2fx the 0.4x bound", m/0.4))
		case "import-heavy":
			r.target("import-heavy: herd <= 0.6x xdist", fmt.Sprintf("%.2fx", m), m <= 0.6, fmt.Sprintf("%.2fx the 0.6x bound", m/0.6))
		}
	}
	if len(herd) > 0 && len(plain) > 0 {
		m, lo, hi := ratio(herd, plain)
		r.printf("- herd / plain wall: **%.2fx** (per round %.2f-%.2f)\n", m, lo, hi)
		if s.Name == "trivial" {
			r.target("trivial: herd <= plain", fmt.Sprintf("%.2fx plain", m), m <= 1, "")
		}
	}
	if skew != nil && len(herd) > 0 {
		ideal := median(skew.ideals)
		if math.IsNaN(ideal) {
			ideal = skew.designed
		}
		startup := medianOf(runs["herd start-up probe"], wallOf)
		h := medianOf(herd, wallOf)
		bound := 1.1*ideal + startup
		r.printf("- ideal = max(longest test, total / %d workers) from the durations herd recorded: %.2f s (by construction: %.2f s)\n", workers, ideal, skew.designed)
		r.printf("- herd start-up (herd on the same suite shape with every sleep 0, median): %.2f s\n", startup)
		r.printf("- herd (2nd run) / ideal: **%.2fx**; herd 1st run / ideal: %.2fx; xdist / ideal: %.2fx; plain / ideal: %.2fx\n",
			h/ideal, medianOf(runs["herd 1st run"], wallOf)/ideal, medianOf(xdist, wallOf)/ideal, medianOf(plain, wallOf)/ideal)
		r.printf("- bound 1.1 x ideal + start-up = %.2f s; herd 2nd run %.2f s\n", bound, h)
		r.target("skewed, 2nd run: makespan <= 1.1 x ideal + start-up", fmt.Sprintf("%.2f s vs %.2f s (ideal %.2f, start-up %.2f)", h, bound, ideal, startup),
			h <= bound, fmt.Sprintf("%+.2f s", h-bound))
	}
	if len(herd) > 0 {
		sh := medianOf(herd, share)
		r.printf("- herd controller CPU / workers' CPU: %s (median; per run %s-%s)\n", pct(sh), pct(minOf(herd, share)), pct(maxOf(herd, share)))
		label := s.Name
		if s.Name == "huge" {
			label = fmt.Sprintf("huge %d", s.Tests)
		}
		r.target(fmt.Sprintf("%s: herd controller CPU < 5%% of workers'", label), pct(sh), sh < 0.05, "")
	}
	for _, name := range names {
		for _, x := range runs[name] {
			if !x.OK {
				r.printf("- NOT OK: %s round %d: exit %d, %d passed of %d, timed out %v (log %s)\n", name, x.Round+1, x.Exit, x.Passed, s.Tests, x.TimedOut, x.Log)
			}
			if x.BusyBefore >= quietBusy {
				r.printf("- %s round %d started while other processes used %.2f CPUs (waited --quiet-wait in vain)\n", name, x.Round+1, x.BusyBefore)
			}
			if x.Orphans > 0 {
				r.printf("- %s round %d left %d orphaned process(es), reaped by the harness\n", name, x.Round+1, x.Orphans)
			}
		}
	}
	r.printf("\n")
}

type hugeRow struct {
	n    int
	runs map[string][]*Result
}

func (r *report) hugeSummary(rows []hugeRow, xdistOff string) {
	if len(rows) == 0 {
		return
	}
	r.printf("## huge: growth with suite size\n\n")
	if xdistOff != "" {
		r.printf("xdist: %s.\n\n", xdistOff)
	}
	r.printf("| tests | tool | wall median (s) | wall s per 1,000 tests | CPU s per 1,000 tests | controller peak RSS (MB) | controller CPU (s) | controller CPU s per 1,000 tests | controller / workers CPU | other processes' CPU (s) |\n")
	r.printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, row := range rows {
		for _, name := range []string{"plain", "xdist", "herd"} {
			rs := row.runs[name]
			if len(rs) == 0 {
				continue
			}
			w := medianOf(rs, wallOf)
			k := float64(row.n) / 1000
			cpu := medianOf(rs, func(x *Result) float64 { return x.CPUTotal })
			ctrl := medianOf(rs, func(x *Result) float64 { return x.CtrlCPU })
			r.printf("| %d | %s | %.2f | %.3f | %.3f | %s | %.2f | %.3f | %s | %.1f |\n", row.n, name, w, w/k, cpu/k,
				mb(maxOf(rs, func(x *Result) float64 { return float64(x.CtrlHWM) })),
				ctrl, ctrl/k, pct(medianOf(rs, share)), medianOf(rs, func(x *Result) float64 { return x.Foreign }))
		}
	}
	first, last := rows[0], rows[len(rows)-1]
	h0, h1 := first.runs["herd"], last.runs["herd"]
	if len(h0) == 0 || len(h1) == 0 {
		return
	}
	per0 := medianOf(h0, wallOf) / float64(first.n)
	per1 := medianOf(h1, wallOf) / float64(last.n)
	peak := maxOf(h1, func(x *Result) float64 { return float64(x.CtrlHWM) }) / 1024
	peak0 := maxOf(h0, func(x *Result) float64 { return float64(x.CtrlHWM) }) / 1024
	growth := per1 / per0
	r.printf("\n- herd time per 1,000 tests: %.3f s at %d tests, %.3f s at %d tests: %.2fx\n", per0*1000, first.n, per1*1000, last.n, growth)
	cpu0 := medianOf(h0, func(x *Result) float64 { return x.CPUTotal }) / float64(first.n) * 1000
	cpu1 := medianOf(h1, func(x *Result) float64 { return x.CPUTotal }) / float64(last.n) * 1000
	r.printf("- herd CPU (whole tree) per 1,000 tests: %.3f s at %d tests, %.3f s at %d tests: %.2fx (less sensitive than wall time to other processes' load)\n",
		cpu0, first.n, cpu1, last.n, cpu1/cpu0)
	r.printf("- herd controller peak RSS: %.1f MB at %d tests, %.1f MB at %d tests (%.2f MB per 1,000 tests added)\n",
		peak0, first.n, peak, last.n, (peak-peak0)/float64(last.n-first.n)*1000)
	r.printf("\n")
	r.target(fmt.Sprintf("huge: controller peak RSS < 150 MB at %d tests", last.n), fmt.Sprintf("%.1f MB", peak), peak < 150, "")
	r.target(fmt.Sprintf("huge: linear time (time per test at %d within 1.2x of at %d)", last.n, first.n),
		fmt.Sprintf("%.3f -> %.3f s per 1,000 (%.2fx)", per0*1000, per1*1000, growth), growth <= 1.2, "")
}
