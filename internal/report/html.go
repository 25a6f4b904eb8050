package report

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// The page's style and script, inlined into every report: the report loads
// nothing from anywhere.
var (
	//go:embed html_report.css
	htmlCSS string
	//go:embed html_report.js
	htmlJS string
)

// htmlErrorCounter runs first: it counts script errors into
// <body data-errors>, so that tests (and curious people) can see that the
// page rendered without one.
const htmlErrorCounter = `window.onerror=function(){var b=document.body;b.dataset.errors=String((+b.dataset.errors||0)+1);};`

// HTMLOptions are what an HTML report takes from outside the run, injected
// so that the same run always renders the same bytes.
type HTMLOptions struct {
	// Title is the page's title; empty means "herd report".
	Title string
	// Generated is when the report was written; zero leaves it out.
	Generated time.Time
}

// htmlData is the JSON the page renders. Times are seconds from the start
// of the run.
type htmlData struct {
	Title           string                   `json:"title"`
	Generated       string                   `json:"generated,omitempty"`
	HerdVersion     string                   `json:"herd_version"`
	Python          string                   `json:"python"`
	Pytest          string                   `json:"pytest"`
	Rootdir         string                   `json:"rootdir"`
	Workers         int                      `json:"workers"`
	Collected       int                      `json:"collected"`
	Deselected      int                      `json:"deselected"`
	Duration        float64                  `json:"duration"`
	Status          string                   `json:"status"`
	Closing         string                   `json:"closing"`
	InterruptReason string                   `json:"interrupt_reason,omitempty"`
	WorkerDeaths    int                      `json:"worker_deaths"`
	Outcomes        []result.Outcome         `json:"outcomes"`
	Summary         map[result.Outcome]int   `json:"summary"`
	Lanes           []htmlLane               `json:"lanes"`
	Exclusive       [][2]float64             `json:"exclusive"`
	Slowest         []int                    `json:"slowest"`
	Tests           []htmlTest               `json:"tests"`
	CollectionErrs  []result.CollectionError `json:"collection_errors"`
}

// htmlLane is one worker process: one lane of the timeline.
type htmlLane struct {
	Label   string  `json:"label"`
	Worker  string  `json:"worker"`
	Process int     `json:"process"`
	Start   float64 `json:"start"`
	Stop    float64 `json:"stop"`
	// Death is the index of the test the process died running (crashed, or
	// killed for a timeout), or -1 when it did not die; DeathAt is when,
	// and DeathKind is crashed or timeout.
	Death     int            `json:"death"`
	DeathAt   float64        `json:"death_at,omitempty"`
	DeathKind result.Outcome `json:"death_kind,omitempty"`
}

