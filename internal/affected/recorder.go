package affected

import (
	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

// Recorder gathers the dependencies workers send during one run. Its
// Message method is called by the dispatcher's goroutine only; Fold reads
// it once the run is over.
type Recorder struct {
	// fps holds each slot's fingerprints by path, as its current process
	// sent them: a file that changed during the run is recorded as the
	// test that depended on it saw it.
	fps     map[int]map[string]protocol.Fingerprint
	index   map[Entry]int
	entries []Entry
	tests   map[string]map[int]bool
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{
		fps:   map[int]map[string]protocol.Fingerprint{},
		index: map[Entry]int{},
		tests: map[string]map[int]bool{},
	}
}

// Message takes one fp or deps message from the worker in slot. A new
// process in a slot sends its fingerprints again, replacing the old ones.
func (r *Recorder) Message(slot int, m *protocol.Message) {
	switch m.Type {
	case protocol.TypeFingerprint:
		if m.Fingerprint == nil {
			return
		}
		t := r.fps[slot]
		if t == nil {
			t = map[string]protocol.Fingerprint{}
			r.fps[slot] = t
		}
		t[m.Fingerprint.Path] = *m.Fingerprint
	case protocol.TypeDeps:
		set := r.tests[m.ID]
		if set == nil {
			// A test that runs again (--retries, a rerun alone) adds
			// to what its earlier tries depended on.
			set = map[int]bool{}
			r.tests[m.ID] = set
		}
		for _, k := range m.Keys {
			set[r.intern(r.entryOf(slot, k))] = true
		}
	}
}

// entryOf is key as the slot's fingerprint of its file describes it. A
// key with no fingerprint gets an empty hash, which never matches the
// file again: the test reruns rather than being missed.
func (r *Recorder) entryOf(slot int, k protocol.DepKey) Entry {
	e := Entry{Path: k.Path, Part: k.Part}
	fp, ok := r.fps[slot][k.Path]
	if !ok {
		e.FileSHA = "?"
		return e
	}
	e.FileSHA = fp.SHA
	if k.Part == "" {
		e.Hash = fp.SHA
	} else {
		e.Hash = fp.Parts[k.Part]
	}
	return e
}

func (r *Recorder) intern(e Entry) int {
	if i, ok := r.index[e]; ok {
		return i
	}
	r.index[e] = len(r.entries)
	r.entries = append(r.entries, e)
	return len(r.entries) - 1
}

// Recorded says how many tests sent their dependencies.
func (r *Recorder) Recorded() int { return len(r.tests) }

// Fold returns the store after run: old's records (nil: none), with each
// test that ran to an outcome given that outcome and, when it sent its
// dependencies, those; a test that ran without sending them (it crashed,
// or recording was off) keeps no dependencies unless recording was off
// (recording false), when it keeps its old ones. Tests that did not run
// keep their records. env, python and pytest describe the run.
func (r *Recorder) Fold(old *Store, run *result.Run, recording bool, env map[string]string) *Store {
	s := &Store{Tests: map[string]Record{}, Env: env, Python: run.Info.Python, Pytest: run.Info.Pytest}
	idx := map[Entry]int{}
	add := func(e Entry) int {
		if i, ok := idx[e]; ok {
			return i
		}
		idx[e] = len(s.Entries)
		s.Entries = append(s.Entries, e)
		return len(s.Entries) - 1
	}
	keepOld := func(id string, rec Record) Record {
		deps := make([]int, len(rec.Deps))
		for i, d := range rec.Deps {
			deps[i] = add(old.Entries[d])
		}
		return Record{Outcome: rec.Outcome, Deps: deps}
	}
	if old != nil {
		for id, rec := range old.Tests {
			s.Tests[id] = keepOld(id, rec)
		}
	}
	for _, t := range run.Tests {
		if t.Outcome == result.NotRun || t.Outcome == result.Interrupted || t.Outcome == "" {
			continue
		}
		set, sent := r.tests[t.NodeID]
		switch {
		case sent:
			deps := make([]int, 0, len(set))
			for i := range set {
				deps = append(deps, add(r.entries[i]))
			}
			s.Tests[t.NodeID] = Record{Outcome: string(t.Outcome), Deps: deps}
		case !recording:
			if rec, ok := s.Tests[t.NodeID]; ok {
				rec.Outcome = string(t.Outcome)
				s.Tests[t.NodeID] = rec
			}
		default:
			// It ran but told nothing: without a record it runs
			// next time.
			delete(s.Tests, t.NodeID)
		}
	}
	return s
}

// Misses are the tests sel left out whose outcome in run differs from the
// one store recorded for them: what --verify reports.
func Misses(sel Selection, tests []protocol.TestInfo, store *Store, run *result.Run) []result.Miss {
	if store == nil {
		return nil
	}
	out := map[string]*result.Test{}
	for _, t := range run.Tests {
		out[t.NodeID] = t
	}
	var misses []result.Miss
	for i, ti := range tests {
		if i >= len(sel.Keep) || sel.Keep[i] {
			continue
		}
		t, ok := out[ti.ID]
		rec, known := store.Tests[ti.ID]
		if !ok || !known || t.Outcome == result.NotRun || t.Outcome == result.Interrupted {
			continue
		}
		if string(t.Outcome) != rec.Outcome {
			misses = append(misses, result.Miss{NodeID: ti.ID, Was: result.Outcome(rec.Outcome), Now: t.Outcome})
		}
	}
	return misses
}
