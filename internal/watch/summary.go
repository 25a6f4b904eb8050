package watch

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ClearScreen moves the cursor home and clears the screen (ANSI).
const ClearScreen = "\x1b[H\x1b[2J"

// Round is what one round's summary says.
type Round struct {
	// N numbers the rounds from 1.
	N int
	// Trigger says what started it: "start", "a: all tests", "f: failed
	// tests", or a save (Files set).
	Trigger string
	// Files are the changed files that started it, if a save did.
	Files []string
	// Line is pytest's closing line ("2 failed, 3 passed in 0.61s"), or
	// what stands for it when the round ended without one.
	Line string
	// Note, when set, is a line about the round's workers (warm, replaced).
	Note string
	// Failures are the short test summary's lines ("FAILED id - msg").
	Failures []string
	// Dir is the watched directory.
	Dir string
}

// maxNamedFiles is how many changed files the header names before "and N
// more": a save is usually one file, a checkout many.
const maxNamedFiles = 3

// Header is the round's first line: its number and its trigger.
func (r Round) Header() string {
	trigger := r.Trigger
	if len(r.Files) > 0 {
		names := r.Files
		more := ""
		if len(names) > maxNamedFiles {
			more = fmt.Sprintf(" and %d more", len(names)-maxNamedFiles)
			names = names[:maxNamedFiles]
		}
		trigger = "changed: " + strings.Join(names, ", ") + more
	}
	return fmt.Sprintf("herd watch: round %d (%s)", r.N, trigger)
}

// Footer is the round's last line: what is watched and the keys.
func (r Round) Footer() string {
	return fmt.Sprintf("watching %s — a: run all, f: failed only, q: quit", r.Dir)
}

// Lines lays the summary out in at most height lines of width columns
// (no limit when zero): the header, the closing line, the note, the
// failures (cut to fit, with "and N more"), and the footer.
func (r Round) Lines(width, height int) []string {
	out := []string{r.Header(), r.Line}
	if r.Note != "" {
		out = append(out, r.Note)
	}
	failures := r.Failures
	if height > 0 {
		room := height - len(out) - 1
		if room < 0 {
			room = 0
		}
		if len(failures) > room {
			keep := room - 1
			if keep < 0 {
				keep = 0
			}
			more := fmt.Sprintf("and %d more", len(failures)-keep)
			failures = append(append([]string(nil), failures[:keep]...), more)
			if room == 0 {
				failures = nil
			}
		}
	}
	out = append(out, failures...)
	out = append(out, r.Footer())
	if height > 0 && len(out) > height {
		// Too small a screen even for the frame: the closing line and
		// the footer matter most.
		out = []string{r.Line, r.Footer()}[:min(height, 2)]
	}
	if width > 0 {
		for i, l := range out {
			out[i] = cut(l, width)
		}
	}
	return out
}

// cut shortens s to width columns (runes), ending it with "..." when it
// was longer.
func cut(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	if width <= 3 {
		return string(r[:width])
	}
	return string(r[:width-3]) + "..."
}

// ansi matches the escape sequences of pytest's colored output.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// sepLine matches a line framed by = or ! signs (pytest's sections and
// closing line), capturing its title.
var sepLine = regexp.MustCompile(`^[=!]+ (.*?) [=!]+$`)

// ParseOutput reads a round's terminal output (pytest's, as herd writes
// it) for its summary: the closing line, without its frame, and the lines
// of the short test summary. The closing line is the last line of the
// output that is not empty.
func ParseOutput(text string) (line string, failures []string) {
	text = ansi.ReplaceAllString(text, "")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	last := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			last = i
			break
		}
	}
	if last < 0 {
		return "", nil
	}
	line = strings.TrimSpace(lines[last])
	if m := sepLine.FindStringSubmatch(line); m != nil {
		line = m[1]
	}
	in := false
	for _, l := range lines[:last] {
		if m := sepLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			in = m[1] == "short test summary info"
			continue
		}
		if in && strings.TrimSpace(l) != "" {
			failures = append(failures, strings.TrimRight(l, " "))
		}
	}
	return line, failures
}
