package run

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

// orphanScanEvery spaces the scans for orphans: a scan reads a few /proc
// files, cheap once but not per test of a 100,000-test run.
const orphanScanEvery = 100 * time.Millisecond

type procInfo struct {
	slot int
	// current is the test the process runs now, or -1; last is the test
	// it ran last, -1 before its first.
	current, last int
}

// scanOrphans finds processes reparented to herd, kills them, and reports
// each as a leak of the test its worker ran last. Unless force, it scans at
// most every orphanScanEvery.
func (d *dispatcher) scanOrphans(force bool) {
	if d.cfg.Orphans == nil {
		return
	}
	now := d.now()
	if !force && now.Sub(d.lastScan) < orphanScanEvery {
		return
	}
	d.lastScan = now
	keep := make(map[int]bool, len(d.pids))
	for pid := range d.pids {
		keep[pid] = true
	}
	for _, o := range d.cfg.Orphans(keep) {
		if d.orphansSeen[o.PID] {
			continue
		}
		d.orphansSeen[o.PID] = true
		syscall.Kill(o.PID, syscall.SIGKILL)
		leak := []protocol.Leak{{Kind: "process", PID: o.PID, What: o.Cmd}}
		p := d.pids[o.PGID]
		if p != nil && p.current >= 0 {
			// Its worker is still running the test that left it (the
			// scan came first): the test's result will carry it.
			t := d.tests[p.current]
			desc := fmt.Sprintf("process %d (%s), killed by herd", o.PID, o.Cmd)
			t.res.Leaks = append(t.res.Leaks, desc)
			d.run.Warnings = append(d.run.Warnings, result.Warning{NodeID: t.res.NodeID, Message: "herd: leaked " + desc})
			continue
		}
		if p != nil && p.last >= 0 {
			t := d.tests[p.last]
			if t.status == done {
				// Its outcome was reported already: a warning only.
				desc := fmt.Sprintf("process %d (%s), killed by herd", o.PID, o.Cmd)
				t.res.Leaks = append(t.res.Leaks, desc)
				d.run.Warnings = append(d.run.Warnings, result.Warning{NodeID: t.res.NodeID, Message: "herd: leaked " + desc})
			} else {
				d.recordLeaks(t.res, leak)
			}
			continue
		}
		desc := fmt.Sprintf("process %d (%s), killed by herd; no test can be named", o.PID, o.Cmd)
		d.run.Warnings = append(d.run.Warnings, result.Warning{Message: "herd: leaked " + desc})
	}
}

// recordLeaks attaches what a test left running to its result: a warning, or
// with LeaksFail a failure of a test that otherwise passed.
func (d *dispatcher) recordLeaks(res *result.Test, leaks []protocol.Leak) {
	for _, l := range leaks {
		var desc string
		switch l.Kind {
		case "process":
			desc = fmt.Sprintf("process %d (%s), killed by herd", l.PID, l.What)
		default:
			desc = l.What + " still running"
		}
		if l.Scope != "" {
			desc += " (set up with the fixtures of " + l.Scope + ")"
		}
		res.Leaks = append(res.Leaks, desc)
		d.run.Warnings = append(d.run.Warnings, result.Warning{NodeID: res.NodeID, Message: "herd: leaked " + desc})
	}
	if len(res.Leaks) > 0 && d.cfg.LeaksFail && res.Outcome == result.Passed {
		res.Outcome = result.Failed
		res.Message = "leaked " + res.Leaks[0]
		res.Longrepr = "herd --leaks fail: the test left running:\n  " + strings.Join(res.Leaks, "\n  ")
	}
}
