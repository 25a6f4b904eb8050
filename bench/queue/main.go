// Command queue measures herd's queue mode (herd --queue) on this one
// machine: 1, 2 and 3 consumers with -n 1 each on the skewed suite (200
// tests of 0.01 s in 20 modules, then a module of 4 tests of 1.5 s), against
// a redis-server it starts on loopback. It prints a Markdown table for
// BENCHMARKS.md.
//
//	go run ./bench/queue                 # 3 rounds of 1, 2 and 3 consumers
//	go run ./bench/queue --rounds 5 --consumers 1,3 --herd ./herd
//
// It builds herd unless --herd names a binary. Every round first runs plain
// herd -n 1 once (not timed) in the suite, so the durations every consumer
// seeds with are recorded, as they are from the second run on in CI.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runTimeout bounds one timed run: the suite sleeps 8 s in all, so two
// minutes only ends a run that hangs.
const runTimeout = 2 * time.Minute

// redisReady bounds the wait for the fresh redis-server to answer: it
// starts in milliseconds, so five seconds only fails one that cannot.
const redisReady = 5 * time.Second

// quietIdle is how idle the machine must be (share of CPU time over a
// second) before a timed run starts: other processes' work would slow the
// consumers down, and 2 cores leave no room for it.
const quietIdle = 0.9

func main() {
	rounds := flag.Int("rounds", 3, "rounds per consumer count")
	consumers := flag.String("consumers", "1,2,3", "consumer counts to measure")
	herd := flag.String("herd", "", "herd binary (default: build ./cmd/herd)")
	python := flag.String("python", "/usr/bin/python3", "interpreter with pytest")
	lease := flag.String("lease", "30s", "--queue-lease of the consumers")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	trace := flag.String("trace", "", "write each consumer's --events stream and stderr into this directory")
	quietWait := flag.Duration("quiet-wait", 5*time.Minute, "wait at most this long for the machine to go quiet before each timed run")
	flag.Parse()
	if err := run(*rounds, *consumers, *herd, *python, *lease, *keep, *quietWait, *trace); err != nil {
		fmt.Fprintln(os.Stderr, "bench/queue:", err)
		os.Exit(1)
	}
}

func run(rounds int, consumerList, herd, python, lease string, keep bool, quietWait time.Duration, trace string) error {
	var counts []int
	for _, f := range strings.Split(consumerList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--consumers: bad count %q", f)
		}
		counts = append(counts, n)
	}
	tmp, err := os.MkdirTemp("", "herd-queue-bench-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if herd == "" {
		herd = filepath.Join(tmp, "herd")
		build := exec.Command("go", "build", "-o", herd, "./cmd/herd")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build herd: %w", err)
		}
	}
	suite := filepath.Join(tmp, "skewed")
	if err := writeSkewed(suite); err != nil {
		return err
	}
	addr, stop, err := startRedis(tmp)
	if err != nil {
		return err
	}
	defer stop()

	// Record the durations once, as a first run does.
	if _, err := timed(herd, suite, python, 1, "", "", "", ""); err != nil {
		return fmt.Errorf("warm-up run: %w", err)
	}
	type row struct {
		label string
		walls []float64
		share []string
	}
	var rows []row
	base := row{label: "herd -n 1, no queue"}
	for r := 0; r < rounds; r++ {
		waitQuiet(quietWait)
		w, err := timed(herd, suite, python, 1, "", "", "", "")
		if err != nil {
			return err
		}
		base.walls = append(base.walls, w.wall)
		fmt.Fprintf(os.Stderr, "round %d: no queue: %.2fs\n", r+1, w.wall)
	}
	rows = append(rows, base)
	for _, n := range counts {
		rw := row{label: fmt.Sprintf("%d %s, -n 1 each", n, plural(n, "consumer"))}
		for r := 0; r < rounds; r++ {
			id := fmt.Sprintf("bench-%d-%d-%d", n, r, time.Now().UnixNano())
			waitQuiet(quietWait)
			w, err := timed(herd, suite, python, n, "redis://"+addr+"/0", id, lease, trace)
			if err != nil {
				return err
			}
			rw.walls = append(rw.walls, w.wall)
			rw.share = append(rw.share, w.share)
			fmt.Fprintf(os.Stderr, "round %d: %d consumers: %.2fs (tests per consumer %s)\n", r+1, n, w.wall, w.share)
		}
		rows = append(rows, rw)
	}

	fmt.Printf("| run | rounds | wall median (s) | wall min | wall max | tests per consumer (median round) | ideal (s) |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- |\n")
	for k, r := range rows {
		ideal := "8.00"
		share := "204"
		if k > 0 {
			ideal = fmt.Sprintf("%.2f", idealMakespan(counts[k-1]))
			share = r.share[medianIndex(r.walls)]
		}
		s := append([]float64(nil), r.walls...)
		sort.Float64s(s)
		fmt.Printf("| %s | %d | %.2f | %.2f | %.2f | %s | %s |\n", r.label, len(s), s[len(s)/2], s[0], s[len(s)-1], share, ideal)
	}
	return nil
}

