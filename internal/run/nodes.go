package run

import (
	"github.com/herd-run/herd/internal/protocol"
)

// Nodes is xdist's controller as the dispatcher uses it. Its methods must
// not block; done may be called from any goroutine.
type Nodes interface {
	// ConfigureNode runs pytest_configure_node for a new process of
	// worker and calls done with its encoded workerinput, or the error.
	ConfigureNode(worker string, done func(workerinput string, err error))
	// NodeReady runs pytest_testnodeready for worker.
	NodeReady(worker string, pid int)
	// NodeDown runs pytest_testnodedown for worker: crash is "" when the
	// worker ended its session (error None), otherwise the error; output
	// is the workeroutput it sent, if any.
	NodeDown(worker, crash, output string)
}

// nodeCrash is the error pytest_testnodedown gets for a worker process
// that ended without finishing its session: xdist's own words.
const nodeCrash = "Not properly terminated"

// nodeReply is the controller's answer to a worker's TypeNodeIn.
type nodeReply struct {
	slot, gen int
	data      string
	err       error
}

// onNodeIn asks the xdist controller for the workerinput of process s,
// which waits for it.
func (d *dispatcher) onNodeIn(s *slotState) {
	if d.cfg.Nodes == nil {
		s.proc.h.Send(protocol.Command{Type: protocol.CmdWorkerInput, Error: "herd runs no xdist controller here"})
		return
	}
	s.proc.node = true
	slot, gen := s.idx, s.gen
	d.cfg.Nodes.ConfigureNode(s.name, func(data string, err error) {
		select {
		case d.nodeReplies <- nodeReply{slot: slot, gen: gen, data: data, err: err}:
		case <-d.ctx.Done():
		}
	})
}

// onNodeReply hands a worker the workerinput it waits for; a controller
// failure ends the run.
func (d *dispatcher) onNodeReply(r nodeReply) {
	if r.err != nil {
		if d.fatal == nil && d.startupErr == nil {
			d.fatal = r.err
			d.stopWorkers()
		}
		return
	}
	s := d.slots[r.slot]
	if s.gen != r.gen || !s.proc.alive {
		return
	}
	s.proc.h.Send(protocol.Command{Type: protocol.CmdWorkerInput, Data: r.data})
}
