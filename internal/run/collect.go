package run

import (
	"fmt"
	"slices"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/schedule"
)

func (d *dispatcher) onCollected(s *slotState, m *protocol.Message) {
	// This slot works: whatever blocked it (the deaths of others) is over.
	d.markCollected(s)
	if !d.haveColl {
		d.adopt(m)
	} else if !sameCollection(d.tests, m.Tests) {
		s.proc.known = make(map[string]bool, len(m.Tests))
		for _, ti := range m.Tests {
			s.proc.known[ti.ID] = true
		}
	}
}

// adopt makes m the run's collection: the tests, their policies and the
// plan.
func (d *dispatcher) adopt(m *protocol.Message) {
	d.haveColl = true
	d.run.Deselected = m.Deselected
	for _, e := range m.Errors {
		d.run.CollectionErrors = append(d.run.CollectionErrors, result.CollectionError{Path: e.Path, Message: e.Message})
	}
	known := d.durations()
	var lastFailed map[string]bool
	if d.failedFirst && d.cfg.LastFailed != nil {
		lastFailed = d.cfg.LastFailed(d.run.Info.CacheDir)
	}
	polFn := func(protocol.TestInfo) schedule.Policy { return schedule.Policy{} }
	if d.cfg.Policies != nil {
		fn, err := d.cfg.Policies(d.run.Info.Rootdir)
		if err != nil {
			d.fatal = err
			d.stopWorkers()
			return
		}
		polFn = fn
	}
	// Drop duplicate node ids into a slice of our own: the message's may be
	// shared (a decoder's buffer, a fake worker's suite).
	infos := make([]protocol.TestInfo, 0, len(m.Tests))
	seen := make(map[string]bool, len(m.Tests))
	for _, ti := range m.Tests {
		if !seen[ti.ID] {
			seen[ti.ID] = true
			infos = append(infos, ti)
		}
	}
	seen = nil
	pols := make([]schedule.Policy, len(infos))
	for k, ti := range infos {
		pols[k] = polFn(ti)
	}
	if d.cfg.Affected != nil {
		keep, info, err := d.cfg.Affected(infos)
		if err != nil {
			d.fatal = err
			d.stopWorkers()
			return
		}
		n := len(infos)
		infos, pols = kept(infos, pols, keep)
		d.run.Unaffected += n - len(infos)
		d.run.Affected = info
	}
	if d.cfg.Select != nil {
		keep, err := d.cfg.Select(infos, pols, known)
		if err != nil {
			d.fatal = err
			d.stopWorkers()
			return
		}
		n := len(infos)
		infos, pols = kept(infos, pols, keep)
		d.run.Deselected += n - len(infos)
	}
	// One allocation for all the tests' states and one for their results:
	// a run of 100,000 tests then costs the collector two objects, not
	// 200,000.
	st := make([]schedule.Test, 0, len(infos))
	states := make([]testState, len(infos))
	results := make([]result.Test, len(infos))
	d.tests = slices.Grow(d.tests, len(infos)+len(m.Skips))
	d.run.Tests = slices.Grow(d.run.Tests, len(infos)+len(m.Skips))
	if len(d.byID) == 0 {
		d.byID = make(map[string]int, len(infos)+len(m.Skips))
	}
	for k, ti := range infos {
		d.byID[ti.ID] = len(d.tests)
		res := &results[k]
		*res = result.Test{NodeID: ti.ID, File: ti.File, Line: ti.Line, Markers: ti.Markers}
		states[k] = testState{info: ti, res: res, slot: -1}
		d.tests = append(d.tests, &states[k])
		d.count[pending]++
		d.run.Tests = append(d.run.Tests, res)
		st = append(st, schedule.Test{ID: ti.ID, Estimate: known[ti.ID], First: lastFailed[ti.ID], Home: d.homeOf(ti.ID)})
	}
	for _, sk := range m.Skips {
		// A module skipped at collection time is one skipped entry, as
		// pytest counts it.
		if _, dup := d.byID[sk.Path]; dup {
			continue
		}
		d.byID[sk.Path] = len(d.tests)
		res := &result.Test{NodeID: sk.Path, Outcome: result.Skipped, Longrepr: sk.Message, Message: skipReason(sk.Message)}
		d.tests = append(d.tests, &testState{res: res, status: done, slot: -1})
		d.count[done]++
		d.run.Tests = append(d.run.Tests, res)
	}
	d.run.Collected = len(infos)
	d.pols = pols
	for k := range st {
		if pols[k].Kind != schedule.Normal {
			d.tests[k].res.Policy = pols[k].Kind.String()
		}
	}
	if d.cfg.Queue != nil {
		src, err := d.cfg.Queue(infos, pols, known, d.signalWake)
		if err != nil {
			d.fatal = err
			d.stopWorkers()
			return
		}
		d.plan = src
	} else {
		d.plan = localSource{schedule.NewPlan(st, d.pols, d.cfg.Workers)}
	}
	if d.plan.Isolated() > 0 && !d.stopping {
		// Every isolated test discards its worker, and a new one takes
		// a moment to start and collect. One spare process, started
		// now, collects while others run, so a slot freed by an
		// isolated test is filled at once. Tests still run on at most
		// Workers processes at a time.
		spare := newSlot(len(d.slots))
		d.slots = append(d.slots, spare)
		d.spawn(spare)
	}
	d.emit(result.Event{Kind: result.Collected, Run: d.run})
	if len(d.run.CollectionErrors) > 0 && !d.cfg.ContinueOnCollectionErrors {
		n := len(d.run.CollectionErrors)
		d.run.Interrupted = true
		d.run.InterruptReason = fmt.Sprintf("%d %s during collection", n, plural(n, "error"))
		d.stopAll("not run: the run was interrupted by collection errors")
	} else if d.interrupted > 0 {
		d.stopAll(interruptedReason)
	} else if n := len(d.run.CollectionErrors); n > 0 && d.cfg.MaxFail > 0 {
		// pytest counts a file that failed to collect towards --maxfail
		// (--continue-on-collection-errors), and stops before any test
		// when that reaches it.
		d.failures += n
		if d.failures >= d.cfg.MaxFail {
			d.run.MaxfailReached = true
			d.run.InterruptReason = fmt.Sprintf("stopping after %d failures", d.failures)
			d.stopAll(d.maxfailReason())
		}
	}
	d.offerIdle()
}

