package queue

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/herd-run/herd/internal/codec"
	"github.com/herd-run/herd/internal/result"
)

// Status says how complete a queue run is.
type Status struct {
	// Total is the number of seeded tests; Missing those without a result.
	Total   int
	Missing []Missing
	// Machines are the machines that joined, the seeding one first.
	Machines []MachineStatus
}

// Complete reports whether every seeded test has a result.
func (s *Status) Complete() bool { return len(s.Missing) == 0 }

// Live reports whether a machine that joined still heartbeats.
func (s *Status) Live() bool {
	for _, m := range s.Machines {
		if m.Alive {
			return true
		}
	}
	return false
}

// Missing is a test without a result, and where it is.
type Missing struct {
	NodeID string
	// Where says where the test is: "in the queue", "leased by NAME",
	// "leased by NAME, which stopped answering", or "in no item".
	Where string
}

// MachineStatus is one machine's part of the run.
type MachineStatus struct {
	Name string
	// Ran counts the tests whose result this machine reported.
	Ran int
	// Alive says its heartbeat is current; Finished that it ended its run.
	Alive, Finished bool
	Workers         int
}

// Whole builds the whole run from a full snapshot: every seeded test once,
// in collection order, with the result a machine reported, or not_run with
// where it is when none did; the modules skipped at import and the
// collection errors every machine reports, once; each machine's warnings
// (a warning every machine reports, as collection warnings are, once);
// workers named "machine:gwN", with their start and stop times on one
// clock from the first machine's start.
func Whole(s *Snapshot) (*result.Run, *Status, error) {
	recs := map[string]*machineRecord{}
	var names []string
	for name, raw := range s.Machines {
		var rec machineRecord
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			return nil, nil, fmt.Errorf("read the record of %s: %w", name, err)
		}
		recs[name] = &rec
	}
	seen := map[string]bool{}
	for name := range recs {
		names = append(names, name)
		seen[name] = true
	}
	for name := range s.Alive {
		if !seen[name] {
			names = append(names, name)
			seen[name] = true
		}
	}
	sort.Slice(names, func(a, b int) bool {
		if (names[a] == s.Meta.SeededBy) != (names[b] == s.Meta.SeededBy) {
			return names[a] == s.Meta.SeededBy
		}
		return names[a] < names[b]
	})
	var t0 int64
	for _, r := range recs {
		if r.Start > 0 && (t0 == 0 || r.Start < t0) {
			t0 = r.Start
		}
	}
	offset := func(machine string) time.Duration {
		if r := recs[machine]; r != nil && r.Start > 0 && t0 > 0 {
			return time.Duration(r.Start-t0) * time.Millisecond
		}
		return 0
	}

	where := map[string]string{}
	locate := func(raws []string, place string) {
		for _, raw := range raws {
			if it, err := parseItem(raw); err == nil {
				for _, id := range it.Tests {
					if _, ok := where[id]; !ok {
						where[id] = place
					}
				}
			}
		}
	}
	for _, name := range names {
		place := "leased by " + name
		if !s.Alive[name] {
			place += ", which stopped answering"
		}
		locate(s.Leases[name], place)
	}
	locate(s.Queue, "in the queue")

	run := &result.Run{Collected: len(s.NodeIDs)}
	st := &Status{Total: len(s.NodeIDs)}
	ran := map[string]int{}
	end := map[string]time.Duration{}
	for _, id := range s.NodeIDs {
		raw, ok := s.Results[id]
		if !ok || raw == "" {
			w := where[id]
			if w == "" {
				w = "in no item"
			}
			st.Missing = append(st.Missing, Missing{NodeID: id, Where: w})
			run.Tests = append(run.Tests, &result.Test{NodeID: id, Outcome: result.NotRun,
				Reason: "not run: no machine reported a result (" + w + ")"})
			continue
		}
		machine, t, err := decodeResult(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", id, err)
		}
		off := offset(machine)
		t.Start += off
		t.Stop += off
		for k := range t.Attempts {
			t.Attempts[k].Start += off
			t.Attempts[k].Stop += off
		}
		ran[machine]++
		if t.Stop > end[machine] {
			end[machine] = t.Stop
		}
		run.Tests = append(run.Tests, t)
	}

	skipped := map[string]bool{}
	errSeen := map[result.CollectionError]bool{}
	warnMax := map[warningRecord]int{}
	var warnOrder []warningRecord
	for _, name := range names {
		r := recs[name]
		if r != nil {
			if run.Info.Python == "" {
				run.Info.Version, run.Info.Python, run.Info.PythonPath = r.Herd, r.Python, r.PythonPath
				run.Info.Pytest, run.Info.Rootdir = r.Pytest, r.Rootdir
				run.Deselected = r.Deselected
			}
			run.Info.Workers += r.Workers
			for _, raw := range r.Skips {
				t, err := codec.UnmarshalTest(raw, recordVersion(r.V))
				if err != nil || skipped[t.NodeID] {
					continue
				}
				skipped[t.NodeID] = true
				run.Tests = append(run.Tests, t)
			}
			for _, e := range r.CollectionErrs {
				if !errSeen[e] {
					errSeen[e] = true
					run.CollectionErrors = append(run.CollectionErrors, e)
				}
			}
			stop := end[name]
			if r.Stop > 0 && t0 > 0 {
				stop = time.Duration(r.Stop-t0) * time.Millisecond
			}
			if stop > run.Duration {
				run.Duration = stop
			}
		}
		counts := map[warningRecord]int{}
		for _, raw := range s.Warnings[name] {
			var w warningRecord
			if json.Unmarshal([]byte(raw), &w) != nil {
				continue
			}
			if _, ok := warnMax[w]; !ok {
				warnOrder = append(warnOrder, w)
			}
			counts[w]++
			warnMax[w] = max(warnMax[w], counts[w])
		}
		run.WorkerDeaths += s.Deaths[name]
		st.Machines = append(st.Machines, MachineStatus{Name: name, Ran: ran[name], Alive: s.Alive[name],
			Finished: r != nil && r.Stop > 0, Workers: workersOf(r)})
	}
	for _, t := range run.Tests {
		if t.Stop > run.Duration {
			run.Duration = t.Stop
		}
	}
	for _, w := range warnOrder {
		for n := 0; n < warnMax[w]; n++ {
			run.Warnings = append(run.Warnings, result.Warning{NodeID: w.NodeID, Message: w.Message})
		}
	}
	if run.Info.Version == "" {
		run.Info.Version = s.Meta.Herd
	}
	return run, st, nil
}

func workersOf(r *machineRecord) int {
	if r == nil {
		return 0
	}
	return r.Workers
}

// Lines describes the run's machines in a few lines, for the header of its
// report: the seeding, each machine's share, the machines lost.
func (s *Status) Lines(m Meta) []string {
	lines := []string{fmt.Sprintf("queue: %d tests in %d items, seeded by %s; %d %s",
		s.Total, m.Items, m.SeededBy, len(s.Machines), plural(len(s.Machines), "machine"))}
	for _, ms := range s.Machines {
		state := "finished"
		switch {
		case !ms.Finished && ms.Alive:
			state = "running"
		case !ms.Finished:
			state = "stopped answering"
		}
		lines = append(lines, fmt.Sprintf("  %s: %d %s reported, %d %s, %s", ms.Name, ms.Ran, plural(ms.Ran, "test"),
			ms.Workers, plural(ms.Workers, "worker"), state))
	}
	if n := len(s.Missing); n > 0 {
		lines = append(lines, fmt.Sprintf("queue: %d %s without a result", n, plural(n, "test")))
	}
	return lines
}
