package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herd-run/herd/internal/result"
)

// JUnitOptions holds what a JUnit report needs beyond the run; the host name
// and time are passed in so the output is deterministic.
type JUnitOptions struct {
	// SuiteName names the testsuite; empty means "pytest", like pytest's
	// junit_suite_name default.
	SuiteName string
	Hostname  string
	// Timestamp is when the run started.
	Timestamp time.Time
}

// WriteJUnit writes run as JUnit XML in the shape pytest's --junitxml writes
// with its default xunit2 family: one testsuite holding a testcase per
// collection error and per test, in run order. Characters XML cannot hold
// (control characters, invalid UTF-8) are shown as "#xNN" as pytest does.
func WriteJUnit(w io.Writer, run *result.Run, opts JUnitOptions) error {
	name := opts.SuiteName
	if name == "" {
		name = "pytest"
	}
	counts := run.Summary()
	failures := counts[result.Failed] + counts[result.Crashed] + counts[result.Timeout]
	skipped := counts[result.Skipped] + counts[result.XFailed] + counts[result.NotRun] + counts[result.Interrupted]

	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString("<testsuites>")
	fmt.Fprintf(&b, `<testsuite name="%s" errors="%d" failures="%d" skipped="%d" tests="%d" time="%.3f" timestamp="%s" hostname="%s">`,
		xmlAttr(name), errorCount(run), failures, skipped, len(run.Tests)+len(run.CollectionErrors),
		run.Duration.Seconds(), xmlAttr(isoTimestamp(opts.Timestamp)), xmlAttr(opts.Hostname))
	for _, ce := range run.CollectionErrors {
		jc := newJUnitCase(ce.Path, 0)
		jc.element("error", "collection failure", "", ce.Message)
		jc.writeTo(&b)
	}
	for _, t := range run.Tests {
		writeJUnitTest(&b, t)
	}
	b.WriteString("</testsuite></testsuites>")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

// writeJUnitTest writes the testcase of t, and one more testcase for each
// extra error phase, as pytest opens a new testcase for a teardown error.
func writeJUnitTest(b *bytes.Buffer, t *result.Test) {
	jc := newJUnitCase(t.NodeID, t.Duration)
	switch t.Outcome {
	case result.Failed:
		jc.element("failure", firstNonEmpty(t.Message, t.Longrepr), "", t.Longrepr)
	case result.Error:
		jc.element("error", phaseErrorMessage(errorPhase(t), firstNonEmpty(t.Message, t.Longrepr)), "", t.Longrepr)
	case result.Skipped:
		reason := strings.TrimPrefix(t.Message, "Skipped: ")
		text := t.Longrepr
		if text == "" && t.File != "" {
			text = fmt.Sprintf("%s:%d: %s", t.File, t.Line, reason)
		}
		jc.element("skipped", reason, "pytest.skip", text)
	case result.XFailed:
		jc.element("skipped", strings.TrimPrefix(t.Message, "reason: "), "pytest.xfail", "")
	case result.Crashed:
		msg := "worker crashed"
		if cause := crashCause(t.Crash); cause != "" {
			msg += ": " + cause
		}
		jc.element("failure", msg, "", crashText(t))
	case result.Timeout:
		jc.element("failure", timeoutMessage(t), "", crashText(t))
	case result.NotRun:
		jc.element("skipped", failureMessage(t), "herd.not_run", "")
	case result.Interrupted:
		jc.element("skipped", failureMessage(t), "herd.interrupted", "")
	}
	// Earlier tries of a retried test, as Maven Surefire writes reruns:
	// flakyFailure when the test passed in the end, rerunFailure when not.
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
	jc.captured(t.Sections)
	jc.writeTo(b)

	for _, p := range t.Extra {
		ec := newJUnitCase(t.NodeID, 0)
		ec.element("error", phaseErrorMessage(p.When, firstNonEmpty(p.Message, p.Longrepr)), "", p.Longrepr)
		ec.captured(p.Sections)
		ec.writeTo(b)
	}
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
	duration        time.Duration
	children        strings.Builder
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
		duration:  d,
	}
}

// element adds a child such as <failure message="...">text</failure>; typ
// is the type attribute, left out when empty.
func (c *junitCase) element(tag, message, typ, text string) {
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

// captured adds the captured output sections: stderr sections go to
// system-err, everything else (stdout, log) to system-out. Each section is
// headed by its title centred in dashes, as pytest's junit_logging writes.
func (c *junitCase) captured(sections []result.Section) {
	var out, errOut strings.Builder
	for _, s := range sections {
		block := center(" "+s.Title+" ", 80, "-") + "\n" + s.Content + "\n"
		if strings.Contains(strings.ToLower(s.Title), "stderr") {
			errOut.WriteString(block)
		} else {
			out.WriteString(block)
		}
	}
	if out.Len() > 0 {
		c.children.WriteString("<system-out>" + xmlText(out.String()) + "</system-out>")
	}
	if errOut.Len() > 0 {
		c.children.WriteString("<system-err>" + xmlText(errOut.String()) + "</system-err>")
	}
}

// writeTo writes the testcase element, self-closed when it has no children
// as ElementTree writes it.
func (c *junitCase) writeTo(b *bytes.Buffer) {
	fmt.Fprintf(b, `<testcase classname="%s" name="%s" time="%.3f"`, xmlAttr(c.classname), xmlAttr(c.name), c.duration.Seconds())
	if c.children.Len() == 0 {
		b.WriteString(" />")
		return
	}
	b.WriteString(">" + c.children.String() + "</testcase>")
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
		case r == 0xfffe || r == 0xffff:
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
