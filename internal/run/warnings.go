package run

import (
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
