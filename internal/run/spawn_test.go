package run

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/worker"
)

// stubHandle is a worker process that records what it was sent.
type stubHandle struct {
	pid  int
	sent []protocol.Command
}

func (h *stubHandle) Send(c protocol.Command) { h.sent = append(h.sent, c) }
func (h *stubHandle) Kill(bool)               {}
func (h *stubHandle) PID() int                { return h.pid }

// stubStarter starts stubHandles, or fails with err.
type stubStarter struct {
	err     error
	started []*stubHandle
}

func (s *stubStarter) Start(_ context.Context, slot, gen int, _ chan<- worker.Event) (worker.Handle, error) {
	if s.err != nil {
		return nil, s.err
	}
	h := &stubHandle{pid: 1000 + 10*slot + gen}
	s.started = append(s.started, h)
	return h, nil
}

func stubDispatcher(st worker.Starter) *dispatcher {
	now := time.Unix(1000, 0)
	return &dispatcher{
		cfg:  Config{Starter: st},
		ctx:  context.Background(),
		now:  func() time.Time { return now },
		run:  &result.Run{},
		pids: make(map[int]*procInfo),
	}
}

// TestSpawnStartsAFreshProcess checks that a respawn carries nothing of the
// last process over, and keeps what belongs to the slot.
func TestSpawnStartsAFreshProcess(t *testing.T) {
	st := &stubStarter{}
	d := stubDispatcher(st)
	s := newSlot(1)
	if s.proc == nil || s.proc.alive || s.proc.current != -1 || s.proc.diag.busy() {
		t.Fatalf("new slot's process = %+v, want a dead one running nothing", s.proc)
	}
	d.spawn(s)
	old := s.proc
	old.collected, old.queue, old.current, old.ran = true, []int{4, 5}, 3, []string{"a"}
	old.killed, old.timedOut, old.stall, old.isolated = true, true, stallBetween, true
	old.diag, old.node, old.starts = diagRerun{state: diagSent, test: 2}, true, 7
	s.startupDeaths, s.blocked = 2, ""
	d.spawn(s)
	p := s.proc
	if p == old {
		t.Fatal("spawn kept the old process's state")
	}
	if s.gen != 2 || s.idx != 1 || s.name != "gw1" || s.startupDeaths != 2 {
		t.Errorf("slot = gen %d idx %d name %q startupDeaths %d, want 2, 1, gw1, 2", s.gen, s.idx, s.name, s.startupDeaths)
	}
	if !p.alive || p.h != st.started[1] || p.collected || p.queue != nil || p.current != -1 || p.ran != nil ||
		p.killed || p.timedOut || p.stall != "" || p.isolated || p.diag.busy() || p.node || p.starts != 0 {
		t.Errorf("respawned process = %+v, want a fresh one", p)
	}
	if !p.startedAt.Equal(d.now()) || !p.lastMsg.Equal(d.now()) {
		t.Errorf("startedAt %v lastMsg %v, want now", p.startedAt, p.lastMsg)
	}
	if got := d.pids[st.started[1].pid]; got == nil || got != p.pidInfo || got.slot != 1 || got.current != -1 || got.last != -1 {
		t.Errorf("pids entry = %+v, want the new process's", got)
	}
	if d.pids[st.started[0].pid] == nil {
		t.Error("the old process's pids entry is gone; its orphans could not be named")
	}
}

// TestSpawnFailure checks that a process that cannot start leaves its slot
// dead and blocked, with the error as the run's reason.
func TestSpawnFailure(t *testing.T) {
	st := &stubStarter{}
	d := stubDispatcher(st)
	s := newSlot(0)
	d.spawn(s)
	s.proc.queue = []int{1}
	st.err = errors.New("no python")
	d.spawn(s)
	if s.proc.alive || s.proc.queue != nil || s.proc.current != -1 {
		t.Errorf("process after a failed start = %+v, want a dead one holding nothing", s.proc)
	}
	if s.gen != 2 || s.blocked != "no python" || d.respawnBlocked != "no python" || d.firstStartErr != st.err {
		t.Errorf("gen %d blocked %q respawnBlocked %q firstStartErr %v", s.gen, s.blocked, d.respawnBlocked, d.firstStartErr)
	}
}
