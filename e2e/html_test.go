//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/report"
	"github.com/herd-run/herd/internal/result"
)

// The HTML report is tested in a real browser: Debian's chromium, headless,
// which scripts/setup.sh installs. The page's script marks <body
// data-ready="1"> when it has rendered and counts script errors into
// data-errors; chromium's --dump-dom prints the DOM after the script ran.

// evilID is the parametrize id of testdata/suites/htmldemo/test_evil.py.
const evilID = `test_evil.py::test_id_with_markup[<script>alert(1)</script><img src=x onerror="document.body.dataset.pwned=1">]`

// chromiumPath finds headless chromium, or skips the test saying how to
// install it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Skip("chromium is not installed, so the HTML report cannot be tested in a browser: " +
		"run scripts/setup.sh, which installs Debian's chromium (apt-get install -y chromium)")
	return ""
}

// chromium runs headless chromium on a fresh profile with args and the
// page's URL, and returns what it printed on stdout.
func chromium(t *testing.T, args ...string) (string, time.Duration) {
	t.Helper()
	bin := chromiumPath(t)
	profile := t.TempDir()
	full := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + profile,
	}, args...)
	start := time.Now()
	res := run(t, profile, baseEnv("HOME="+profile), bin, full...)
	took := time.Since(start)
	if res.Code != 0 {
		t.Fatalf("chromium %s: exit %d\n%s", strings.Join(args, " "), res.Code, tail(res.Stderr))
	}
	return res.Stdout, took
}

// pageDOM loads the page at path (with a #fragment, if any) and returns
// the DOM after its script ran.
func pageDOM(t *testing.T, path, fragment string) string {
	t.Helper()
	u := (&url.URL{Scheme: "file", Path: path, Fragment: fragment}).String()
	dom, took := chromium(t, "--virtual-time-budget=5000", "--dump-dom", u)
	t.Logf("chromium rendered %s in %v", u, took.Round(time.Millisecond))
	checkRendered(t, dom)
	return dom
}

var (
	bodyTagRE   = regexp.MustCompile(`<body[^>]*>`)
	canvasTagRE = regexp.MustCompile(`<canvas id="timeline"[^>]*>`)
	testsTagRE  = regexp.MustCompile(`<table id="tests"[^>]*>`)
	rowTagRE    = regexp.MustCompile(`<tr class="row[^"]*" data-index="\d+" data-outcome="([a-z_]+)"`)
)

