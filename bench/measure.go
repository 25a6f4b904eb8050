//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/herd-run/herd/internal/reaper"
)

// How one run is measured (see BENCHMARKS.md, "Method"):
//
//   - wall: from just before fork/exec to the moment the process has exited
//     (waitid(WEXITED|WNOWAIT), which does not reap it).
//   - controller CPU: utime+stime of the tool's own process, read from
//     /proc/<pid>/stat while it is a zombie (exited, not yet reaped), so the
//     value is final and covers all its threads; children are not included
//     (they are cutime/cstime, reported apart).
//   - total CPU: utime+stime from wait4 on the tool's process. Linux returns
//     the child's own usage plus that of every descendant it (or a
//     descendant) waited for, so this is the whole process tree. This
//     harness is a child subreaper, so a descendant that was orphaned is
//     reaped here and its usage added too (the "orphans" column).
//   - workers' CPU: total CPU - controller CPU.
//   - controller peak RSS: VmHWM of /proc/<pid>/status, the process's own
//     high-water mark, sampled every 20 ms; the last sample is kept (VmHWM is
//     gone once the process is a zombie), so growth in the last 20 ms of the
//     process's life would be missed.
//   - tree max RSS: ru_maxrss from wait4. Checked on this kernel: it is NOT
//     the child's alone; it is the largest of the child and its waited-for
//     descendants (Linux fills it from RUSAGE_BOTH), so for herd and xdist
//     it is max(controller, biggest worker).
//   - foreign CPU: busy CPU time of the whole machine (/proc/stat) during
//     the run minus this run's tree and the harness itself: what other
//     processes on the machine used while the run was going.

const clkTck = 100 // USER_HZ: /proc reports times in 1/100 s on Linux

// Result is one timed run of one tool on one suite.
type Result struct {
	Suite    string  `json:"suite"`
	Size     int     `json:"size"`
	Tool     string  `json:"tool"`
	Round    int     `json:"round"`
	Wall     float64 `json:"wall_s"`
	CPUTotal float64 `json:"cpu_total_s"`
	CtrlCPU  float64 `json:"controller_cpu_s"`
	CtrlHWM  int64   `json:"controller_peak_rss_kb"`
	TreeRSS  int64   `json:"tree_max_rss_kb"`
	Foreign  float64 `json:"foreign_cpu_s"`
	Exit     int     `json:"exit"`
	Passed   int     `json:"passed"`
	OK       bool    `json:"ok"`
	TimedOut bool    `json:"timed_out"`
	Orphans  int     `json:"orphans"`
	// LastChild is when the tool's process was last seen with a child
	// process (seconds after start, sampled every 20 ms; -1: never).
	LastChild float64 `json:"last_child_seen_s"`
	// BusyBefore is the CPUs other processes used just before the run
	// started, after waiting up to --quiet-wait for them to go below 0.25.
	BusyBefore float64 `json:"busy_before_cpus"`
	Log        string  `json:"log"`
	Trace      *Trace  `json:"trace,omitempty"`
}

// WorkersCPU is the CPU time of everything but the controller process.
func (r *Result) WorkersCPU() float64 { return r.CPUTotal - r.CtrlCPU }

// Trace summarises the conftest trace of one run. Times are seconds since
// the tool was started.
type Trace struct {
	Procs      int     `json:"collecting_processes"`     // processes that collected tests
	Items      []int   `json:"items_per_process"`        // tests each of them collected
	StartMax   float64 `json:"session_start_max_s"`      // last pytest_sessionstart
	CollectMax float64 `json:"collection_max_s"`         // longest collection (finish - start)
	FirstMax   float64 `json:"first_test_max_s"`         // last process's first test start
	FinishMax  float64 `json:"session_finish_max_s"`     // last pytest_sessionfinish
	GapMax     float64 `json:"collected_to_first_max_s"` // longest wait from end of collection to first test
	Imports    int     `json:"helper_imports"`
	ImportPIDs int     `json:"helper_import_processes"`
	Fixtures   int     `json:"fixture_setups"`
}

