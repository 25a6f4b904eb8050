package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/result"
)

// htmlRun is mixedRun laid out in time on two worker slots: gw1 dies on
// test_segv and comes back as gw1 #2, gw0 is killed when test_hang times
// out and comes back as gw0 #2, test_fail passed on its second try, and two
// exclusive tests run at the end.
func htmlRun() *result.Run {
	run := fullRun()
	at := func(t *result.Test, worker string, process int, start, stop int) {
		t.Worker, t.Process, t.Start, t.Stop = worker, process, ms(start), ms(stop)
		t.Duration = ms(stop - start)
	}
	ts := run.Tests
	at(ts[0], "gw0", 1, 10, 40)   // test_pass
	at(ts[1], "gw0", 1, 400, 520) // test_fail
	ts[1].Attempts = []result.Attempt{{Outcome: result.Failed, Worker: "gw0", Process: 1, Start: ms(40), Stop: ms(390),
		Duration: ms(350), Message: "assert 1 == 2", Longrepr: failLongrepr}}
	at(ts[2], "gw1", 1, 10, 30)   // test_err
	at(ts[3], "gw1", 1, 30, 31)   // test_skip
	at(ts[4], "gw0", 1, 520, 530) // test_xf
	at(ts[5], "gw1", 2, 700, 710) // test_xp
	at(ts[6], "gw1", 2, 710, 900) // test_warn
	ts[6].Leaks = []string{"process 1234: sleep 100"}
	at(ts[7], "gw0", 3, 5600, 5610) // TestC::test_m
	at(ts[8], "gw1", 1, 31, 151)    // test_segv
	at(ts[9], "gw0", 1, 530, 560)   // test_exit: crashed in setup
	at(ts[10], "gw0", 2, 580, 5580) // test_hang
	ts[9].Process, ts[10].Process = 1, 2
	ts[9].Crash.PriorTests = []string{"test_a.py::test_pass", "test_a.py::test_fail", "test_a.py::test_xf"}
	ts[10].Message = "timeout after 5s"
	ts = append(ts,
		&result.Test{NodeID: `test_x.py::test_evil[</script><img src=x onerror="document.body.dataset.pwned=1">]`,
			Outcome: result.Failed, Message: "</script><b>bold</b>", Longrepr: "E   assert '<!--' == '</script>'\n"},
		&result.Test{NodeID: "test_serial.py::test_one", Outcome: result.Passed, Policy: "exclusive"},
		&result.Test{NodeID: "test_serial.py::test_two", Outcome: result.Passed, Policy: "exclusive"},
	)
	at(ts[12], "gw1", 2, 900, 950)
	at(ts[13], "gw1", 2, 5620, 5800)
	at(ts[14], "gw1", 2, 5800, 6000)
	run.Tests = ts
	run.Collected = len(ts)
	run.Duration = ms(6010)
	run.WorkerDeaths = 3
	return run
}

var htmlTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func writeHTMLString(t *testing.T, run *result.Run, opts HTMLOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, run, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteHTMLGolden(t *testing.T) {
	out := writeHTMLString(t, htmlRun(), HTMLOptions{Title: "herd report: demo", Generated: htmlTime})
	checkGoldenFirstDiff(t, "report.html", []byte(out))
}

// checkGoldenFirstDiff is checkGolden for long files: on a difference it
// shows the first line that differs, not both files.
func checkGoldenFirstDiff(t *testing.T, name string, got []byte) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
	if *update || err != nil || bytes.Equal(got, want) {
		checkGolden(t, name, got)
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			t.Errorf("%s differs from testdata/%s.golden at line %d (go test ./internal/report -update rewrites it):\n got: %.300q\nwant: %.300q", name, name, i+1, gl, wl)
			return
		}
	}
}

// htmlDataOf extracts and decodes the page's JSON data block.
func htmlDataOf(t *testing.T, page string) map[string]any {
	t.Helper()
	const open = `<script type="application/json" id="herd-data">`
	i := strings.Index(page, open)
	if i < 0 {
		t.Fatal("no data block")
	}
	rest := page[i+len(open):]
	j := strings.Index(rest, "</script>")
	if j < 0 {
		t.Fatal("data block not closed")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(rest[:j]), &m); err != nil {
		t.Fatalf("data block is not JSON: %v", err)
	}
	return m
}

