package report

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/herd-run/herd/internal/result"
)

// JUnitOptions holds what a JUnit report needs beyond the run: pytest's
// junitxml settings, and the host name and time, passed in so the output is
// deterministic.
type JUnitOptions struct {
	// JUnit is pytest's junitxml settings (junit_suite_name,
	// junit_logging, junit_log_passing_tests, junit_duration_report,
	// junit_family, --junit-prefix); the zero value is pytest's defaults.
	result.JUnit
	Hostname string
	// Timestamp is when the run started.
	Timestamp time.Time
}

// WriteJUnit writes run as JUnit XML as pytest's --junitxml writes it
// (pytest 7's junitxml plugin): one testsuite holding a testcase per
// collection error, per module skipped at collection, and per test, in run
// order, with a second testcase for a teardown error that follows a
// failure. junit_logging chooses the captured output written (none by
// default), junit_family xunit1 adds the file and line attributes, and
// junit_duration_report=call times only the call. herd's own outcomes
// (crashed, timeout) are failures whose message names the outcome; a test
// that never ran is skipped with type herd.not_run. Characters XML cannot
// hold (control characters, invalid UTF-8) are shown as "#xNN" as pytest
// does.
func WriteJUnit(w io.Writer, run *result.Run, opts JUnitOptions) error {
	jw := &junitWriter{opts: opts, run: run}
	name := opts.SuiteName
	if name == "" {
		name = "pytest"
	}
	for _, ce := range run.CollectionErrors {
		jc := jw.newCase(ce.Path, "", 0)
		jc.element("error", "collection failure", "", ce.Message)
		jw.add(jc)
	}
	// pytest writes what collection reported before any test.
	for _, t := range run.Tests {
		if isCollectionSkip(t) {
			jc := jw.newCase(t.NodeID, "", 0)
			jc.element("skipped", "collection skipped", "", jw.collectionSkipText(t))
			jw.add(jc)
		}
	}
	for _, t := range run.Tests {
		if !isCollectionSkip(t) {
			jw.test(t)
		}
	}

	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString("<testsuites>")
	st := jw.stats
	fmt.Fprintf(&b, `<testsuite name="%s" errors="%d" failures="%d" skipped="%d" tests="%d" time="%.3f" timestamp="%s" hostname="%s">`,
		xmlAttr(name), st.errors, st.failures, st.skipped, st.passed+st.failures+st.skipped+st.errors-st.doubleFail,
		run.Duration.Seconds(), xmlAttr(isoTimestamp(opts.Timestamp)), xmlAttr(opts.Hostname))
	for _, jc := range jw.cases {
		jc.writeTo(&b, jw.xunit1())
	}
	b.WriteString("</testsuite></testsuites>")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

// junitStats counts what pytest's LogXML counts: the passed calls and the
// failure, error and skipped elements written, and the tests that got a
// second testcase for a teardown error after a failure.
type junitStats struct {
	passed, failures, errors, skipped, doubleFail int
}

// junitWriter builds the testcases of one report.
type junitWriter struct {
	opts  JUnitOptions
	run   *result.Run
	cases []*junitCase
	stats junitStats
}

// add appends a finished testcase and counts its elements as pytest does.
func (jw *junitWriter) add(jc *junitCase) {
	jw.stats.failures += jc.counts["failure"]
	jw.stats.errors += jc.counts["error"]
	jw.stats.skipped += jc.counts["skipped"]
	jw.cases = append(jw.cases, jc)
}

func (jw *junitWriter) xunit1() bool {
	return jw.opts.Family == "xunit1" || jw.opts.Family == "legacy"
}

// newCase starts a testcase named after nodeid, with --junit-prefix.
func (jw *junitWriter) newCase(nodeid, file string, line int) *junitCase {
	jc := newJUnitCase(nodeid, 0)
	if p := jw.opts.Prefix; p != "" {
		if jc.classname == "" {
			jc.classname = p
		} else {
			jc.classname = p + "." + jc.classname
		}
	}
	// xunit1's file and line: the test's location (line 0-based, as
	// pytest's report location has it); a collector has no line.
	jc.file, jc.line = file, line-1
	if file == "" {
		jc.file = splitNodeID(nodeid)[0]
	}
	return jc
}

// duration is the testcase time for the given phases (0 setup, 1 call, 2
// teardown) under junit_duration_report: total counts them all, call only
// the call.
func (jw *junitWriter) duration(t *result.Test, phases ...int) time.Duration {
	var d time.Duration
	switch jw.opts.DurationReport {
	case "", "total":
		if len(phases) == 3 {
			return t.Duration
		}
		if t.PhaseDurations == [3]time.Duration{} {
			// A test read back from a JSON report has only its total:
			// the call's testcase gets it.
			if slices.Contains(phases, 1) {
				return t.Duration
			}
			return 0
		}
		for _, p := range phases {
			d += t.PhaseDurations[p]
		}
	case "setup", "call", "teardown":
		p := map[string]int{"setup": 0, "call": 1, "teardown": 2}[jw.opts.DurationReport]
		for _, q := range phases {
			if q == p {
				d += t.PhaseDurations[p]
			}
		}
	}
	return d
}

// logPassing is junit_log_passing_tests: the output of a phase that
// passed is written.
func (jw *junitWriter) logPassing() bool { return !jw.opts.NoLogPassing }

// test adds the testcase (or two) of one test, following pytest's
// LogXML.pytest_runtest_logreport for the reports the test's outcome
// stands for.
func (jw *junitWriter) test(t *result.Test) {
	jc := jw.newCase(t.NodeID, t.File, t.Line)
	jc.duration = jw.duration(t, 0, 1, 2)
	// pytest adds the properties to the testcase open at teardown.
	defer func() { jc.properties = t.Properties }()
	out := t.Output
	if out == nil {
		out = t.Sections
	}
	// The teardown report, which passed unless an error came from it,
	// holds the output of every phase.
	teardownOut := func(failed bool) {
		if failed || jw.logPassing() {
			jc.captured(jw.opts.Logging, out)
		}
	}
	switch t.Outcome {
	case result.Passed, result.XPassed, result.Flaky:
		jw.stats.passed++
		teardownOut(false)
	case result.Failed:
		jc.element("failure", xmlMessage(t.Message, t.Longrepr), "", pyStrip(t.Longrepr))
		if !jw.logPassing() {
			jc.captured(jw.opts.Logging, phaseSections(out, "setup", "call"))
		}
		if len(t.Extra) == 0 {
			teardownOut(false)
			break
		}
		// pytest closes the failed testcase and opens another for the
		// teardown error.
		jc.duration = jw.duration(t, 0, 1)
		jw.attempts(jc, t)
		jw.add(jc)
		jw.stats.doubleFail++
		jc = jw.newCase(t.NodeID, t.File, t.Line)
		jc.duration = jw.duration(t, 2)
		for _, x := range t.Extra {
			jc.element("error", phaseErrorMessage("teardown", xmlMessage(x.Message, x.Longrepr)), "", pyStrip(x.Longrepr))
			xo := x.Sections
			if t.Output != nil {
				xo = t.Output
			}
			jc.captured(jw.opts.Logging, xo)
		}
		jw.add(jc)
		return
	case result.Error:
		when := t.When
		if when == "" {
			when = errorPhase(t)
		}
		if when == "teardown" {
			// The call passed (pytest counts it), then teardown failed.
			jw.stats.passed++
			jc.element("error", phaseErrorMessage("teardown", xmlMessage(t.Message, t.Longrepr)), "", pyStrip(t.Longrepr))
			teardownOut(true)
			break
		}
		jc.element("error", phaseErrorMessage("setup", xmlMessage(t.Message, t.Longrepr)), "", pyStrip(t.Longrepr))
		for _, x := range t.Extra {
			jc.element("error", phaseErrorMessage("teardown", xmlMessage(x.Message, x.Longrepr)), "", pyStrip(x.Longrepr))
		}
		teardownOut(len(t.Extra) > 0)
	case result.Skipped:
		jc.element("skipped", t.Message, "pytest.skip", jw.skipText(t))
		// The skip's own report, then the teardown's.
		if t.When == "setup" {
			jc.captured(jw.opts.Logging, phaseSections(out, "setup"))
		} else {
			jc.captured(jw.opts.Logging, phaseSections(out, "setup", "call"))
		}
		teardownOut(false)
	case result.XFailed:
		jc.element("skipped", strings.TrimPrefix(t.Message, "reason: "), "pytest.xfail", "")
		teardownOut(false)
	case result.Crashed:
		msg := "worker crashed"
		if cause := crashCause(t.Crash); cause != "" {
			msg += ": " + cause
		}
		jc.element("failure", msg, "", crashText(t))
		jc.captured(jw.opts.Logging, t.Sections)
	case result.Timeout:
		jc.element("failure", timeoutMessage(t), "", crashText(t))
		jc.captured(jw.opts.Logging, t.Sections)
	default:
		// not_run, and any outcome of herd's own a later herd adds.
		jc.element("skipped", failureMessage(t), "herd."+string(t.Outcome), "")
	}
	jw.attempts(jc, t)
	jw.add(jc)
}

// attempts adds the earlier tries of a retried test, as Maven Surefire
// writes reruns: flakyFailure when the test passed in the end,
// rerunFailure when not.
func (jw *junitWriter) attempts(jc *junitCase, t *result.Test) {
	tag := "rerunFailure"
	if t.Outcome == result.Flaky {
		tag = "flakyFailure"
	}
	for _, a := range t.Attempts {
		text := a.Longrepr
		if a.Crash != nil && a.Crash.StderrTail != "" {
			text += "\n" + a.Crash.StderrTail
		}
		jc.element(tag, firstNonEmpty(a.Message, string(a.Outcome)), string(a.Outcome), text)
	}
}

// skipText is the text of a skipped element as pytest writes it:
// "path:lineno: reason", the path absolute (herd's skip line has it
// relative to the directory pytest was started in).
func (jw *junitWriter) skipText(t *result.Test) string {
	if t.Longrepr == "" && t.File != "" {
		return fmt.Sprintf("%s:%d: %s", jw.absPath(t.File), t.Line, t.Message)
	}
	p, line, reason, ok := skipLocation(t.Longrepr)
	if !ok {
		return t.Longrepr
	}
	return fmt.Sprintf("%s:%d: %s", jw.absPath(p), line, reason)
}

// collectionSkipText is the text of a module skipped at collection, as
// pytest writes it: the repr of its (path, lineno, message) tuple.
func (jw *junitWriter) collectionSkipText(t *result.Test) string {
	p, line, reason, ok := skipLocation(t.Longrepr)
	if !ok {
		return t.Longrepr
	}
	return fmt.Sprintf("(%s, %d, %s)", pyRepr(jw.absPath(p)), line, pyRepr("Skipped: "+reason))
}

// absPath makes a path relative to the invocation directory absolute, as
// pytest's skip reports hold it.
func (jw *junitWriter) absPath(p string) string {
	dir := jw.run.Info.InvocationDir
	if dir == "" {
		dir = jw.run.Info.Rootdir
	}
	if dir == "" || path.IsAbs(p) {
		return p
	}
	return path.Join(dir, p)
}

// isCollectionSkip tells a module skipped at collection time, which a run
// holds as a skipped entry named by a path rather than a test's nodeid.
func isCollectionSkip(t *result.Test) bool {
	return t.Outcome == result.Skipped && t.Worker == "" && !strings.Contains(t.NodeID, "::")
}

// phaseSections keeps the sections captured in the given phases: what the
// report of the last of them holds.
func phaseSections(sections []result.Section, phases ...string) []result.Section {
	var out []result.Section
	for _, s := range sections {
		for _, p := range phases {
			if strings.HasSuffix(s.Title, " "+p) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// xmlMessage is the message attribute of a failure or error: the
// exception's one line, else the whole representation, as pytest takes
// reprcrash.message or str(longrepr).
func xmlMessage(message, longrepr string) string {
	if message != "" {
		return message
	}
	return pyStrip(longrepr)
}

// pyStrip strips white space from both ends as Python's str.strip does:
// pytest writes str(longrepr), which is stripped.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}

// pyRepr is Python's repr of a str: single quotes unless the text holds a
// single quote and no double quote, and backslash escapes for what is not
// printable.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// phaseErrorMessage is pytest's message for an error outside the call:
// `failed on setup with "reason"`.
func phaseErrorMessage(when, reason string) string {
	if when != "teardown" {
		when = "setup"
	}
	return fmt.Sprintf("failed on %s with \"%s\"", when, reason)
}

// crashText is the body of a crashed or timed-out test's failure element:
// its longrepr, the facts about the worker's death, and its stderr tail.
func crashText(t *result.Test) string {
	var blocks []string
	if lr := strings.TrimRight(t.Longrepr, "\n"); lr != "" {
		blocks = append(blocks, lr)
	}
	if details := crashDetails(t, 0); len(details) > 0 {
		blocks = append(blocks, strings.Join(details, "\n"))
	}
	if t.Crash != nil && t.Crash.StderrTail != "" {
		blocks = append(blocks, center(" Captured stderr (worker) ", 80, "-")+"\n"+strings.TrimRight(t.Crash.StderrTail, "\n"))
	}
	return strings.Join(blocks, "\n\n")
}

// firstNonEmpty returns a unless it is empty, else b.
func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// junitCase collects the XML of one testcase element.
type junitCase struct {
	classname, name string
	// file and line are xunit1's location attributes; line is 0-based,
	// -1 for none.
	file     string
	line     int
	duration time.Duration
	children strings.Builder
	// counts counts the child elements by tag, as pytest's stats do.
	counts map[string]int
	// properties are written first, in a <properties> element.
	properties []result.Property
}

// newJUnitCase names a testcase from a nodeid as pytest does: the path with
// "/" turned to "." and ".py" dropped, then the "::" parts; the last part is
// the name and the others form the classname.
func newJUnitCase(nodeid string, d time.Duration) *junitCase {
	names := splitNodeID(nodeid)
	names[0] = strings.TrimSuffix(strings.ReplaceAll(names[0], "/", "."), ".py")
	return &junitCase{
		classname: strings.Join(names[:len(names)-1], "."),
		name:      names[len(names)-1],
		line:      -1,
		duration:  d,
	}
}

// element adds a child such as <failure message="...">text</failure>; typ
// is the type attribute, left out when empty.
func (c *junitCase) element(tag, message, typ, text string) {
	if c.counts == nil {
		c.counts = make(map[string]int)
	}
	c.counts[tag]++
	c.children.WriteString("<" + tag)
	if typ != "" {
		c.children.WriteString(` type="` + xmlAttr(typ) + `"`)
	}
	c.children.WriteString(` message="` + xmlAttr(message) + `"`)
	if text == "" {
		c.children.WriteString(" />")
		return
	}
	c.children.WriteString(">" + xmlText(text) + "</" + tag + ">")
}

// captured writes a report's captured output as pytest's junit_logging
// says: "no" (the default) nothing; "log", "system-out", "system-err",
// "out-err" and "all" the captured log, stdout and stderr, each under a
// header, in <system-out> and <system-err>. As pytest does, a chosen kind
// is written even when nothing was captured.
func (c *junitCase) captured(logging string, sections []result.Section) {
	if logging == "" || logging == "no" {
		return
	}
	content := func(prefix, header string) string {
		var b strings.Builder
		for _, s := range sections {
			if strings.HasPrefix(s.Title, prefix) {
				b.WriteString(s.Content)
			}
		}
		return center(header, 80, "-") + "\n" + b.String() + "\n"
	}
	write := func(tag, text string) {
		c.children.WriteString("<" + tag + ">" + xmlText(text) + "</" + tag + ">")
	}
	all := ""
	if logging == "log" || logging == "all" {
		all = content("Captured log", " Captured Log ")
	}
	if logging == "system-out" || logging == "out-err" || logging == "all" {
		write("system-out", all+content("Captured stdout", " Captured Out "))
		all = ""
	}
	if logging == "system-err" || logging == "out-err" || logging == "all" {
		write("system-err", all+content("Captured stderr", " Captured Err "))
		all = ""
	}
	if all != "" {
		write("system-out", all)
	}
}

// writeTo writes the testcase element, self-closed when it has no children
// as ElementTree writes it; xunit1 adds the file and line attributes.
func (c *junitCase) writeTo(b *bytes.Buffer, xunit1 bool) {
	fmt.Fprintf(b, `<testcase classname="%s" name="%s"`, xmlAttr(c.classname), xmlAttr(c.name))
	if xunit1 {
		fmt.Fprintf(b, ` file="%s"`, xmlAttr(c.file))
		if c.line >= 0 {
			fmt.Fprintf(b, ` line="%d"`, c.line)
		}
	}
	fmt.Fprintf(b, ` time="%.3f"`, c.duration.Seconds())
	if c.children.Len() == 0 && len(c.properties) == 0 {
		b.WriteString(" />")
		return
	}
	b.WriteString(">")
	if len(c.properties) > 0 {
		b.WriteString("<properties>")
		for _, p := range c.properties {
			fmt.Fprintf(b, `<property name="%s" value="%s" />`, xmlAttr(p.Name), xmlAttr(p.Value))
		}
		b.WriteString("</properties>")
	}
	b.WriteString(c.children.String() + "</testcase>")
}

// isoTimestamp formats t as Python's datetime.isoformat does for a naive
// time: microseconds only when there are any.
func isoTimestamp(t time.Time) string {
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s
}

// xmlVisible replaces what XML 1.0 cannot hold by a visible "#xNN" marker,
// as pytest's bin_xml_escape does: control characters other than tab,
// newline and carriage return, U+FFFE and U+FFFF, and each byte of invalid
// UTF-8.
func xmlVisible(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "#x%02X", s[i])
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "#x%02X", r)
		case r == 0xfffe || r == 0xffff || r > 0xffff:
			// pytest's pattern of valid characters stops at U+FFFD.
			fmt.Fprintf(&b, "#x%04X", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// xmlText makes s safe as XML character data.
func xmlText(s string) string { return xmlEscape(xmlVisible(s), false) }

// xmlAttr makes s safe as a double-quoted XML attribute value.
func xmlAttr(s string) string { return xmlEscape(xmlVisible(s), true) }

// xmlEscape escapes XML's markup characters; in an attribute also the
// quote and the whitespace a parser would otherwise normalise away.
func xmlEscape(s string, attr bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case attr && r == '"':
			b.WriteString("&quot;")
		case attr && r == '\n':
			b.WriteString("&#10;")
		case attr && r == '\r':
			b.WriteString("&#13;")
		case attr && r == '\t':
			b.WriteString("&#09;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
