package warm

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/worker"
)

// helperBoot is the "boot script" that makes the test binary a fake
// worker: Spec.Python is the test binary, Spec.Args[0] the helper's mode.
const helperBoot = "herd-warm-test-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == helperBoot {
		os.Exit(helperMain(os.Args[2]))
	}
	os.Exit(m.Run())
}

// helperMain is a fake worker that holds as herd_worker/hold.py does when
// HERD_HOLD=1. mode "fresh" resumes, "stale" answers that conftest.py
// changed and exits, "unfit" asks for its workerinput before it holds.
// Resumed or started cold, it sends a collected message and exits.
func helperMain(mode string) int {
	cmds := bufio.NewReader(os.NewFile(3, "cmd"))
	msgs := os.NewFile(4, "msg")
	send := func(m protocol.Message) {
		b, _ := json.Marshal(m)
		msgs.Write(append(b, '\n'))
	}
	recv := func() protocol.Command {
		var c protocol.Command
		line, err := cmds.ReadBytes('\n')
		if err != nil {
			os.Exit(0)
		}
		json.Unmarshal(line, &c)
		return c
	}
	send(protocol.Message{Type: protocol.TypeHello, Protocol: protocol.Version, PID: os.Getpid()})
	if os.Getenv(protocol.EnvHold) == "1" {
		if mode == "unfit" {
			send(protocol.Message{Type: "nodein"})
			recv()
			return 3
		}
		send(protocol.Message{Type: protocol.TypeSession, Pytest: "7.2.1"})
		send(protocol.Message{Type: protocol.TypeHeld})
		if recv().Type != protocol.CmdResume {
			return 0
		}
		if mode == "stale" {
			send(protocol.Message{Type: protocol.TypeResumed, IDs: []string{"conftest.py"}})
			return 0
		}
		send(protocol.Message{Type: protocol.TypeResumed})
	} else {
		send(protocol.Message{Type: protocol.TypeSession, Pytest: "7.2.1"})
	}
	send(protocol.Message{Type: protocol.TypeCollected, Tests: []protocol.TestInfo{{ID: "t.py::" + mode}}, Code: len(os.Getenv(protocol.EnvHold))})
	return 0
}

func baseStarter(t *testing.T, mode string) *worker.ProcessStarter {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &worker.ProcessStarter{
		Spec: worker.Spec{Python: self, Boot: helperBoot, Args: []string{mode}, Dir: t.TempDir()},
		SlotEnv: func(slot int) []string {
			return []string{"PYTEST_XDIST_TESTRUNUID=" + t.Name(), "SLOT=" + string(rune('0'+slot))}
		},
	}
}

// events reads a process's events until its Exit and returns their
// message types, checking that each carries slot and gen.
func events(t *testing.T, ch <-chan worker.Event, slot, gen int) (types []string, collectedCode int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Slot != slot || ev.Gen != gen {
				t.Errorf("event of slot %d gen %d, want %d %d", ev.Slot, ev.Gen, slot, gen)
			}
			msgs := ev.Msgs
			if ev.Msg != nil {
				msgs = append(msgs, ev.Msg)
			}
			for _, m := range msgs {
				types = append(types, m.Type)
				if m.Type == protocol.TypeCollected {
					collectedCode = m.Code
				}
			}
			if ev.Exit != nil {
				return types, collectedCode
			}
		case <-deadline:
			t.Fatalf("no exit; events so far: %v", types)
		}
	}
}

func newPool(t *testing.T) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	p := New(ctx, helperBoot)
	t.Cleanup(func() { p.Close(); cancel() })
	return p
}

// TestWarmWorkerReplayed: a held worker is handed to the run, which sees
// its messages from hello on, as its slot and gen, without held/resumed.
func TestWarmWorkerReplayed(t *testing.T) {
	p := newPool(t)
	base := baseStarter(t, "fresh")
	p.Starter(base, 2, true)
	p.Fill()
	pid := p.held[1].proc.PID()
	if !p.Holds(pid) {
		t.Fatal("Holds: false for a held worker")
	}
	// The next run: other per-run values, same spec otherwise.
	next := baseStarter(t, "fresh")
	next.Spec.Dir = base.Spec.Dir
	st := p.Starter(next, 2, true)
	ch := make(chan worker.Event, 64)
	h, err := st.Start(context.Background(), 1, 1, ch)
	if err != nil {
		t.Fatal(err)
	}
	if h.PID() != pid || p.Holds(pid) {
		t.Fatalf("Start gave pid %d, want the held %d, no longer held", h.PID(), pid)
	}
	types, code := events(t, ch, 1, 1)
	if want := []string{"hello", "session", "collected"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("events = %v, want %v", types, want)
	}
	if code != 1 {
		t.Fatal("the worker that ran was not the held one")
	}
	if s := p.Stats(); s.Warm != 1 || s.Replaced != 0 || s.Cold != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

// TestStaleWorkerReplaced: a held worker whose import changed exits, and
// a cold process takes its slot.
func TestStaleWorkerReplaced(t *testing.T) {
	p := newPool(t)
	base := baseStarter(t, "stale")
	p.Starter(base, 1, true)
	p.Fill()
	ch := make(chan worker.Event, 64)
	if _, err := p.Starter(base, 1, true).Start(context.Background(), 0, 1, ch); err != nil {
		t.Fatal(err)
	}
	types, code := events(t, ch, 0, 1)
	if want := []string{"hello", "session", "collected"}; !reflect.DeepEqual(types, want) || code != 0 {
		t.Fatalf("events = %v (held %d), want a cold worker's %v", types, code, want)
	}
	if s := p.Stats(); s.Replaced != 1 || !reflect.DeepEqual(s.Stale, []string{"conftest.py"}) {
		t.Fatalf("stats = %+v", s)
	}
}

// TestUnfitAndMismatchedWorkers: a worker that asked for something before
// holding is replaced at once, as is one held with other arguments.
func TestUnfitAndMismatchedWorkers(t *testing.T) {
	p := newPool(t)
	base := baseStarter(t, "unfit")
	p.Starter(base, 1, true)
	p.Fill()
	time.Sleep(200 * time.Millisecond) // let it ask
	ch := make(chan worker.Event, 64)
	start := time.Now()
	if _, err := p.Starter(base, 1, true).Start(context.Background(), 0, 1, ch); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("an unfit worker held the start for %v", d)
	}
	if _, code := events(t, ch, 0, 1); code != 0 {
		t.Fatal("the unfit worker ran")
	}
	if s := p.Stats(); s.Replaced != 1 {
		t.Fatalf("stats = %+v", s)
	}

	fresh := baseStarter(t, "fresh")
	p.Starter(fresh, 1, true)
	p.Fill()
	other := baseStarter(t, "fresh")
	other.Spec.Dir = fresh.Spec.Dir
	other.Spec.Args = []string{"fresh", "--lf"}
	if _, err := p.Starter(other, 1, false).Start(context.Background(), 0, 1, ch); err != nil {
		t.Fatal(err)
	}
	if _, code := events(t, ch, 0, 1); code != 0 {
		t.Fatal("a worker held with other arguments ran")
	}
	if s := p.Stats(); s.Cold != 1 || s.Warm != 0 {
		t.Fatalf("stats = %+v", s)
	}
}