// htmlTest is one test; keys are short because a report may hold tens of
// thousands.
type htmlTest struct {
	NodeID    string         `json:"id"`
	Outcome   result.Outcome `json:"o"`
	Lane      int            `json:"lane"`
	Start     float64        `json:"s"`
	Stop      float64        `json:"e"`
	Duration  float64        `json:"d"`
	Policy    string         `json:"policy,omitempty"`
	Message   string         `json:"msg,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	Longrepr  string         `json:"longrepr,omitempty"`
	Sections  []htmlSection  `json:"sections,omitempty"`
	Extra     []htmlPhase    `json:"extra,omitempty"`
	Crash     *htmlCrash     `json:"crash,omitempty"`
	Diagnosis *htmlDiagnosis `json:"diagnosis,omitempty"`
	Leaks     []string       `json:"leaks,omitempty"`
	Attempts  []htmlAttempt  `json:"attempts,omitempty"`
}

type htmlSection struct {
	Title   string `json:"title"`
	Content string `json:"content"`
}

type htmlPhase struct {
	When     string        `json:"when"`
	Message  string        `json:"msg,omitempty"`
	Longrepr string        `json:"longrepr,omitempty"`
	Sections []htmlSection `json:"sections,omitempty"`
}

type htmlCrash struct {
	// Verdict says it in one line: "worker gw1 crashed during call:
	// killed by signal SIGSEGV".
	Verdict    string   `json:"verdict"`
	Cause      string   `json:"cause,omitempty"`
	Signal     string   `json:"signal,omitempty"`
	ExitCode   *int     `json:"exit_code,omitempty"`
	Phase      string   `json:"phase,omitempty"`
	KillStage  string   `json:"kill_stage,omitempty"`
	StderrTail string   `json:"stderr_tail,omitempty"`
	PriorTests []string `json:"prior_tests,omitempty"`
}

type htmlDiagnosis struct {
	Rerun        result.Outcome `json:"rerun,omitempty"`
	CrashedAlone bool           `json:"crashed_alone"`
	Cause        string         `json:"cause,omitempty"`
	Marker       string         `json:"marker,omitempty"`
	Summary      string         `json:"summary,omitempty"`
}

type htmlAttempt struct {
	Outcome  result.Outcome `json:"o"`
	Lane     int            `json:"lane"`
	Start    float64        `json:"s"`
	Stop     float64        `json:"e"`
	Duration float64        `json:"d"`
	Message  string         `json:"msg,omitempty"`
	Longrepr string         `json:"longrepr,omitempty"`
	Sections []htmlSection  `json:"sections,omitempty"`
	Crash    *htmlCrash     `json:"crash,omitempty"`
}

// WriteHTML writes run as one self-contained HTML page: a timeline with one
// lane per worker process, a summary, the slowest tests, a filterable table
// of every test and a details panel. The page loads nothing: its style,
// script and data are inline, the data as JSON in which "<" is written
// \u003c, so nothing in a test's output can end the script element. The
// script builds the page with DOM calls and textContent only.
func WriteHTML(w io.Writer, run *result.Run, opts HTMLOptions) error {
	data := htmlReportData(run, opts)
	// json.Marshal escapes <, > and & (and U+2028, U+2029) as \u escapes,
	// which is what makes the data safe inside <script>.
	js, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	if strings.Contains(htmlJS, "</") || strings.Contains(htmlCSS, "</") {
		return fmt.Errorf("write html report: the page's script or style contains \"</\"")
	}
	bw := bufio.NewWriter(w)
	csp := "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src " +
		scriptHash(htmlErrorCounter) + " " + scriptHash(htmlJS)
	fmt.Fprintf(bw, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="%s">
<meta name="generator" content="herd %s">
<title>%s</title>
<style>%s</style>
</head>
<body data-errors="0">
<script>%s</script>
`, html.EscapeString(csp), html.EscapeString(run.Info.Version), html.EscapeString(data.Title), htmlCSS, htmlErrorCounter)
	bw.WriteString(htmlBody)
	bw.WriteString(`<script type="application/json" id="herd-data">`)
	bw.Write(js)
	bw.WriteString("</script>\n<script>")
	bw.WriteString(htmlJS)
	bw.WriteString("</script>\n</body>\n</html>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// scriptHash is the CSP source that allows exactly the inline script s.
func scriptHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// htmlBody is the page's skeleton; the script fills it in.
const htmlBody = `<header id="top">
<h1 id="title"></h1>
<span id="status" class="status"></span>
<p id="closing"></p>
<p id="meta"></p>
</header>
<main>
<section id="filter-bar" class="card">
<span class="filter-title">Show</span>
<span id="filters"></span>
<input id="search" type="search" placeholder="search test ids" aria-label="search test ids" spellcheck="false">
<span id="match-count"></span>
</section>
<section id="timeline-section" class="card">
<div class="toolbar"><h2>Timeline</h2><span class="hint">one lane per worker process; drag across the timeline to zoom, click a bar for its details</span><button id="zoom-reset" type="button" disabled>reset zoom</button></div>
<div id="legend"></div>
<div id="timeline-wrap"><canvas id="timeline" role="img" aria-label="timeline of the tests on each worker process"></canvas><div id="tooltip" hidden></div></div>
<div id="deaths"></div>
</section>
<section id="overview">
<div class="card"><h2>Summary</h2><table id="summary" class="grid"><thead><tr><th>outcome</th><th class="num">tests</th><th class="num">share</th></tr></thead><tbody></tbody></table></div>
<div class="card grow"><h2>Slowest 20</h2><table id="slowest" class="grid clickable"><thead><tr><th class="num">duration</th><th>outcome</th><th>test</th><th>worker</th></tr></thead><tbody></tbody></table></div>
</section>
<section id="collection-errors" hidden><h2>Collection errors</h2><div id="collection-errors-list"></div></section>
<section id="tests-section" class="card">
<h2>Tests</h2>
<table id="tests" class="grid clickable"><thead><tr><th data-sort="index" class="num">#</th><th data-sort="o">outcome</th><th data-sort="id">test</th><th data-sort="lane">worker</th><th data-sort="s" class="num">start</th><th data-sort="d" class="num">duration</th></tr></thead><tbody id="tests-body"></tbody></table>
<button id="more" type="button" hidden></button>
</section>
</main>
<aside id="details" hidden><button id="details-close" type="button" aria-label="close">&#x2715;</button><div id="details-body"></div></aside>
`

// htmlReportData turns run into the page's data.
func htmlReportData(run *result.Run, opts HTMLOptions) htmlData {
	d := htmlData{
		Title:           opts.Title,
		HerdVersion:     run.Info.Version,
		Python:          firstNonEmpty(run.Info.Python, run.Info.PythonPath),
		Pytest:          run.Info.Pytest,
		Rootdir:         run.Info.Rootdir,
		Workers:         run.Info.Workers,
		Collected:       run.Collected,
		Deselected:      run.Deselected,
		Duration:        seconds(run.Duration),
		Status:          ExitStatus(run),
		Closing:         ClosingText(run),
		WorkerDeaths:    run.WorkerDeaths,
		Outcomes:        result.Outcomes,
		Summary:         map[result.Outcome]int{},
		Lanes:           []htmlLane{},
		Exclusive:       [][2]float64{},
		Slowest:         []int{},
		Tests:           make([]htmlTest, 0, len(run.Tests)),
		CollectionErrs:  append([]result.CollectionError{}, run.CollectionErrors...),
		InterruptReason: run.InterruptReason,
	}
	if d.Title == "" {
		d.Title = "herd report"
	}
	if !opts.Generated.IsZero() {
		d.Generated = opts.Generated.Format("2006-01-02 15:04:05 MST")
	}
	for o, n := range run.Summary() {
		if n > 0 {
			d.Summary[o] = n
		}
	}

	// Lanes: one per worker process, a slot's replacements right after it.
	type laneKey struct {
		worker  string
		process int
	}
	lanes := map[laneKey]int{}
	var keys []laneKey
	note := func(worker string, process int) {
		if worker == "" {
			return
		}
		k := laneKey{worker, max(process, 1)}
		if _, ok := lanes[k]; !ok {
			lanes[k] = 0
			keys = append(keys, k)
		}
	}
	for _, t := range run.Tests {
		note(t.Worker, t.Process)
		for _, a := range t.Attempts {
			note(a.Worker, a.Process)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.worker != b.worker {
			na, oka := slotNumber(a.worker)
			nb, okb := slotNumber(b.worker)
			switch {
			case oka && okb && na != nb:
				return na < nb
			case oka != okb:
				return oka
			}
			return a.worker < b.worker
		}
		return a.process < b.process
	})
	for i, k := range keys {
		lanes[k] = i
		label := k.worker
		if k.process > 1 {
			label += " #" + strconv.Itoa(k.process)
		}
		d.Lanes = append(d.Lanes, htmlLane{Label: label, Worker: k.worker, Process: k.process, Start: -1, Death: -1})
	}
	laneOf := func(worker string, process int) int {
		if worker == "" {
			return -1
		}
		return lanes[laneKey{worker, max(process, 1)}]
	}
	extend := func(lane int, start, stop float64) {
		if lane < 0 {
			return
		}
		l := &d.Lanes[lane]
		if l.Start < 0 || start < l.Start {
			l.Start = start
		}
		if stop > l.Stop {
			l.Stop = stop
		}
	}

	index := map[*result.Test]int{}
	for i, t := range run.Tests {
		index[t] = i
		ht := htmlTest{
			NodeID:    t.NodeID,
			Outcome:   t.Outcome,
			Lane:      laneOf(t.Worker, t.Process),
			Start:     seconds(t.Start),
			Stop:      seconds(t.Stop),
			Duration:  seconds(t.Duration),
			Policy:    t.Policy,
			Message:   failureMessage(t),
			Reason:    t.Reason,
			Longrepr:  t.Longrepr,
			Sections:  htmlSections(t.Sections),
			Crash:     newHTMLCrash(t.Crash, t.Outcome, t.Worker, t.Process),
			Leaks:     t.Leaks,
			Diagnosis: newHTMLDiagnosis(t.Diagnosis),
		}
		if ht.Stop < ht.Start {
			ht.Stop = ht.Start
		}
		for _, x := range t.Extra {
			ht.Extra = append(ht.Extra, htmlPhase{When: x.When, Message: x.Message, Longrepr: x.Longrepr, Sections: htmlSections(x.Sections)})
		}
		for _, a := range t.Attempts {
			ha := htmlAttempt{
				Outcome:  a.Outcome,
				Lane:     laneOf(a.Worker, a.Process),
				Start:    seconds(a.Start),
				Stop:     max(seconds(a.Stop), seconds(a.Start)),
				Duration: seconds(a.Duration),
				Message:  a.Message,
				Longrepr: a.Longrepr,
				Sections: htmlSections(a.Sections),
				Crash:    newHTMLCrash(a.Crash, a.Outcome, a.Worker, a.Process),
			}
			extend(ha.Lane, ha.Start, ha.Stop)
			if a.Outcome == result.Crashed || a.Outcome == result.Timeout {
				d.markDeath(ha.Lane, i, ha.Stop, a.Outcome)
			}
			ht.Attempts = append(ht.Attempts, ha)
		}
		extend(ht.Lane, ht.Start, ht.Stop)
		if t.Outcome == result.Crashed || t.Outcome == result.Timeout {
			d.markDeath(ht.Lane, i, ht.Stop, t.Outcome)
		}
		d.Tests = append(d.Tests, ht)
	}
	for i := range d.Lanes {
		if d.Lanes[i].Start < 0 {
			d.Lanes[i].Start = 0
		}
	}
	for _, t := range run.Slowest(20) {
		d.Slowest = append(d.Slowest, index[t])
	}
	d.Exclusive = exclusiveBands(run)
	return d
}

// markDeath records that the process of lane died at time at, running test
// i.
func (d *htmlData) markDeath(lane, i int, at float64, kind result.Outcome) {
	if lane < 0 {
		return
	}
	l := &d.Lanes[lane]
	l.Death, l.DeathAt, l.DeathKind = i, at, kind
}

// exclusiveBands are the spans of the run in which exclusive tests ran:
// exclusive tests that follow each other in start order, with no other
// test starting between them, make one band.
func exclusiveBands(run *result.Run) [][2]float64 {
	var ran []*result.Test
	for _, t := range run.Tests {
		if t.Worker != "" && t.Outcome != result.NotRun {
			ran = append(ran, t)
		}
	}
	sort.SliceStable(ran, func(i, j int) bool { return ran[i].Start < ran[j].Start })
	bands := [][2]float64{}
	open := false
	for _, t := range ran {
		if t.Policy != "exclusive" {
			open = false
			continue
		}
		start, stop := seconds(t.Start), max(seconds(t.Stop), seconds(t.Start))
		if open {
			b := &bands[len(bands)-1]
			b[1] = max(b[1], stop)
			continue
		}
		bands = append(bands, [2]float64{start, stop})
		open = true
	}
	return bands
}

// slotNumber is N of a worker named "gwN".
func slotNumber(worker string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(worker, "gw"))
	return n, err == nil && strings.HasPrefix(worker, "gw")
}

func htmlSections(in []result.Section) []htmlSection {
	var out []htmlSection
	for _, s := range in {
		out = append(out, htmlSection{Title: s.Title, Content: s.Content})
	}
	return out
}

func newHTMLCrash(c *result.Crash, o result.Outcome, worker string, process int) *htmlCrash {
	if c == nil {
		return nil
	}
	name := worker
	if process > 1 {
		name += " #" + strconv.Itoa(process)
	}
	return &htmlCrash{
		Verdict:    crashVerdict(&result.Test{Outcome: o, Worker: name, Crash: c}),
		Cause:      crashCause(c),
		Signal:     c.Signal,
		ExitCode:   c.ExitCode,
		Phase:      c.Phase,
		KillStage:  c.KillStage,
		StderrTail: c.StderrTail,
		PriorTests: c.PriorTests,
	}
}

func newHTMLDiagnosis(dg *result.Diagnosis) *htmlDiagnosis {
	if dg == nil {
		return nil
	}
	return &htmlDiagnosis{Rerun: dg.Rerun, CrashedAlone: dg.CrashedAlone, Cause: dg.Cause, Marker: dg.Marker, Summary: dg.Summary}
}