// idealMakespan is the shortest possible run of the skewed suite's tests on
// n machines of one worker: the four 1.5 s tests spread as evenly as they
// can, and the 2 s of short tests fill the gaps.
func idealMakespan(n int) float64 {
	longs := make([]float64, n)
	for k := 0; k < 4; k++ {
		sort.Float64s(longs)
		longs[0] += 1.5
	}
	sort.Float64s(longs)
	total := 8.0
	return max(longs[n-1], total/float64(n))
}

// waitQuiet waits, at most max, until the machine's CPUs are idle at
// least quietIdle of a second, and says on stderr when it had to wait or
// gave up.
func waitQuiet(max time.Duration) {
	start := time.Now()
	for {
		idle := idleShare(time.Second)
		if idle >= quietIdle {
			if waited := time.Since(start); waited > 2*time.Second {
				fmt.Fprintf(os.Stderr, "waited %s for the machine to go quiet\n", waited.Round(time.Second))
			}
			return
		}
		if time.Since(start) > max {
			fmt.Fprintf(os.Stderr, "the machine is not quiet (%.0f%% idle); measuring anyway\n", idle*100)
			return
		}
	}
}

// idleShare returns the share of CPU time spent idle over d, from
// /proc/stat (1 when it cannot be read).
func idleShare(d time.Duration) float64 {
	read := func() (idle, total float64) {
		data, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0
		}
		line, _, _ := strings.Cut(string(data), "\n")
		for k, f := range strings.Fields(line)[1:] {
			v, _ := strconv.ParseFloat(f, 64)
			total += v
			if k == 3 || k == 4 { // idle, iowait
				idle += v
			}
		}
		return idle, total
	}
	i0, t0 := read()
	time.Sleep(d)
	i1, t1 := read()
	if t1 <= t0 {
		return 1
	}
	return (i1 - i0) / (t1 - t0)
}

func medianIndex(v []float64) int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	return idx[len(idx)/2]
}

type measure struct {
	wall  float64
	share string
}

// timed runs n herd processes at once (a queue run when url is set, else
// one plain herd) and returns the wall time from the first start to the
// last exit, and how many tests each consumer ran.
func timed(herd, suite, python string, n int, url, id, lease, trace string) (measure, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var cmds []*exec.Cmd
	var reports []string
	start := time.Now()
	for k := 0; k < n; k++ {
		rep := filepath.Join(os.TempDir(), fmt.Sprintf("herd-queue-bench-%d-%d.json", os.Getpid(), k))
		args := []string{"-n", "1", "-q", "--python", python, "--report-json", rep}
		if url != "" {
			args = append(args, "--queue", url, "--run-id", id, "--queue-lease", lease)
		}
		var errFile *os.File
		if trace != "" {
			args = append(args, "--events", filepath.Join(trace, fmt.Sprintf("%s-%d.ndjson", id, k)))
			f, err := os.Create(filepath.Join(trace, fmt.Sprintf("%s-%d.stderr", id, k)))
			if err != nil {
				return measure{}, err
			}
			defer f.Close()
			errFile = f
		}
		cmd := exec.CommandContext(ctx, herd, args...)
		cmd.Dir = suite
		if errFile != nil {
			cmd.Stderr = errFile
		}
		cmd.Env = append(os.Environ(), "COLUMNS=80")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return measure{}, err
		}
		cmds = append(cmds, cmd)
		reports = append(reports, rep)
	}
	var errs []error
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("herd: %w", err))
		}
	}
	wall := time.Since(start).Seconds()
	var share []string
	for _, rep := range reports {
		data, err := os.ReadFile(rep)
		os.Remove(rep)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var doc struct {
			Tests []json.RawMessage `json:"tests"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			errs = append(errs, err)
		}
		share = append(share, strconv.Itoa(len(doc.Tests)))
	}
	return measure{wall: wall, share: strings.Join(share, "/")}, errors.Join(errs...)
}

// writeSkewed writes bench's skewed suite: 20 modules of 10 tests of
// 0.01 s, then (last in collection order) a module of 4 tests of 1.5 s.
func writeSkewed(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pytest.ini"), []byte("[pytest]\n"), 0o644); err != nil {
		return err
	}
	for m := 0; m < 20; m++ {
		var b strings.Builder
		b.WriteString("import time\n\n\n")
		for t := 0; t < 10; t++ {
			fmt.Fprintf(&b, "def test_short_%03d():\n    time.sleep(0.01)\n\n\n", t)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("test_s%03d.py", m)), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	var b strings.Builder
	b.WriteString("import time\n\n\n")
	for t := 0; t < 4; t++ {
		fmt.Fprintf(&b, "def test_long_%d():\n    time.sleep(1.5)\n\n\n", t)
	}
	return os.WriteFile(filepath.Join(dir, "test_zz_long.py"), []byte(b.String()), 0o644)
}

// startRedis starts redis-server on a free loopback port, without
// persistence, and returns its address and a function that stops it.
func startRedis(dir string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server (Debian: apt-get install -y redis-server): %w", err)
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(redisReady)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if line == "+PONG\r\n" {
				return addr, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server at %s does not answer", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
