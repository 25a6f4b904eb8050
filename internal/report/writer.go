package report

import (
	"strings"
	"unicode/utf8"
)

// ANSI escape codes for the markup pytest's TerminalWriter knows.
const (
	escReset  = "\x1b[0m"
	escBold   = "\x1b[1m"
	escRed    = "\x1b[31m"
	escGreen  = "\x1b[32m"
	escYellow = "\x1b[33m"
	escCyan   = "\x1b[36m"
)

// colorCode returns the escape code of a colour name used in this package.
func colorCode(name string) string {
	switch name {
	case "red":
		return escRed
	case "green":
		return escGreen
	case "yellow":
		return escYellow
	case "cyan":
		return escCyan
	}
	return ""
}

// termWriter is a small model of pytest's TerminalWriter plus the bit of
// TerminalReporter state (currentfspath) that decides where blank lines go.
// It buffers everything; the owner flushes the buffer to the real writer.
type termWriter struct {
	buf strings.Builder
	// width is the full terminal width used for separators.
	width int
	// color enables ANSI markup.
	color bool
	// curLine is the text written since the last newline.
	curLine string
	// pendingNL mirrors pytest's currentfspath: a line is in progress whose
	// end must be followed by a newline before the next section, which is
	// why pytest leaves a blank line after the progress region.
	pendingNL bool
}

// markup wraps text in the given escape codes when colour is on.
func (w *termWriter) markup(text string, codes ...string) string {
	if !w.color || text == "" {
		return text
	}
	var open strings.Builder
	for _, c := range codes {
		open.WriteString(c)
	}
	if open.Len() == 0 {
		return text
	}
	return open.String() + text + escReset
}

// write writes s, remembering what is on the current line.
func (w *termWriter) write(s string) {
	w.emit(s, s)
}

// emit writes raw, which shows as plain on the terminal, and tracks plain
// as the content of the current line.
func (w *termWriter) emit(plain, raw string) {
	if i := strings.LastIndexByte(plain, '\n'); i >= 0 {
		w.curLine = plain[i+1:]
	} else {
		w.curLine += plain
	}
	w.buf.WriteString(raw)
}

// writeMarked writes plain text with markup.
func (w *termWriter) writeMarked(plain string, codes ...string) {
	w.emit(plain, w.markup(plain, codes...))
}

// line writes s and a newline, like TerminalWriter.line.
func (w *termWriter) line(s string, codes ...string) {
	w.writeMarked(s, codes...)
	w.write("\n")
}

// ensureNewline ends the line in progress, like TerminalReporter's
// ensure_newline; it also ends an unfinished line of progress letters.
func (w *termWriter) ensureNewline() {
	if w.pendingNL || w.curLine != "" {
		w.write("\n")
	}
	w.pendingNL = false
}

// writeLine is TerminalReporter.write_line: a line of its own.
func (w *termWriter) writeLine(s string, codes ...string) {
	w.ensureNewline()
	w.line(s, codes...)
}

// sep writes a full-width separator line, optionally with a centred title,
// exactly as pytest's TerminalWriter.sep lays it out.
func (w *termWriter) sep(char, title string, codes ...string) {
	w.ensureNewline()
	w.line(sepLine(char, title, w.width), codes...)
}

// sepLine returns pytest's separator layout for title in a terminal
// fullwidth columns wide. Like pytest, it measures the title in code
// points, not columns.
func sepLine(char, title string, fullwidth int) string {
	return sepLineWidth(char, title, utf8.RuneCountInString(title), fullwidth)
}

// sepLineWidth is sepLine for a title whose length without escape codes is
// given, so a marked-up title is laid out by its plain text.
func sepLineWidth(char, title string, titleWidth, fullwidth int) string {
	var line string
	if title != "" {
		n := (fullwidth - titleWidth - 2) / (2 * len(char))
		if n < 1 {
			n = 1
		}
		fill := strings.Repeat(char, n)
		line = fill + " " + title + " " + fill
		titleWidth = 2*n*len(char) + 2 + titleWidth
	} else {
		line = strings.Repeat(char, fullwidth/len(char))
		titleWidth = len(line)
	}
	if extra := strings.TrimRight(char, " "); titleWidth+len(extra) <= fullwidth {
		line += extra
	}
	return line
}

// textWidth estimates how many terminal columns s takes, counting East Asian
// wide characters and most emoji as two columns and combining marks as none.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// runeWidth is the column width of one rune (a simplified wcwidth).
func runeWidth(r rune) int {
	switch {
	case r == utf8.RuneError:
		return 1
	case r < 0x20 || (r >= 0x7f && r < 0xa0):
		return 0
	case r >= 0x300 && r <= 0x36f, r >= 0x200b && r <= 0x200f, r >= 0xfe00 && r <= 0xfe0f:
		return 0
	case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf && r != 0x303f,
		r >= 0xac00 && r <= 0xd7a3, r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f,
		r >= 0xff00 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6,
		r >= 0x1f300 && r <= 0x1f64f, r >= 0x1f900 && r <= 0x1f9ff,
		r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}

// truncateWidth cuts s so that it takes at most width columns.
func truncateWidth(s string, width int) string {
	n := 0
	for i, r := range s {
		n += runeWidth(r)
		if n > width {
			return s[:i]
		}
	}
	return s
}
