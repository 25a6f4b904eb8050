package doctor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people: findings grouped by the file of
// their test, one block per finding, then the diagnosed tests, then one
// closing line.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var files []string
	byFile := map[string][]Finding{}
	for _, f := range r.Findings {
		file := fileOf(f.NodeID)
		if _, ok := byFile[file]; !ok {
			files = append(files, file)
		}
		byFile[file] = append(byFile[file], f)
	}
	for i, file := range files {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		fmt.Fprintln(bw, file)
		for _, f := range byFile[file] {
			writeFinding(bw, f)
		}
	}
	if len(r.Diagnosed) > 0 {
		if len(files) > 0 {
			fmt.Fprintln(bw)
		}
		fmt.Fprintln(bw, "crashed only beside other tests in earlier runs")
		for _, d := range r.Diagnosed {
			fmt.Fprintf(bw, "  %s\n    %s\n    add %s\n", d.NodeID, d.Summary, d.Marker)
		}
	}
	if r.Found() {
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw, r.ClosingLine())
	return bw.Flush()
}

func writeFinding(w io.Writer, f Finding) {
	k := kinds[f.Kind]
	what := k.what
	if what == "" {
		what = f.Kind
	}
	switch {
	case f.Scope == ScopeFixture && f.Via != "":
		what += " in " + f.Via
	case f.Scope == ScopeFixture:
	case f.Fixture != "" && f.Via != "":
		what += fmt.Sprintf(" in %s, called by fixture %s", f.Via, f.Fixture)
	case f.Fixture != "":
		what += " in fixture " + f.Fixture
	case f.Via != "":
		what += " in " + f.Via
	}
	head := f.NodeID
	// herd applies the policy only to a marked test: say so, and what
	// the marker makes herd do.
	advice := fmt.Sprintf("not %s unless marked: add %s", f.Policy, f.Marker)
	them := "it"
	switch f.Scope {
	case ScopeModule:
		head += " (at import)"
		advice += " to the module"
		them = "its tests"
	case ScopeFixture:
		head += " (fixture; no test found requests it)"
		advice += " to the tests that use it"
		them = "each"
	}
	switch f.Policy {
	case Isolated:
		advice += fmt.Sprintf(" (herd then runs %s in a fresh worker process of its own)", them)
	case Exclusive:
		advice += fmt.Sprintf(" (herd then runs %s with nothing else running)", them)
	}
	fmt.Fprintf(w, "  %s: %s [%s]\n", head, what, f.Kind)
	fmt.Fprintf(w, "    %s:%d: %s\n", f.File, f.Line, f.Evidence)
	fmt.Fprintf(w, "    %s\n", advice)
}

// ClosingLine says in one line what was found, as in
// "herd doctor: 7 risks in 5 tests".
func (r *Report) ClosingLine() string {
	var line string
	if len(r.Findings) == 0 {
		line = fmt.Sprintf("herd doctor: no risks found in %s", plural(r.Files, "file", "files"))
	} else {
		seen := map[string]bool{}
		count := map[string]int{}
		for _, f := range r.Findings {
			if !seen[f.NodeID] {
				seen[f.NodeID] = true
				count[f.Scope]++
			}
		}
		var where []string
		for _, s := range []struct{ scope, one, many string }{
			{ScopeTest, "test", "tests"},
			{ScopeModule, "module", "modules"},
			{ScopeFixture, "unused fixture", "unused fixtures"},
		} {
			if n := count[s.scope]; n > 0 {
				where = append(where, plural(n, s.one, s.many))
			}
		}
		line = fmt.Sprintf("herd doctor: %s in %s", plural(len(r.Findings), "risk", "risks"), joinAnd(where))
	}
	if n := len(r.Diagnosed); n > 0 {
		line += fmt.Sprintf("; %s crashed only beside other tests", plural(n, "test", "tests"))
	}
	return line
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// jsonReport is the --json document.
type jsonReport struct {
	Version   int         `json:"version"`
	Findings  []Finding   `json:"findings"`
	Diagnosed []Diagnosed `json:"diagnosed"`
	Notes     []string    `json:"notes"`
}

// WriteJSON writes the report as one JSON document:
// {"version":1,"findings":[...],"diagnosed":[...],"notes":[...]}; the lists
// are empty, never null, when there is nothing.
func (r *Report) WriteJSON(w io.Writer) error {
	doc := jsonReport{Version: 1, Findings: r.Findings, Diagnosed: r.Diagnosed, Notes: r.Notes}
	if doc.Findings == nil {
		doc.Findings = []Finding{}
	}
	if doc.Diagnosed == nil {
		doc.Diagnosed = []Diagnosed{}
	}
	if doc.Notes == nil {
		doc.Notes = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
