// Package xdistctl runs herd's xdist controller: one Python process per run
// that plays pytest-xdist's controller for the hooks plugins and conftests
// implement there (pytest_configure without workerinput,
// pytest_configure_node, pytest_testnodeready, pytest_testnodedown,
// pytest_sessionfinish), without xdist's scheduling, which is herd's.
//
// The process is started on first need and talked to one request at a time,
// in the order requests were made, on a goroutine of its own: callers never
// wait, except Finish. Its stdout and stderr are kept and shown only when a
// hook fails.
package xdistctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/reaper"
)

// Request is one command to the controller process.
type Request struct {
	// Type is start, node, ready, down or finish.
	Type string `json:"t"`
	// ID is the worker's id (gw0...).
	ID  string `json:"id,omitempty"`
	PID int    `json:"pid,omitempty"`
	// Error is pytest_testnodedown's error: nil for a worker that ended
	// its session, the reason for one that crashed.
	Error *string `json:"error,omitempty"`
	// Output is the worker's workeroutput, encoded as the worker sent it.
	Output     string `json:"output,omitempty"`
	ExitStatus int    `json:"exitstatus"`
}

// Reply is the controller's answer to one Request.
type Reply struct {
	// Type is hello, ok or error.
	Type string `json:"t"`
	// Data is the workerinput of a node request (marshal, then base64).
	Data string `json:"data,omitempty"`
	// Hook and Trace say which hook raised, and its traceback.
	Hook  string `json:"hook,omitempty"`
	Trace string `json:"trace,omitempty"`
}

// Conn is a started controller process.
type Conn interface {
	// Call sends req and waits for its reply.
	Call(req Request) (Reply, error)
	// Output is what the process wrote on stdout and stderr so far.
	Output() string
	// PID is the process's id.
	PID() int
	// Close ends the process: it waits briefly for it to exit by itself
	// (after finish), then kills it.
	Close()
}

// Starter starts the controller process, up to its hello.
type Starter func() (Conn, error)

// Error is a failure of the controller: a hook raised, or the process could
// not be started or talked to.
type Error struct {
	// Hook is the hook that raised ("pytest_configure_node").
	Hook string
	// Worker is the worker it ran for, if any.
	Worker string
	// Trace is the hook's traceback, Output the controller's output.
	Trace  string
	Output string
	// Err is set when the process failed rather than a hook.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "xdist controller: " + e.Err.Error()
	}
	w := ""
	if e.Worker != "" {
		w = " for " + e.Worker
	}
	return fmt.Sprintf("xdist controller: %s%s raised %s", e.Hook, w, lastLine(e.Trace))
}

func (e *Error) Unwrap() error { return e.Err }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return "an error"
}

type job struct {
	req    Request
	worker string
	done   func(Reply, error)
}

// Controller is herd's xdist controller for one run.
type Controller struct {
	start Starter

	mu      sync.Mutex
	queue   []job
	wake    chan struct{}
	running bool // the loop goroutine runs
	conn    Conn
	err     *Error
	closed  bool

	// finishTimeout bounds Finish (FinishTimeout; tests shorten it).
	finishTimeout time.Duration
}

// FinishTimeout bounds the controller's pytest_sessionfinish and
// pytest_unconfigure: every test has ended by then, so, as a worker's
// session end (run.ShutdownTimeout), a minute is ample, and a hook that
// hangs must not hang the run.
const FinishTimeout = 60 * time.Second

// New returns a controller that starts its process with start on first
// need.
func New(start Starter) *Controller {
	return &Controller{start: start, wake: make(chan struct{}, 1), finishTimeout: FinishTimeout}
}

// enqueue adds j, starting the loop on first use.
func (c *Controller) enqueue(j job) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		if j.done != nil {
			j.done(Reply{}, errors.New("xdist controller: closed"))
		}
		return
	}
	c.queue = append(c.queue, j)
	if !c.running {
		c.running = true
		go c.loop()
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// loop owns the connection: it runs the queued requests in order.
func (c *Controller) loop() {
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.mu.Unlock()
			<-c.wake
			c.mu.Lock()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		j := c.queue[0]
		c.queue = c.queue[1:]
		failed := c.err
		c.mu.Unlock()
		if failed != nil {
			if j.done != nil {
				j.done(Reply{}, failed)
			}
			continue
		}
		r, err := c.call(j)
		if j.done != nil {
			j.done(r, err)
		}
	}
}

