package run

import (
	"slices"
	"strings"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

// procWarning is one warning raised outside any test by one worker
// process (slot and generation).
type procWarning struct {
	slot, gen int
	w         result.Warning
}

// addWarning records a warning a worker process reported. A test's
// warnings are all kept. A warning raised outside any test, while a file
// was imported or pytest configured, comes from every process that
// imported that file or configured pytest, where serial pytest does it
// once: the run keeps of each such warning as many as the one process
// that raised it most often.
func (d *dispatcher) addWarning(s *slotState, pw *protocol.Warning) {
	w := result.Warning{NodeID: pw.NodeID, Message: pw.Message}
	if pw.When == "collect" || pw.When == "config" {
		if d.procWarns == nil {
			d.procWarns = make(map[procWarning]int)
			d.procWarnMax = make(map[result.Warning]int)
		}
		k := procWarning{s.idx, s.gen, w}
		d.procWarns[k]++
		if d.procWarns[k] <= d.procWarnMax[w] {
			return
		}
		d.procWarnMax[w] = d.procWarns[k]
	}
	d.run.Warnings = append(d.run.Warnings, w)
}

// sortWarnings puts a run's warnings in the order serial pytest raises
// them, whatever order the workers reported them in: first those raised
// outside the collected files (pytest's configuration, a conftest), then
// those raised while a file was imported, in the files' collection order,
// then the tests', in collection order. The sort is stable, so warnings of
// one place keep the order they came in.
func sortWarnings(tests []*result.Test, ws []result.Warning) {
	testIdx := make(map[string]int, len(tests))
	fileIdx := make(map[string]int)
	for i, t := range tests {
		testIdx[t.NodeID] = i
		file, _, _ := strings.Cut(t.NodeID, "::")
		if _, ok := fileIdx[file]; !ok {
			fileIdx[file] = i
		}
	}
	// key ranks a warning: its stage (0 configuration, 1 import, 2 test),
	// then its place in the collection.
	key := func(w result.Warning) (int, int) {
		if i, ok := testIdx[w.NodeID]; ok {
			return 2, i
		}
		file := w.NodeID
		if i := strings.LastIndexByte(file, ':'); i > 0 && !strings.Contains(file, "::") {
			file = file[:i]
		}
		file, _, _ = strings.Cut(file, "::")
		if i, ok := fileIdx[file]; ok {
			return 1, i
		}
		return 0, 0
	}
	slices.SortStableFunc(ws, func(a, b result.Warning) int {
		sa, ia := key(a)
		sb, ib := key(b)
		if sa != sb {
			return sa - sb
		}
		return ia - ib
	})
}