var passedRE = regexp.MustCompile(`(\d+) passed`)

// Tool is one way of running a suite.
type Tool struct {
	Name string
	Argv []string
}

type runSpec struct {
	suite   *Suite
	tool    Tool
	round   int
	timeout time.Duration
	logDir  string
	tag     string // distinguishes log files of runs of one tool in a round
}

// cpuBusy returns the machine's busy CPU time in seconds (user, nice,
// system, irq, softirq, steal of /proc/stat's "cpu" line).
func cpuBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var sum float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		if i < len(f) {
			v, _ := strconv.ParseFloat(f[i], 64)
			sum += v
		}
	}
	return sum / clkTck
}

func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// statTimes returns utime+stime and cutime+cstime of pid, in seconds.
func statTimes(pid int) (self, children float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("bad stat %q", s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14 -> f[11].
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("short stat %q", s)
	}
	var v [4]float64
	for k := 0; k < 4; k++ {
		v[k], _ = strconv.ParseFloat(f[11+k], 64)
	}
	return (v[0] + v[1]) / clkTck, (v[2] + v[3]) / clkTck, nil
}

// vmHWM returns the VmHWM of pid in kB, or -1 when it cannot be read (the
// process is a zombie or gone).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// hasChildren tells whether pid has a child process now.
func hasChildren(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err == nil && len(bytes.TrimSpace(b)) > 0 {
			return true
		}
	}
	return false
}

// reapOrphans kills whatever descendants of the run were left re-parented
// to this harness (a child subreaper) and reaps them, returning how many
// there were and their CPU time. Call it only while no child of the
// harness's own is running.
func reapOrphans() (int, float64) {
	n := 0
	var cpu float64
	for round := 0; round < 50; round++ {
		kids := reaper.ChildrenOf(os.Getpid())
		for _, pid := range kids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for {
			var ws syscall.WaitStatus
			var ru syscall.Rusage
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, &ru)
			if err != nil || pid <= 0 {
				break
			}
			n++
			cpu += tv(ru.Utime) + tv(ru.Stime)
		}
		if len(kids) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n, cpu
}

// waitQuiet waits, up to limit, for a moment when other processes use less
// than maxBusy CPUs (measured over 500 ms), so that runs are not measured
// while something else on the machine is busy. It returns how long it
// waited and the busy CPUs last measured.
func waitQuiet(limit time.Duration, maxBusy float64) (time.Duration, float64) {
	start := time.Now()
	for {
		b0, s0 := cpuBusy(), selfCPU()
		time.Sleep(500 * time.Millisecond)
		busy := (cpuBusy() - b0 - (selfCPU() - s0)) / 0.5
		if busy < maxBusy || time.Since(start) >= limit {
			return time.Since(start), busy
		}
	}
}