// call runs one job, starting the process first if need be.
func (c *Controller) call(j job) (Reply, error) {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		var err error
		conn, err = c.start()
		if err != nil {
			return Reply{}, c.fail(&Error{Err: fmt.Errorf("start: %w", err)})
		}
		c.mu.Lock()
		closed := c.closed
		if !closed {
			c.conn = conn
		}
		c.mu.Unlock()
		if closed {
			// Close came while the process started: it is not Close's to
			// end, so end it here.
			conn.Close()
			return Reply{}, errors.New("xdist controller: closed")
		}
		if r, err := c.roundTrip(conn, Request{Type: "start"}, ""); err != nil {
			return r, err
		}
	}
	return c.roundTrip(conn, j.req, j.worker)
}

func (c *Controller) roundTrip(conn Conn, req Request, worker string) (Reply, error) {
	r, err := conn.Call(req)
	if err != nil {
		return r, c.fail(&Error{Err: fmt.Errorf("%s: %w", req.Type, err), Output: conn.Output()})
	}
	switch r.Type {
	case "ok":
		return r, nil
	case "error":
		return r, c.fail(&Error{Hook: r.Hook, Worker: worker, Trace: r.Trace, Output: conn.Output()})
	}
	return r, c.fail(&Error{Err: fmt.Errorf("%s: unexpected answer %q", req.Type, r.Type), Output: conn.Output()})
}

// fail records the controller's first failure and returns it.
func (c *Controller) fail(e *Error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = e
	}
	return c.err
}

// ConfigureNode runs pytest_xdist_newgateway and pytest_configure_node for
// worker (a new process of that slot), and calls done, from another
// goroutine, with the encoded workerinput or the controller's failure.
func (c *Controller) ConfigureNode(worker string, done func(workerinput string, err error)) {
	c.enqueue(job{req: Request{Type: "node", ID: worker}, worker: worker, done: func(r Reply, err error) {
		done(r.Data, err)
	}})
}

// NodeReady runs pytest_testnodeready for worker, whose session started.
func (c *Controller) NodeReady(worker string, pid int) {
	c.enqueue(job{req: Request{Type: "ready", ID: worker, PID: pid}, worker: worker})
}

// NodeDown runs pytest_testnodedown for worker: crash is "" for a worker
// that ended its session (error None), else the error; output is the
// workeroutput it sent, if any.
func (c *Controller) NodeDown(worker, crash, output string) {
	req := Request{Type: "down", ID: worker, Output: output}
	if crash != "" {
		req.Error = &crash
	}
	c.enqueue(job{req: req, worker: worker})
}

// Used reports whether the controller was asked for anything.
func (c *Controller) Used() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running
}

// PID is the controller process's id, or 0 when none runs.
func (c *Controller) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return 0
	}
	return c.conn.PID()
}

// Finish runs pytest_sessionfinish with exitstatus and pytest_unconfigure,
// after every request made before, and ends the process. It returns the
// controller's first failure, if any (nil when it was never needed).
func (c *Controller) Finish(exitstatus int) error {
	if !c.Used() {
		return nil
	}
	finished := make(chan struct{})
	c.enqueue(job{req: Request{Type: "finish", ExitStatus: exitstatus}, done: func(Reply, error) { close(finished) }})
	select {
	case <-finished:
	case <-time.After(c.finishTimeout):
		// Killing the process ends the request in hand, and with it the
		// queue.
		c.fail(&Error{Err: fmt.Errorf("pytest_sessionfinish did not end within %s: herd killed the controller", c.finishTimeout)})
		c.Close()
		<-finished
	}
	c.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return nil
}

// Err returns the controller's first failure, or nil.
func (c *Controller) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return nil
}