// TestWriteHTMLCannotBreakOut checks that text from the tests (nodeids,
// messages, longreprs) never appears raw in the page: only the page's own
// four elements open or close a script.
func TestWriteHTMLCannotBreakOut(t *testing.T) {
	page := writeHTMLString(t, htmlRun(), HTMLOptions{Title: "</title><script>alert(1)</script>"})
	if n := strings.Count(page, "<script"); n != 3 {
		t.Errorf("page has %d <script elements, want 3 (error counter, data, program)", n)
	}
	if n := strings.Count(page, "</script>"); n != 3 {
		t.Errorf("page has %d </script>, want 3", n)
	}
	for _, raw := range []string{"<img", "<b>", "<!--", "onerror=\"document"} {
		if strings.Contains(page, raw) {
			t.Errorf("page contains %q raw", raw)
		}
	}
	if !strings.Contains(page, `<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>`) {
		t.Errorf("title not escaped")
	}
	data := htmlDataOf(t, page)
	tests := data["tests"].([]any)
	evil := tests[12].(map[string]any)
	if evil["id"] != `test_x.py::test_evil[</script><img src=x onerror="document.body.dataset.pwned=1">]` {
		t.Errorf("nodeid did not survive the round trip: %q", evil["id"])
	}
	if data["title"] != "</title><script>alert(1)</script>" {
		t.Errorf("title = %q", data["title"])
	}
}

// TestHTMLScriptUsesNoHTMLParsing keeps the page's script to DOM calls and
// textContent: nothing from the data is ever parsed as HTML.
func TestHTMLScriptUsesNoHTMLParsing(t *testing.T) {
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "createContextualFragment", "DOMParser", "srcdoc"} {
		if strings.Contains(htmlJS, bad) {
			t.Errorf("html_report.js uses %s", bad)
		}
	}
	for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url("} {
		if strings.Contains(htmlJS, bad) || strings.Contains(htmlCSS, bad) {
			t.Errorf("page refers to something outside itself: %s", bad)
		}
	}
}

// TestHTMLContentSecurityPolicy checks that the CSP allows exactly the
// page's two scripts: an injected script or event handler would not run
// even if it got into the page.
func TestHTMLContentSecurityPolicy(t *testing.T) {
	page := writeHTMLString(t, htmlRun(), HTMLOptions{})
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSP meta")
	}
	csp := strings.ReplaceAll(m[1], "&#39;", "'")
	for _, want := range []string{"default-src 'none'", scriptHash(htmlErrorCounter), scriptHash(htmlJS)} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	_, scripts, _ := strings.Cut(csp, "script-src ")
	if strings.Contains(scripts, "unsafe") {
		t.Errorf("CSP allows any inline script or handler: %s", csp)
	}
	if !strings.Contains(page, "<script>"+htmlJS+"</script>") || !strings.Contains(page, "<script>"+htmlErrorCounter+"</script>") {
		t.Error("the scripts in the page are not the ones hashed")
	}
}