// runOne runs one tool once and measures it.
func runOne(sp runSpec, env []string) (*Result, error) {
	r := &Result{Suite: sp.suite.Name, Size: sp.suite.Tests, Tool: sp.tool.Name, Round: sp.round}
	name := fmt.Sprintf("%s-%d-r%d-%s%s", sp.suite.Name, sp.suite.Tests, sp.round, strings.ReplaceAll(sp.tool.Name, " ", "_"), sp.tag)
	r.Log = filepath.Join(sp.logDir, name+".log")
	tracePath := filepath.Join(sp.logDir, name+".trace")
	os.Remove(tracePath)
	logf, err := os.Create(r.Log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()

	cmd := exec.Command(sp.tool.Argv[0], sp.tool.Argv[1:]...)
	cmd.Dir = sp.suite.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(append([]string(nil), env...), "BENCH_TRACE="+tracePath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	busy0, self0 := cpuBusy(), selfCPU()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid

	// Sample the controller's own high-water mark until it exits.
	// Also note when it last had a child (a worker) alive.
	stop := make(chan struct{})
	type sample struct {
		hwm       int64
		lastChild float64
	}
	sampled := make(chan sample, 1)
	go func() {
		smp := sample{hwm: -1, lastChild: -1}
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmHWM(pid); v > smp.hwm {
				smp.hwm = v
			}
			if hasChildren(pid) {
				smp.lastChild = time.Since(start).Seconds()
			}
			select {
			case <-stop:
				sampled <- smp
				return
			case <-t.C:
			}
		}
	}()
	var timer *time.Timer
	var timedOut atomic.Bool
	if sp.timeout > 0 {
		timer = time.AfterFunc(sp.timeout, func() {
			timedOut.Store(true)
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		})
	}

	// Wait for the exit without reaping, so /proc/<pid>/stat still holds the
	// zombie's final CPU times.
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("waitid: %w", err)
		}
		break
	}
	r.Wall = time.Since(start).Seconds()
	if timer != nil {
		timer.Stop()
	}
	r.TimedOut = timedOut.Load()
	r.CtrlCPU, _, _ = statTimes(pid)
	close(stop)
	smp := <-sampled
	r.CtrlHWM = smp.hwm
	r.LastChild = smp.lastChild

	_ = cmd.Wait() // reaps; a non-zero exit is recorded below
	ps := cmd.ProcessState
	ru := ps.SysUsage().(*syscall.Rusage)
	r.CPUTotal = tv(ru.Utime) + tv(ru.Stime)
	r.TreeRSS = ru.Maxrss
	r.Exit = ps.ExitCode()
	orphans, ocpu := reapOrphans()
	r.Orphans = orphans
	r.CPUTotal += ocpu
	r.Foreign = cpuBusy() - busy0 - r.CPUTotal - (selfCPU() - self0)
	if r.Foreign < 0 {
		r.Foreign = 0
	}

	logf.Sync()
	r.Passed = passedCount(r.Log)
	r.OK = !r.TimedOut && r.Exit == 0 && r.Passed == sp.suite.Tests
	r.Trace = readTrace(tracePath, start)
	return r, nil
}

// passedCount reads "N passed" from the end of a log.
func passedCount(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	st, _ := f.Stat()
	off := st.Size() - 4096
	if off < 0 {
		off = 0
	}
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, off)
	m := passedRE.FindAllSubmatch(buf[:n], -1)
	if len(m) == 0 {
		return -1
	}
	v, _ := strconv.Atoi(string(m[len(m)-1][1]))
	return v
}

func readTrace(path string, start time.Time) *Trace {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	t0 := float64(start.UnixNano()) / 1e9
	type proc struct{ start, collected, first, finish float64 }
	procs := map[int]*proc{}
	get := func(pid int) *proc {
		p := procs[pid]
		if p == nil {
			p = &proc{-1, -1, -1, -1}
			procs[pid] = p
		}
		return p
	}
	tr := &Trace{}
	importPIDs := map[int]bool{}
	items := map[int]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		pid, _ := strconv.Atoi(f[1])
		ts, _ := strconv.ParseFloat(f[2], 64)
		ts -= t0
		n, _ := strconv.Atoi(f[3])
		switch f[0] {
		case "start":
			get(pid).start = ts
		case "collected":
			get(pid).collected = ts
			items[pid] = n
		case "first":
			get(pid).first = ts
		case "finish":
			get(pid).finish = ts
			if _, ok := items[pid]; ok && n > items[pid] {
				items[pid] = n
			}
		case "import":
			tr.Imports++
			importPIDs[pid] = true
		case "fixture":
			tr.Fixtures++
		}
	}
	tr.ImportPIDs = len(importPIDs)
	var pids []int
	for pid := range items {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	for _, pid := range pids {
		p := procs[pid]
		tr.Procs++
		tr.Items = append(tr.Items, items[pid])
		tr.StartMax = max(tr.StartMax, p.start)
		if p.start >= 0 {
			tr.CollectMax = max(tr.CollectMax, p.collected-p.start)
		}
		tr.FirstMax = max(tr.FirstMax, p.first)
		if p.first >= 0 && p.collected >= 0 {
			tr.GapMax = max(tr.GapMax, p.first-p.collected)
		}
		tr.FinishMax = max(tr.FinishMax, p.finish)
	}
	return tr
}
