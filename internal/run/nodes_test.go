package run_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
)

// fakeNodes is xdist's controller for the dispatcher: it answers
// ConfigureNode at once and records every call.
type fakeNodes struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (n *fakeNodes) ConfigureNode(worker string, done func(string, error)) {
	n.mu.Lock()
	n.calls = append(n.calls, "configure "+worker)
	fail := n.fail
	n.mu.Unlock()
	go done("wi-"+worker, fail)
}

func (n *fakeNodes) NodeReady(worker string, pid int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, "ready "+worker)
}

func (n *fakeNodes) NodeDown(worker, crash, output string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, fmt.Sprintf("down %s error=%q output=%q", worker, crash, output))
}

func TestXdistNodesConfiguredBeforeStartAndDownAfterEnd(t *testing.T) {
	t.Parallel()
	suite := suiteOf(6)
	crasher := suite[2].ID
	f := &fakeStarter{t: t, suite: suite, behave: map[string]behave{crasher: {crash: "SIGSEGV"}},
		script: func(slot, gen int) script { return script{nodeIn: true} }}
	nodes := &fakeNodes{}
	res, err := execute(t, run.Config{Workers: 1, Starter: f, Sink: &sink{}, Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	if tr := testByID(t, res, crasher); tr.Outcome != result.Crashed {
		t.Fatalf("%s: %s, want crashed", crasher, tr.Outcome)
	}
	procs := f.procsOf(0)
	if len(procs) < 2 {
		t.Fatalf("%d processes, want the crashed one and its replacement", len(procs))
	}
	for i, p := range procs {
		p.mu.Lock()
		wi := p.workerInput
		p.mu.Unlock()
		if wi != "wi-gw0" {
			t.Errorf("process %d got workerinput %q", i, wi)
		}
	}
	nodes.mu.Lock()
	got := strings.Join(nodes.calls, "\n")
	nodes.mu.Unlock()
	want := "configure gw0\nready gw0\ndown gw0 error=\"Not properly terminated\" output=\"\"\n" +
		"configure gw0\nready gw0\ndown gw0 error=\"\" output=\"out-gw0\""
	if !strings.HasPrefix(got, want) {
		t.Errorf("controller calls:\n%s\nwant them to start with:\n%s", got, want)
	}
}

func TestXdistNodeFailureEndsRun(t *testing.T) {
	t.Parallel()
	f := &fakeStarter{t: t, suite: suiteOf(3), script: func(slot, gen int) script { return script{nodeIn: true} }}
	boom := errors.New("xdist controller: pytest_configure_node for gw0 raised KeyError: 'memo'")
	_, err := execute(t, run.Config{Workers: 2, Starter: f, Sink: &sink{}, Nodes: &fakeNodes{fail: boom}})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the controller's failure", err)
	}
}