// attr is the value of attribute name in the start tag tag, or "".
func attr(tag, name string) string {
	m := regexp.MustCompile(`\s` + regexp.QuoteMeta(name) + `="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func intAttr(t *testing.T, tag, name string) int {
	t.Helper()
	v := attr(tag, name)
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q in %s", name, v, tag)
	}
	return n
}

// checkRendered checks that the page's script ran to the end, raised no
// error, and that nothing injected ran.
func checkRendered(t *testing.T, dom string) {
	t.Helper()
	body := bodyTagRE.FindString(dom)
	if body == "" {
		t.Fatalf("no <body> in the DOM:\n%s", tail(dom))
	}
	if attr(body, "data-ready") != "1" {
		t.Errorf("the page's script did not finish: %s", body)
	}
	if attr(body, "data-errors") != "0" {
		t.Errorf("the page raised script errors: %s", body)
	}
	if strings.Contains(body, "data-pwned") {
		t.Errorf("markup from a test id or its output ran in the page: %s", body)
	}
	if canvasTagRE.FindString(dom) == "" {
		t.Errorf("no timeline canvas in the DOM")
	}
}

// rowOutcomes lists the outcomes of the rows the tests table shows.
func rowOutcomes(dom string) []string {
	var out []string
	for _, m := range rowTagRE.FindAllStringSubmatch(dom, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestHTMLReport runs the htmldemo suite (passes, a failure, three crashes,
// a test that hangs past its 1 s timeout, exclusive tests and a test id
// made of markup) with --report-html and --events -, then loads the report
// in headless chromium.
func TestHTMLReport(t *testing.T) {
	needHerd(t)
	chromiumPath(t)
	dir := copySuite(t, "htmldemo")
	out := t.TempDir()
	page := filepath.Join(out, "report.html")
	jsonPath := filepath.Join(out, "report.json")
	start := time.Now()
	res := run(t, dir, baseEnv(), herdBin, "--python", python, "-n", "3",
		"--report-json", jsonPath, "--report-html", page, "--events", "-")
	t.Logf("herd ran the htmldemo suite in %v: exit %d", time.Since(start).Round(time.Millisecond), res.Code)
	if res.Code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", res.Code, tail(res.Stdout), tail(res.Stderr))
	}
	var rep struct {
		Tests []struct {
			NodeID  string `json:"nodeid"`
			Outcome string `json:"outcome"`
			Worker  string `json:"worker"`
		} `json:"tests"`
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	bars := 0
	for _, tc := range rep.Tests {
		count[tc.Outcome]++
		if tc.Worker != "" {
			bars++
		}
	}
	if count["crashed"] != 3 || count["timeout"] != 1 || count["failed"] != 2 {
		t.Fatalf("htmldemo outcomes %v, want 3 crashed, 1 timeout, 2 failed", count)
	}

	t.Run("event stream on stdout", func(t *testing.T) {
		checkEventStream(t, res.Stdout, len(rep.Tests))
		if !strings.Contains(res.Stderr, "test session starts") || !strings.Contains(res.Stderr, "3 crashed") {
			t.Errorf("with --events -, the terminal output should be on stderr:\n%s", tail(res.Stderr))
		}
	})

	t.Run("renders", func(t *testing.T) {
		dom := pageDOM(t, page, "")
		canvas := canvasTagRE.FindString(dom)
		if got := intAttr(t, canvas, "data-bars"); got != bars {
			t.Errorf("timeline has %d bars, want one per test that ran: %d", got, bars)
		}
		if got := intAttr(t, canvas, "data-crash-markers"); got != count["crashed"] {
			t.Errorf("timeline has %d crash markers, want %d", got, count["crashed"])
		}
		if got := intAttr(t, canvas, "data-timeout-markers"); got != count["timeout"] {
			t.Errorf("timeline has %d timeout markers, want %d", got, count["timeout"])
		}
		if got := len(rowOutcomes(dom)); got != len(rep.Tests) {
			t.Errorf("tests table shows %d rows, want %d", got, len(rep.Tests))
		}
		// The markup in the test id is text on the page, escaped in the
		// serialized DOM, never an element.
		escaped := `test_evil.py::test_id_with_markup[&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror="document.body.dataset.pwned=1"&gt;]`
		if !strings.Contains(dom, escaped) {
			t.Errorf("the test id made of markup is not shown as text")
		}
		if strings.Contains(dom, "<img") || strings.Count(dom, "<script") != 3 {
			t.Errorf("markup from a test id became part of the page")
		}
		for _, want := range []string{"Worker deaths", "test_native.py::test_segfault", "killed by signal SIGSEGV", "exclusive phase"} {
			if want == "exclusive phase" {
				// Drawn on the canvas; the legend names it.
				want = "exclusive phase: nothing else runs"
			}
			if !strings.Contains(dom, want) {
				t.Errorf("page does not show %q", want)
			}
		}
	})

	t.Run("filter from the URL", func(t *testing.T) {
		dom := pageDOM(t, page, "filter=failed")
		rows := rowOutcomes(dom)
		if len(rows) != count["failed"] {
			t.Errorf("#filter=failed shows %d rows, want %d: %v", len(rows), count["failed"], rows)
		}
		for _, o := range rows {
			if o != "failed" {
				t.Errorf("#filter=failed shows a %s row", o)
			}
		}
		canvas := canvasTagRE.FindString(dom)
		if got := intAttr(t, canvas, "data-visible-bars"); got != count["failed"] {
			t.Errorf("#filter=failed leaves %d bars in colour on the timeline, want %d", got, count["failed"])
		}
		if got := intAttr(t, canvas, "data-bars"); got != bars {
			t.Errorf("filtering changed the number of bars to %d", got)
		}
		table := testsTagRE.FindString(dom)
		if got := intAttr(t, table, "data-matched"); got != count["failed"] {
			t.Errorf("tests table data-matched = %d, want %d", got, count["failed"])
		}
	})

	t.Run("filter and search", func(t *testing.T) {
		dom := pageDOM(t, page, "filter=crashed,timeout&q=NATIVE")
		rows := rowOutcomes(dom)
		if len(rows) != 3 {
			t.Errorf("crashed and timeout tests matching \"NATIVE\": %d rows, want the 3 crashes: %v", len(rows), rows)
		}
	})

	t.Run("details of a crash", func(t *testing.T) {
		dom := pageDOM(t, page, "test=test_native.py::test_segfault")
		i := strings.Index(dom, `<aside id="details"`)
		if i < 0 || strings.HasPrefix(dom[i:], `<aside id="details" hidden`) {
			t.Fatalf("details panel not open")
		}
		panel := dom[i:]
		for _, want := range []string{"The worker died", "killed by signal SIGSEGV", "Fatal Python error: Segmentation fault",
			"Worker stderr (tail)", "Diagnosis", "crashed alone: yes"} {
			if !strings.Contains(panel, want) {
				t.Errorf("details panel lacks %q", want)
			}
		}
	})

	t.Run("details of the markup test", func(t *testing.T) {
		dom := pageDOM(t, page, "test="+evilID)
		if !strings.Contains(dom, "&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned=2&lt;/script&gt;") {
			t.Errorf("captured output with markup is not shown as text")
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		// HERD_UPDATE_SCREENSHOT=1 writes docs/html-report.png, the
		// README's picture; otherwise it goes to a temporary directory.
		shot := filepath.Join(t.TempDir(), "html-report.png")
		if os.Getenv("HERD_UPDATE_SCREENSHOT") != "" {
			shot = filepath.Join(repoRoot, "docs", "html-report.png")
			if err := os.MkdirAll(filepath.Dir(shot), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		u := (&url.URL{Scheme: "file", Path: page}).String()
		chromium(t, "--virtual-time-budget=5000", "--hide-scrollbars", "--screenshot="+shot, "--window-size=1400,900", u)
		png, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 20000 {
			t.Errorf("screenshot %s is not a PNG of a rendered page (%d bytes)", shot, len(png))
		}
	})
}

// checkEventStream checks herd's --events output: NDJSON only, every line
// with v 1, an event kind and a time that never goes back, one
// test_finished per test, and run_finished last.
func checkEventStream(t *testing.T, stream string, tests int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(stream))
	sc.Buffer(nil, 16<<20)
	kinds := map[string]int{}
	var last string
	prev := -1.0
	n := 0
	started := map[string]bool{}
	for sc.Scan() {
		n++
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d of the event stream is not JSON: %v\n%s", n, err, sc.Text())
		}
		if ev["v"] != 1.0 {
			t.Errorf("line %d: v = %v, want 1", n, ev["v"])
		}
		kind, _ := ev["event"].(string)
		tm, ok := ev["time"].(float64)
		if !ok || tm < prev {
			t.Errorf("line %d: time %v after %v", n, ev["time"], prev)
		}
		prev = tm
		kinds[kind]++
		last = kind
		switch kind {
		case "test_started":
			started[ev["nodeid"].(string)] = true
		case "test_finished":
			if _, ok := ev["crash"]; !ok {
				t.Errorf("line %d: test_finished without crash", n)
			}
			if ev["outcome"] == "crashed" && ev["crash"] == nil {
				t.Errorf("line %d: crashed test with a null crash", n)
			}
		case "run_finished":
			if ev["exit_status"] != "failed" {
				t.Errorf("run_finished exit_status = %v, want failed", ev["exit_status"])
			}
		}
	}
	if n == 0 {
		t.Fatal("no events on stdout")
	}
	if kinds["test_finished"] != tests {
		t.Errorf("%d test_finished events, want %d", kinds["test_finished"], tests)
	}
	if kinds["run_started"] != 1 || kinds["collected"] != 1 || last != "run_finished" {
		t.Errorf("events %v, last %s: want one run_started, one collected, run_finished last", kinds, last)
	}
	if kinds["worker_died"] < 4 || kinds["worker_started"] < 7 {
		t.Errorf("events %v: want at least 4 worker_died (3 crashes, 1 timeout) and 7 worker_started", kinds)
	}
	if !started[evilID] {
		t.Errorf("no test_started for %s", evilID)
	}
}

// TestHTMLReportLarge loads a report of 20,000 tests on 8 workers in the
// browser: it must render, draw every bar and show the table a page at a
// time.
func TestHTMLReportLarge(t *testing.T) {
	chromiumPath(t)
	r := &result.Run{Collected: 20000, Duration: 400 * time.Second, Info: result.Info{Version: "test", Workers: 8}}
	outcomes := []result.Outcome{result.Passed, result.Passed, result.Passed, result.Passed, result.Skipped, result.Failed}
	for i := 0; i < 20000; i++ {
		tc := &result.Test{NodeID: fmt.Sprintf("tests/test_mod%03d.py::TestThing::test_case[%d]", i/100, i),
			Outcome: outcomes[i%len(outcomes)], Worker: fmt.Sprintf("gw%d", i%8), Process: 1,
			Start: time.Duration(i/8) * 160 * time.Millisecond, Stop: time.Duration(i/8+1) * 160 * time.Millisecond,
			Duration: 160 * time.Millisecond}
		if tc.Outcome == result.Failed {
			tc.Longrepr = strings.Repeat("E   assert something == something else\n", 10)
			tc.Message = "assert something == something else"
		}
		r.Tests = append(r.Tests, tc)
	}
	page := filepath.Join(t.TempDir(), "large.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.WriteHTML(f, r, report.HTMLOptions{Title: "20,000 tests"}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, _ := os.Stat(page)
	t.Logf("report of 20,000 tests: %d bytes", st.Size())

	start := time.Now()
	dom := pageDOM(t, page, "")
	took := time.Since(start)
	t.Logf("the page says it loaded and rendered in %s ms", attr(bodyTagRE.FindString(dom), "data-render-ms"))
	canvas := canvasTagRE.FindString(dom)
	if got := intAttr(t, canvas, "data-bars"); got != 20000 {
		t.Errorf("data-bars = %d, want 20000", got)
	}
	if got := len(rowOutcomes(dom)); got != 500 {
		t.Errorf("the table shows %d rows, want the first 500", got)
	}
	if !strings.Contains(dom, "show 500 more (19500 not shown)") {
		t.Errorf("no \"show more\" button for the other 19,500 tests")
	}
	if took > 30*time.Second {
		t.Errorf("chromium took %v to load and render 20,000 tests", took)
	}

	dom = pageDOM(t, page, "filter=failed&q=test_mod01")
	// tests/test_mod010.py..test_mod019.py hold tests 1000..1999; every
	// sixth is failed.
	table := testsTagRE.FindString(dom)
	if got := intAttr(t, table, "data-matched"); got != 1000/6+1 {
		t.Errorf("failed tests in test_mod01*: %d, want %d", got, 1000/6+1)
	}
}