// Close ends the controller process, if any, and its goroutine once the
// request in hand (if any) is done. Requests made after are refused.
func (c *Controller) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	conn := c.conn
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	if conn != nil {
		conn.Close()
	}
}

// Spec says how to start the controller process: the workers' interpreter,
// arguments, environment and directory, and herd_ctl.py.
type Spec struct {
	Python, Script string
	Args           []string
	Env            []string
	Dir            string
}

// outputSize bounds the controller's kept output.
const outputSize = 64 << 10

// Process returns a Starter of real controller processes.
func Process(spec Spec) Starter {
	return func() (Conn, error) { return startProcess(spec) }
}

type process struct {
	cmd    *exec.Cmd
	cmdW   *os.File
	r      *protocol.Reader
	msgR   *os.File
	out    *boundedBuffer
	exited chan struct{}
}

func startProcess(spec Spec) (*process, error) {
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	msgR, msgW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		return nil, err
	}
	out := &boundedBuffer{max: outputSize}
	cmd := exec.Command(spec.Python, append([]string{spec.Script}, spec.Args...)...)
	cmd.Dir = spec.Dir
	cmd.Env = append(append([]string(nil), spec.Env...),
		protocol.EnvMagic+"="+protocol.MagicValue,
		protocol.EnvCmdFD+"=3",
		protocol.EnvMsgFD+"=4",
	)
	cmd.ExtraFiles = []*os.File{cmdR, msgW}
	cmd.Stdout, cmd.Stderr = out, out
	// A process a hook started outside the controller's process group may
	// hold its output pipes after the controller exited: stop waiting for
	// them after 2 s, as for a worker's.
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = reaper.ChildAttr()
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{cmdR, cmdW, msgR, msgW} {
			f.Close()
		}
		return nil, fmt.Errorf("%s: %w", spec.Python, err)
	}
	cmdR.Close()
	msgW.Close()
	p := &process{cmd: cmd, cmdW: cmdW, msgR: msgR, r: protocol.NewReader(msgR, protocol.MaxLine), out: out, exited: make(chan struct{})}
	go func() { // owns cmd.Wait
		cmd.Wait()
		close(p.exited)
	}()
	hello, err := p.read()
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("no hello: %w", err)
	}
	if hello.Type != "hello" {
		p.Close()
		return nil, fmt.Errorf("first message was %q, not hello", hello.Type)
	}
	return p, nil
}

func (p *process) read() (Reply, error) {
	line, err := p.r.ReadLine()
	if err != nil {
		// The process died: wait for its output to be complete.
		select {
		case <-p.exited:
		case <-time.After(2 * time.Second):
		}
		return Reply{}, fmt.Errorf("the process ended (%s)", exitOf(p.cmd))
	}
	var r Reply
	if err := json.Unmarshal(line, &r); err != nil {
		return Reply{}, fmt.Errorf("decode answer: %w", err)
	}
	return r, nil
}

func exitOf(cmd *exec.Cmd) string {
	if cmd.ProcessState == nil {
		return "still running"
	}
	return cmd.ProcessState.String()
}

// Call implements Conn.
func (p *process) Call(req Request) (Reply, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return Reply{}, fmt.Errorf("encode request: %w", err)
	}
	if _, err := p.cmdW.Write(append(b, '\n')); err != nil {
		return Reply{}, fmt.Errorf("send %s: %w", req.Type, err)
	}
	return p.read()
}

// Output implements Conn.
func (p *process) Output() string { return p.out.String() }

// PID implements Conn.
func (p *process) PID() int { return p.cmd.Process.Pid }

// Close implements Conn.
func (p *process) Close() {
	p.cmdW.Close()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
	// Whatever the controller's hooks started in its process group goes
	// with it.
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
	p.msgR.Close()
}

// boundedBuffer keeps the first max bytes written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
	cut bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - len(b.b)
	if room < len(p) {
		b.cut = true
		if room > 0 {
			b.b = append(b.b, p[:room]...)
		}
		return len(p), nil
	}
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return string(b.b) + "\n[... herd cut the xdist controller's output here ...]\n"
	}
	return string(b.b)
}
