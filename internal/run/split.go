package run

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/schedule"
)

// splitState gathers a split collection. The first worker to send its
// files decides the shares: each worker slot collects (imports) its share of
// the files, and the run's collection is their union, in file order, once
// every share is in.
type splitState struct {
	files []protocol.File
	// pos is each file's place in collection order.
	pos map[string]int
	// shares[slot] are the files that slot's worker collects first;
	// pending holds the slots whose share is not in yet.
	shares  [][]string
	pending map[int]bool
	// home[file] is 1 + the slot whose worker collected it.
	home map[string]int
	// What the shares brought.
	tests      []protocol.TestInfo
	errors     []protocol.CollectionError
	skips      []protocol.CollectionError
	deselected int
}

// durations returns the durations recorded by earlier runs, read once.
func (d *dispatcher) durations() map[string]time.Duration {
	if !d.knownRead {
		d.knownRead = true
		if d.cfg.Durations != nil {
			d.known = d.cfg.Durations(d.run.Info.CacheDir)
		}
	}
	return d.known
}

// onFiles takes a worker's files (split collection). The first decides the
// shares; each worker of the first generation is sent its share to collect.
// A worker that comes later (a replacement, the spare, an isolated test's
// process) collects nothing up front: it collects what it is handed.
func (d *dispatcher) onFiles(s *slotState, m *protocol.Message) {
	s.proc.split = true
	if d.split == nil && !d.haveColl {
		sp := &splitState{files: m.Files, pos: make(map[string]int, len(m.Files)),
			pending: map[int]bool{}, home: make(map[string]int, len(m.Files)),
			errors: m.Errors, skips: m.Skips, deselected: m.Deselected}
		for i, f := range m.Files {
			sp.pos[f.ID] = i
		}
		sp.shares = schedule.ShareFiles(m.Files, d.durations(), d.cfg.Workers)
		for slot, share := range sp.shares {
			if len(share) > 0 {
				sp.pending[slot] = true
			}
			for _, f := range share {
				sp.home[f] = slot + 1
			}
		}
		d.split = sp
	}
	sp := d.split
	if sp == nil || d.haveColl || !sp.pending[s.idx] {
		d.markCollected(s)
		if sp != nil && !d.haveColl && len(sp.pending) == 0 {
			d.adoptSplit()
		}
		return
	}
	share := sp.shares[s.idx]
	// Files only this worker found (a collection that differs between
	// processes) are its own to collect.
	for _, f := range m.Files {
		if _, ok := sp.pos[f.ID]; !ok {
			share = append(share, f.ID)
		}
	}
	s.proc.lastMsg = d.now()
	s.proc.h.Send(protocol.Command{Type: protocol.CmdCollect, Files: share})
}

// markCollected records that s may now be given tests.
func (d *dispatcher) markCollected(s *slotState) {
	s.proc.collected = true
	s.startupDeaths = 0
	d.startupStreak = 0
	s.blocked = ""
}

// onShare takes the collection of a slot's share; the last one makes the
// run's collection.
func (d *dispatcher) onShare(s *slotState, m *protocol.Message) {
	d.markCollected(s)
	sp := d.split
	if sp == nil || d.haveColl || !sp.pending[s.idx] {
		return
	}
	delete(sp.pending, s.idx)
	sp.tests = append(sp.tests, m.Tests...)
	sp.errors = append(sp.errors, m.Errors...)
	sp.skips = append(sp.skips, m.Skips...)
	sp.deselected += m.Deselected
	if len(sp.pending) == 0 {
		d.adoptSplit()
	}
}

// shareLost ends the wait for the share of a slot that is not replaced
// any more: its files become collection errors, as a crash while
// collecting them is under pytest.
func (d *dispatcher) shareLost(s *slotState, how, stderr string) {
	sp := d.split
	if sp == nil || d.haveColl || !sp.pending[s.idx] {
		return
	}
	delete(sp.pending, s.idx)
	msg := fmt.Sprintf("herd: the worker collecting this file died, %d times in a row (last: %s)", s.startupDeaths, how)
	if t := strings.TrimSpace(stderr); t != "" {
		msg += "\n" + t
	}
	for _, f := range sp.shares[s.idx] {
		sp.errors = append(sp.errors, protocol.CollectionError{Path: f, Message: msg})
	}
	if len(sp.pending) == 0 {
		d.adoptSplit()
	}
}

