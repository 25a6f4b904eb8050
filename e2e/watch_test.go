//go:build linux

package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// watchSuite is a small suite for herd watch: a module under src/ that two
// tests use, and two tests that do not; the conftest at the root, which a
// held worker has imported.
var watchSuite = map[string]string{
	"src/calc.py":         "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n",
	"conftest.py":         "import os, sys\n\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), 'src'))\n",
	"tests/test_add.py":   "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_add_zero():\n    assert add(-1, 1) == 0\n",
	"tests/test_other.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n\n\ndef test_plain():\n    assert True\n",
}

// ptyOutput collects what herd writes to its terminal.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *ptyOutput) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(b)
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output after offset from matches re, and
// returns the end of the match.
func (o *ptyOutput) waitFor(t *testing.T, from int, re string, timeout time.Duration) int {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s := o.String()
		if loc := rx.FindStringIndex(s[from:]); loc != nil {
			return from + loc[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q within %v; output after offset %d:\n%s", re, timeout, from, o.String()[from:])
	return 0
}

// descendants lists the processes under pid, through /proc's children lists.
func descendants(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
				out = append(out, descendants(c)...)
			}
		}
	}
	return out
}

// startWatch starts herd watch -n 2 in dir on a pseudo-terminal of 30
// rows and 120 columns, and returns it, its terminal, the channel its
// Wait's error comes on, and what it prints as it comes. The cleanup
// kills it if it is still running and closes the terminal.
func startWatch(t *testing.T, dir string) (*exec.Cmd, *os.File, <-chan error, *ptyOutput) {
	t.Helper()
	cmd := exec.Command(herdBin, "watch", "--python", python, "-n", "2")
	cmd.Dir = dir
	cmd.Env = baseEnv()
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ended := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(ended) }()
	t.Cleanup(func() {
		select {
		case <-ended:
		default:
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		}
		tty.Close()
	})
	out := &ptyOutput{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	return cmd, tty, exited, out
}

// TestWatchRounds drives herd watch through a terminal: a first round, a
// save that breaks two tests, f (only those rerun), a (all), q.
func TestWatchRounds(t *testing.T) {
	needHerd(t)
	dir := t.TempDir()
	writeFiles(t, dir, watchSuite)
	cmd, tty, exited, out := startWatch(t, dir)

	const footer = `watching .* — a: run all, f: failed only, q: quit`
	// No records yet: the first round runs every test. A save reruns
	// those it can break (all of them, with nothing recorded).
	at := out.waitFor(t, 0, `round 1 \(start\)\r\n4 passed in [0-9.]+s\r\n`, 30*time.Second)
	at = out.waitFor(t, at, footer, 5*time.Second)
	if !strings.Contains(out.String(), "\x1b[H\x1b[2J") {
		t.Error("the summary did not clear the screen")
	}
	// The next round's workers are started ahead; give them a moment
	// so that the save below finds them warm.
	time.Sleep(1500 * time.Millisecond)

	saved := time.Now()
	writeFiles(t, dir, map[string]string{"src/calc.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"})
	at = out.waitFor(t, at, `round 2 \(changed: src/calc.py\)\r\n2 failed, 2 (passed|deselected \(unaffected\)) in [0-9.]+s\r\nworkers: 2 warm\r\n`, 10*time.Second)
	t.Logf("save to summary: %v", time.Since(saved))
	at = out.waitFor(t, at, `FAILED tests/test_add.py::test_add - assert -1 == 3`, time.Second)
	at = out.waitFor(t, at, footer, time.Second)

	// A held worker imported the root conftest: changed, it is replaced.
	time.Sleep(1500 * time.Millisecond)
	writeFiles(t, dir, map[string]string{"conftest.py": watchSuite["conftest.py"] + "# changed\n"})
	at = out.waitFor(t, at, `round 3 \(changed: conftest.py\)\r\n2 failed, 2 passed in [0-9.]+s\r\nworkers: 2 replaced \(changed: conftest.py\)`, 15*time.Second)
	at = out.waitFor(t, at, footer, time.Second)

	tty.Write([]byte("f"))
	at = out.waitFor(t, at, `round 4 \(f: tests that failed last time\)\r\n2 failed in [0-9.]+s\r\n`, 15*time.Second)
	at = out.waitFor(t, at, footer, time.Second)

	tty.Write([]byte("a"))
	at = out.waitFor(t, at, `round 5 \(a: all tests\)\r\n2 failed, 2 passed in [0-9.]+s\r\n`, 15*time.Second)
	out.waitFor(t, at, footer, time.Second)

	// What herd started, the workers held for the next round included.
	children := descendants(cmd.Process.Pid)
	if len(children) == 0 {
		t.Error("no worker held for the next round")
	}
	tty.Write([]byte("q"))
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("herd watch exited with %v, want 0; output:\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("herd watch did not quit on q; output:\n%s", out.String())
	}
	checkWatchEnded(t, tty, children)
}

// TestWatchCtrlC: Ctrl-C at herd watch ends it with exit status 2, as an
// interrupted run, its terminal restored and no worker left.
func TestWatchCtrlC(t *testing.T) {
	needHerd(t)
	dir := t.TempDir()
	writeFiles(t, dir, watchSuite)
	cmd, tty, exited, out := startWatch(t, dir)
	out.waitFor(t, 0, `watching .* — a: run all`, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	children := descendants(cmd.Process.Pid)
	tty.Write([]byte{0x03}) // the terminal sends SIGINT
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("herd watch ended with %v, want exit status 2", err)
		}
	case <-time.After(10 * time.Second):
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("herd watch did not end at Ctrl-C; output:\n%s", out.String())
	}
	checkWatchEnded(t, tty, children)
}

// checkWatchEnded checks what must hold once herd watch has exited: its
// terminal is back in canonical mode with echo, and none of the processes
// it had started (children) is still alive.
func checkWatchEnded(t *testing.T, tty *os.File, children []int) {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ICANON == 0 || tio.Lflag&unix.ECHO == 0 {
		t.Errorf("terminal left without ICANON or ECHO: lflag %#x", tio.Lflag)
	}
	for _, pid := range children {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
			b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
			t.Errorf("process %d (%s) outlived herd watch", pid, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
}