func TestHTMLData(t *testing.T) {
	d := htmlReportData(htmlRun(), HTMLOptions{Generated: htmlTime})
	var labels []string
	for _, l := range d.Lanes {
		labels = append(labels, l.Label)
	}
	if want := []string{"gw0", "gw0 #2", "gw0 #3", "gw1", "gw1 #2"}; !reflect.DeepEqual(labels, want) {
		t.Errorf("lanes = %q, want %q", labels, want)
	}
	if d.Title != "herd report" || d.Generated != "2024-05-06 07:08:09 UTC" {
		t.Errorf("title, generated = %q, %q", d.Title, d.Generated)
	}
	deaths := map[string]string{}
	for _, l := range d.Lanes {
		if l.Death >= 0 {
			deaths[l.Label] = fmt.Sprintf("%s %s at %v", d.Tests[l.Death].NodeID, l.DeathKind, l.DeathAt)
		}
	}
	want := map[string]string{
		"gw0":    "test_native.py::test_exit crashed at 0.56",
		"gw0 #2": "test_slow.py::test_hang timeout at 5.58",
		"gw1":    "test_native.py::test_segv crashed at 0.151",
	}
	if !reflect.DeepEqual(deaths, want) {
		t.Errorf("deaths = %v, want %v", deaths, want)
	}
	if !reflect.DeepEqual(d.Exclusive, [][2]float64{{5.62, 6}}) {
		t.Errorf("exclusive bands = %v, want [[5.62 6]]", d.Exclusive)
	}
	if len(d.Slowest) != 14 || d.Tests[d.Slowest[0]].NodeID != "test_slow.py::test_hang" {
		t.Errorf("slowest = %v", d.Slowest)
	}
	for i, tt := range d.Tests {
		if (tt.Lane < 0) != (htmlRun().Tests[i].Worker == "") {
			t.Errorf("%s: lane %d for worker %q", tt.NodeID, tt.Lane, htmlRun().Tests[i].Worker)
		}
	}
	fail := d.Tests[1]
	if len(fail.Attempts) != 1 || fail.Attempts[0].Lane != 0 || fail.Attempts[0].Start != 0.04 {
		t.Errorf("attempts of test_fail = %+v", fail.Attempts)
	}
	if c := d.Tests[8].Crash; c == nil || c.Verdict != "worker gw1 crashed during call: killed by signal SIGSEGV" || c.Cause != "SIGSEGV" {
		t.Errorf("crash of test_segv = %+v", c)
	}
	if c := d.Tests[10].Crash; c == nil || c.Verdict != "worker gw0 #2 was stopped during call: killed by signal SIGKILL (kill stage: SIGKILL)" {
		t.Errorf("crash of test_hang = %+v", c)
	}
}

// TestExclusiveBandsSplit checks that an exclusive test with other work
// starting between it and the next makes its own band.
func TestExclusiveBandsSplit(t *testing.T) {
	run := &result.Run{Tests: []*result.Test{
		{NodeID: "a", Outcome: result.Passed, Worker: "gw0", Policy: "exclusive", Start: ms(0), Stop: ms(10)},
		{NodeID: "b", Outcome: result.Passed, Worker: "gw0", Start: ms(10), Stop: ms(20)},
		{NodeID: "c", Outcome: result.Passed, Worker: "gw1", Policy: "exclusive", Start: ms(30), Stop: ms(40)},
		{NodeID: "d", Outcome: result.Passed, Worker: "gw1", Policy: "exclusive", Start: ms(40), Stop: ms(45)},
		{NodeID: "e", Outcome: result.NotRun, Policy: "exclusive"},
	}}
	if got, want := exclusiveBands(run), [][2]float64{{0, 0.01}, {0.03, 0.045}}; !reflect.DeepEqual(got, want) {
		t.Errorf("bands = %v, want %v", got, want)
	}
}

func TestWriteHTMLEmptyRun(t *testing.T) {
	page := writeHTMLString(t, &result.Run{}, HTMLOptions{})
	d := htmlDataOf(t, page)
	for _, k := range []string{"lanes", "tests", "slowest", "exclusive", "collection_errors"} {
		if l, ok := d[k].([]any); !ok || len(l) != 0 {
			t.Errorf("%s = %v, want []", k, d[k])
		}
	}
	if d["status"] != "no_tests" {
		t.Errorf("status = %v", d["status"])
	}
}

func TestWriteHTMLLarge(t *testing.T) {
	run := &result.Run{Info: testInfo(), Collected: 20000, Duration: 100 * time.Second}
	for i := 0; i < 20000; i++ {
		run.Tests = append(run.Tests, &result.Test{NodeID: fmt.Sprintf("tests/test_m%03d.py::test_%d", i/100, i),
			Outcome: result.Passed, Worker: fmt.Sprintf("gw%d", i%8), Process: 1,
			Start: time.Duration(i/8) * 40 * time.Millisecond, Stop: time.Duration(i/8+1) * 40 * time.Millisecond,
			Duration: 40 * time.Millisecond})
	}
	start := time.Now()
	page := writeHTMLString(t, run, HTMLOptions{})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("writing 20,000 tests took %v", d)
	}
	if len(page) > 5<<20 {
		t.Errorf("page for 20,000 passing tests is %d bytes", len(page))
	}
}

func TestWriteHTMLWriteError(t *testing.T) {
	err := WriteHTML(failingWriter{}, htmlRun(), HTMLOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "write html report: ") || errors.Unwrap(err) == nil {
		t.Errorf("err = %v, want a wrapped write error", err)
	}
}
