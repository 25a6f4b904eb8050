package xdistctl

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeConn records requests and answers them from a script.
type fakeConn struct {
	mu     sync.Mutex
	got    []Request
	answer func(Request) Reply
	closed bool
}

func (f *fakeConn) Call(req Request) (Reply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, req)
	if f.answer != nil {
		return f.answer(req), nil
	}
	return Reply{Type: "ok"}, nil
}
func (f *fakeConn) Output() string { return "controller output\n" }
func (f *fakeConn) PID() int       { return 42 }
func (f *fakeConn) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

func (f *fakeConn) kinds() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.got {
		s := r.Type
		if r.ID != "" {
			s += " " + r.ID
		}
		if r.Error != nil {
			s += " error=" + *r.Error
		}
		out = append(out, s)
	}
	return out
}

func TestUnusedControllerNeverStarts(t *testing.T) {
	c := New(func() (Conn, error) {
		t.Fatal("started a controller nobody asked for")
		return nil, nil
	})
	if err := c.Finish(0); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	c.Close()
}

func TestRequestsRunInOrder(t *testing.T) {
	f := &fakeConn{answer: func(r Request) Reply {
		if r.Type == "node" {
			return Reply{Type: "ok", Data: "wi-" + r.ID}
		}
		return Reply{Type: "ok"}
	}}
	starts := 0
	c := New(func() (Conn, error) { starts++; return f, nil })
	got := make(chan string, 2)
	c.ConfigureNode("gw0", func(data string, err error) { got <- data })
	c.ConfigureNode("gw1", func(data string, err error) { got <- data })
	if a, b := <-got, <-got; a != "wi-gw0" || b != "wi-gw1" {
		t.Errorf("workerinputs %q, %q", a, b)
	}
	c.NodeReady("gw0", 7)
	c.NodeDown("gw0", "Not properly terminated", "")
	c.NodeDown("gw1", "", "out")
	if err := c.Finish(1); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want := "start|node gw0|node gw1|ready gw0|down gw0 error=Not properly terminated|down gw1|finish"
	if g := strings.Join(f.kinds(), "|"); g != want {
		t.Errorf("requests\n got %s\nwant %s", g, want)
	}
	if starts != 1 || !f.closed {
		t.Errorf("started %d times, closed %v; want once, closed", starts, f.closed)
	}
	if f.got[len(f.got)-1].ExitStatus != 1 {
		t.Errorf("finish carried exit status %d, want 1", f.got[len(f.got)-1].ExitStatus)
	}
}

func TestHookFailureIsReportedOnce(t *testing.T) {
	f := &fakeConn{answer: func(r Request) Reply {
		if r.Type == "node" {
			return Reply{Type: "error", Hook: "pytest_configure_node", Trace: "Traceback...\nKeyError: 'memo'\n"}
		}
		return Reply{Type: "ok"}
	}}
	c := New(func() (Conn, error) { return f, nil })
	errs := make(chan error, 2)
	c.ConfigureNode("gw0", func(_ string, err error) { errs <- err })
	c.ConfigureNode("gw1", func(_ string, err error) { errs <- err })
	e1, e2 := <-errs, <-errs
	var ce *Error
	if !errors.As(e1, &ce) || e1 != e2 {
		t.Fatalf("errors %v, %v: want the same *Error twice", e1, e2)
	}
	if want := "xdist controller: pytest_configure_node for gw0 raised KeyError: 'memo'"; ce.Error() != want {
		t.Errorf("error %q, want %q", ce.Error(), want)
	}
	if ce.Output != "controller output\n" {
		t.Errorf("output %q", ce.Output)
	}
	if err := c.Finish(3); err != e1 {
		t.Errorf("Finish returned %v, want the first failure", err)
	}
	// After the failure nothing more reaches the process.
	if g := strings.Join(f.kinds(), "|"); g != "start|node gw0" {
		t.Errorf("requests after the failure: %s", g)
	}
}

func TestStartFailure(t *testing.T) {
	c := New(func() (Conn, error) { return nil, errors.New("no python") })
	errs := make(chan error, 1)
	c.ConfigureNode("gw0", func(_ string, err error) { errs <- err })
	err := <-errs
	if err == nil || !strings.Contains(err.Error(), "xdist controller: start: no python") {
		t.Errorf("error %v", err)
	}
	c.Close()
}

// blockingConn answers every request but finish, which it holds until the
// process is closed (a pytest_sessionfinish that never returns).
type blockingConn struct {
	fakeConn
	release chan struct{}
	once    sync.Once
}

func (b *blockingConn) Call(req Request) (Reply, error) {
	if req.Type == "finish" {
		<-b.release
		return Reply{}, errors.New("the process ended")
	}
	return b.fakeConn.Call(req)
}

func (b *blockingConn) Close() {
	b.fakeConn.Close()
	b.once.Do(func() { close(b.release) })
}

// A controller whose pytest_sessionfinish hangs is killed after the finish
// timeout, and Finish says so instead of hanging the run.
func TestFinishThatHangsIsKilled(t *testing.T) {
	b := &blockingConn{release: make(chan struct{})}
	c := New(func() (Conn, error) { return b, nil })
	c.finishTimeout = 50 * time.Millisecond
	c.NodeReady("gw0", 7)
	err := c.Finish(1)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "pytest_sessionfinish did not end within 50ms") {
		t.Fatalf("Finish: %v", err)
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if !closed {
		t.Error("the hanging controller was not ended")
	}
}