// adoptSplit makes the union of the shares the run's collection, in
// collection order: by file, then as each file's worker listed them.
func (d *dispatcher) adoptSplit() {
	sp := d.split
	fileOf := func(id string) int {
		for k := len(id); k > 0; {
			if p, ok := sp.pos[id[:k]]; ok {
				return p
			}
			k = strings.LastIndex(id[:k], "::")
		}
		return len(sp.files)
	}
	tests := sp.tests
	pos := make([]int, len(tests))
	for i, t := range tests {
		pos[i] = fileOf(t.ID)
	}
	idx := make([]int, len(tests))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pos[idx[a]] < pos[idx[b]] })
	ordered := make([]protocol.TestInfo, len(tests))
	for k, i := range idx {
		ordered[k] = tests[i]
	}
	sort.SliceStable(sp.errors, func(a, b int) bool { return fileOf(sp.errors[a].Path) < fileOf(sp.errors[b].Path) })
	sp.tests = nil
	d.adopt(&protocol.Message{Tests: ordered, Errors: sp.errors, Skips: sp.skips, Deselected: sp.deselected})
}

// homeOf returns 1 + the slot whose worker collected test id in a split
// collection, or 0.
func (d *dispatcher) homeOf(id string) int {
	if d.split == nil {
		return 0
	}
	for k := len(id); k > 0; {
		if h, ok := d.split.home[id[:k]]; ok {
			return h
		}
		k = strings.LastIndex(id[:k], "::")
	}
	return 0
}

// maxRefusals is how many processes may fail to collect one test before it
// is an error: a file collected late that gives other tests than its first
// collection is retried in a fresh process, which collects it as the first
// did; a file that differs even there (test ids drawn at random) differs
// every time, so a third try would only waste a process start.
const maxRefusals = 3

// acceptFor returns the filter of the tests s's process can run, or nil
// when it can run them all: it takes neither the tests its collection
// lacked (without split collection) nor those it could not collect late.
func (d *dispatcher) acceptFor(s *slotState) func(int) bool {
	if s.proc.known == nil && d.refusals == 0 {
		return nil
	}
	return func(i int) bool {
		t := d.tests[i]
		if s.proc.known != nil && !s.proc.known[t.info.ID] {
			return false
		}
		return !t.refusedBy(s.idx, s.gen)
	}
}

// onMissing takes back the tests s's process was handed and could not
// collect (its late collection of their files differed): they go to
// another process, never to this one again.
func (d *dispatcher) onMissing(s *slotState, ids []string) {
	var back []int
	for _, id := range ids {
		i, ok := d.byID[id]
		if !ok {
			continue
		}
		t := d.tests[i]
		if t.status != assigned || t.slot != s.idx {
			continue
		}
		d.removeQueued(s, i)
		if len(t.refused) == 0 {
			d.refusals++
		}
		t.refused = append(t.refused, procRef{s.idx, s.gen})
		d.setStatus(t, pending)
		if d.stopping {
			d.notRun(i, d.stopReason())
		} else {
			back = append(back, i)
		}
	}
	if len(back) > 0 {
		d.plan.Requeue(s.idx, back, d.pols)
	}
}

// retireForFresh shuts down one idle worker when a test that waits was
// refused by every live process but may still be collected by a fresh
// one; the slot's replacement then takes it. It reports whether it did.
func (d *dispatcher) retireForFresh() bool {
	if d.refusals == 0 {
		return false
	}
	want := false
	for _, t := range d.tests {
		if t.status == pending && len(t.refused) > 0 && len(t.refused) < maxRefusals {
			want = true
			break
		}
	}
	if !want {
		return false
	}
	for _, s := range d.slots {
		if s.proc.alive && s.proc.idle && s.proc.collected && !s.proc.shutdown && !s.proc.diag.busy() {
			d.sendShutdown(s)
			return true
		}
	}
	return false
}