// applyOptions adopts what the pytest options say (ini addopts included)
// where herd's own command line said nothing.
func (d *dispatcher) applyOptions(o *protocol.Options) {
	if o == nil {
		return
	}
	if d.cfg.MaxFail == 0 && o.MaxFail > 0 {
		d.cfg.MaxFail = o.MaxFail
	}
	if d.cfg.Timeout == 0 && o.Timeout > 0 {
		d.cfg.Timeout = time.Duration(o.Timeout * float64(time.Second))
	}
	if o.ContinueOnCollectionErrors {
		d.cfg.ContinueOnCollectionErrors = true
	}
	d.failedFirst = o.FailedFirst
	ro := &d.run.Info.Options
	ro.Verbose = o.Verbose
	ro.ReportChars = o.ReportChars
	ro.TBStyle = o.TBStyle
	ro.ShowCapture = o.ShowCapture
	ro.Durations = -1
	if o.Durations != nil {
		ro.Durations = *o.Durations
	}
	ro.DurationsMin = o.DurationsMin
	ro.JUnitXML = o.JUnitXML
	if j := o.JUnit; j != nil {
		ro.JUnit = result.JUnit{SuiteName: j.SuiteName, Logging: j.Logging, NoLogPassing: !j.LogPassingTests,
			DurationReport: j.DurationReport, Family: j.Family, Prefix: j.Prefix}
	}
}

func sameCollection(tests []*testState, got []protocol.TestInfo) bool {
	n := 0
	for _, t := range tests {
		if t.info.ID != "" {
			n++
		}
	}
	if n != len(got) {
		return false
	}
	for i, ti := range got {
		if i >= len(tests) || tests[i].info.ID != ti.ID {
			return false
		}
	}
	return true
}

// kept returns the tests (and their policies) that keep says run.
func kept(infos []protocol.TestInfo, pols []schedule.Policy, keep []bool) ([]protocol.TestInfo, []schedule.Policy) {
	var ki []protocol.TestInfo
	var kp []schedule.Policy
	for k := range infos {
		if keep[k] {
			ki = append(ki, infos[k])
			kp = append(kp, pols[k])
		}
	}
	return ki, kp
}
