package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/herd-run/herd/internal/basetemp"
	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/coverage"
	"github.com/herd-run/herd/internal/history"
	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/pyworker"
	"github.com/herd-run/herd/internal/reaper"
	"github.com/herd-run/herd/internal/report"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/run"
	"github.com/herd-run/herd/internal/schedule"
	"github.com/herd-run/herd/internal/worker"
	"github.com/herd-run/herd/internal/xdistctl"
	"golang.org/x/term"
)

// runMain runs the suite as cfg says, with signals turned into interrupts
// and orphans reaped, and returns how it ended: the run's result as an
// *exitError, or what stopped it.
func runMain(cfg *config.Config, stdout, stderr io.Writer, getenv func(string) string) error {
	for _, n := range cfg.Notes {
		fmt.Fprintln(stderr, n)
	}

	// Orphans of the tests (grandchildren that called setsid included)
	// become herd's children, so none outlives the run.
	_ = reaper.Enable()
	defer reaper.KillOrphans(nil)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	interrupts := make(chan struct{}, 2)
	go func() { // owns sigs; stops with ctx
		for {
			select {
			case <-sigs:
				select {
				case interrupts <- struct{}{}:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	}()

	sh := newShardRun(cfg)
	res, err := runHerd(ctx, cfg, stdout, stderr, getenv, interrupts, sh, nil)
	if err != nil || res == nil {
		return err
	}
	if code := exitCode(res); code != exitNoTests || !sh.emptyPart() {
		return exitWith(code)
	}
	// An empty shard of a suite that has tests passes: a CI matrix wider
	// than the suite stays green.
	return nil
}

// runHooks are what a caller other than a plain run (herd watch) changes
// in runHerd; nil changes nothing.
type runHooks struct {
	// starter, when set, is given the run's worker starter and returns the
	// one the run uses (herd watch's warm pool in front of it).
	starter func(*worker.ProcessStarter) worker.Starter
	// ownsPID, when set, says a child process of herd's is the caller's
	// (a worker held for the next run): the run's orphan scan leaves it.
	ownsPID func(pid int) bool
	// python, when set, is the interpreter, found once by the caller:
	// finding it runs it (half a second), which a watch round cannot
	// spend.
	python *config.Interpreter
}

// runHerd runs the suite. It returns the run, or, when the run was
// delegated to plain pytest, an *exitError with pytest's exit code.
func runHerd(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer, getenv func(string) string, interrupts <-chan struct{}, sh *shardRun, hooks *runHooks) (*result.Run, error) {
	// With --events -, stdout carries the event stream alone: everything
	// else herd would print there goes to stderr.
	eventsOut := stdout
	if cfg.Events == "-" {
		stdout = stderr
	}
	// An output file that cannot be written fails now, not after the run.
	if err := checkOutputs(cfg); err != nil {
		return nil, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("get working directory: %w", err)
	}
	var py *config.Interpreter
	if hooks != nil && hooks.python != nil {
		py = hooks.python
	} else if py, err = findPython(ctx, cfg.Python, cfg.PythonFromEnv, cwd, getenv); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "herd-")
	if err != nil {
		return nil, fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	boot, err := pyworker.Install(dir)
	if err != nil {
		return nil, err
	}
	if cfg.Passthrough {
		return nil, delegate(ctx, py.Path, boot, cfg.PytestArgs, stdout, stderr)
	}

	workers := cfg.Workers
	if workers == 0 {
		workers = usableCPUs()
	}
	// What each test depends on is recorded as it runs, and --affected
	// chooses the tests by those records.
	ar := newAffectedRun(ctx, cfg, py.Path, filepath.Join(dir, pyworker.FPName))
	uid := randomHex(16)
	seeds := seedEnv(cfg)
	env := os.Environ()
	if cfg.Timeout > 0 {
		// pytest-timeout in the workers takes herd's --timeout as its
		// own, as under pytest (its header line says it); herd enforces it.
		env = append(env, "HERD_TIMEOUT="+strconv.FormatFloat(cfg.Timeout.Seconds(), 'g', -1, 64))
	}
	// pytest's base temporary directory, made once for the run as
	// pytest-xdist makes it: each worker uses popen-gwN in it, and the
	// older ones are deleted once, after the run (see package basetemp).
	if bt, err := basetemp.Create(getenv); err != nil {
		fmt.Fprintf(stderr, "herd: %v; each worker makes its own\n", err)
	} else {
		env = append(env, "HERD_BASETEMP="+bt.Path)
		defer func() {
			if err := bt.Close(); err != nil {
				fmt.Fprintf(stderr, "herd: %v\n", err)
			}
		}()
	}
	starter := &worker.ProcessStarter{
		Spec: worker.Spec{
			Python: py.Path,
			Boot:   boot,
			Args:   cfg.PytestArgs,
			Env:    env,
			Dir:    cwd,
		},
		SlotEnv: func(slot int) []string {
			return append([]string{
				fmt.Sprintf("PYTEST_XDIST_WORKER=gw%d", slot),
				fmt.Sprintf("PYTEST_XDIST_WORKER_COUNT=%d", workers),
				"PYTEST_XDIST_TESTRUNUID=" + uid,
				splitEnv(workers, cfg),
				fmt.Sprintf("%s=%d", protocol.EnvMaxFail, cfg.MaxFail),
				depsEnv(cfg),
			}, seeds...)
		},
	}
	// --queue: this machine is one consumer of a run shared through Redis.
	qr, err := newQueueRun(ctx, cfg, workers, stderr)
	if err != nil {
		return nil, err
	}
	defer qr.close()
	tty := isTerminal(stdout)
	// -s: every line a test prints on stdout or stderr goes to herd's
	// stdout or stderr as it comes, prefixed with the test that printed
	// it; the reports write through live, between its lines. Without -s
	// on herd's command line the streams wait for the worker's word (its
	// first marker), which comes when its configuration (ini addopts)
	// turned capture off.
	live := report.NewLiveOutput(stdout, stderr, tty)
	stdout = live.Terminal()
	starter.SlotLive = func(slot int) (worker.Live, worker.Live) {
		out, errs := live.Streams(slot)
		return out, errs
	}
	if cfg.CaptureOff() {
		// Python buffers stdout in blocks when it is a pipe; live output
		// wants each line when it is printed.
		starter.Spec.Env = append(starter.Spec.Env, "PYTHONUNBUFFERED=1")
	} else {
		starter.Spec.LiveOnMark = true
	}
	var sink multiSink
	sink = append(sink, qr.sinks(stdout)...)
	sink = append(sink, sh.sink(stdout), affectedBanner{w: stdout}, qr.terminal(&lazyTerminal{w: stdout, cfg: cfg, tty: tty}))
	if cfg.Events != "" {
		ew, closeEvents, err := openEvents(cfg.Events, eventsOut)
		if err != nil {
			return nil, &config.UsageError{Msg: "herd: --events: " + err.Error()}
		}
		defer closeEvents(stderr)
		sink = append(sink, ew)
	}
	if getenv("GITHUB_ACTIONS") == "true" {
		// Failures and crashes also become workflow annotations.
		sink = append(sink, report.NewGitHubAnnotations(stdout))
	}
	if coverage.On(cfg.PytestArgs) {
		coverage.Erase(cwd, cfg.PytestArgs)
	}
	// xdist's controller, for suites whose plugins or conftests have a part
	// there: started when a worker first asks for it, with the workers'
	// interpreter, arguments, environment and directory.
	ctl := xdistctl.New(xdistctl.Process(xdistctl.Spec{
		Python: py.Path,
		Script: filepath.Join(dir, pyworker.CtlName),
		Args:   cfg.PytestArgs,
		Env: append(append(append([]string(nil), env...),
			fmt.Sprintf("PYTEST_XDIST_WORKER_COUNT=%d", workers),
			"PYTEST_XDIST_TESTRUNUID="+uid), seeds...),
		Dir: cwd,
	}))
	defer ctl.Close()
	var ctlErr error
	var starterUsed worker.Starter = starter
	if hooks != nil && hooks.starter != nil {
		starterUsed = hooks.starter(starter)
	}
	res, err := run.Execute(ctx, run.Config{
		DeathWords: report.DeathWords,
		Nodes:      ctl,
		Affected:   ar.choose(),
		Deps:       ar.deps(),
		Finish: func(r *result.Run) {
			ar.finish(r)
			if len(r.Info.Cov) > 0 {
				coverage.Finish(ctx, py.Path, filepath.Join(dir, pyworker.CovName), cwd, r, stderr)
			}
			// The controller's pytest_sessionfinish gets the run's exit
			// status, as under xdist, before herd's summary.
			r.FlakyFails = cfg.FlakyFails
			ctlErr = ctl.Finish(exitCode(r))
		},
		Workers:  workers,
		Starter:  starterUsed,
		Sink:     sink,
		MaxFail:  cfg.MaxFail,
		Timeout:  cfg.Timeout,
		Diagnose: !cfg.NoDiagnose,
		Retries:  cfg.Retries,
		Select:   sh.selectTests(),
		Queue:    qr.hook(),
		Policies: qr.policies(sh.policies(func(rootdir string) (func(protocol.TestInfo) schedule.Policy, error) {
			rules, err := config.LoadPolicyRules(rootdir)
			if err != nil {
				return nil, err
			}
			return rules.For, nil
		})),
		LeaksFail: cfg.LeaksFail,
		Check: func(info result.Info) error {
			ar.check(info)
			// --junitxml in ini addopts: known once a worker has read
			// the ini file.
			if cfg.JUnitXML == "" && info.Options.JUnitXML != "" {
				return checkOutput("--junitxml", expandPath(info.Options.JUnitXML))
			}
			return nil
		},
		Durations:  history.LoadDurations,
		LastFailed: history.LoadLastFailed,
		Orphans: func(keep map[int]bool) []run.Orphan {
			var out []run.Orphan
			ctlPID := ctl.PID()
			for _, p := range reaper.Children(keep) {
				if ctlPID != 0 && (p.PID == ctlPID || p.PGID == ctlPID) {
					// The xdist controller, or what its hooks started.
					continue
				}
				if hooks != nil && hooks.ownsPID != nil && (hooks.ownsPID(p.PID) || hooks.ownsPID(p.PGID)) {
					continue
				}
				out = append(out, run.Orphan{PID: p.PID, PGID: p.PGID, Cmd: p.Cmd})
			}
			return out
		},
		Interrupts: interrupts,
		// The reason of the tests -x or --maxfail keeps from running
		// names the option as the user gave it.
		MaxFailFlag:     cfg.MaxFailFlag,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Info: result.Info{
			Version:    version,
			PythonPath: py.Path,
			Pytest:     py.Pytest,
		},
	})
	if err != nil {
		return nil, err
	}
	res.FlakyFails = cfg.FlakyFails
	if err := writeReports(cfg, res, stderr); err != nil {
		return nil, err
	}
	// The reports above are this machine's part of a queue run; its exit
	// code and pytest's cache follow the whole run.
	if err := qr.err(res); err != nil {
		return nil, err
	}
	res = qr.result(res)
	keepDurations := false
	if res.Info.CacheDir != "" {
		if p := filepath.Join(res.Info.CacheDir, history.DurationsPath); sh.weighedBy(p) {
			// A shard run never changes the file its partition was
			// weighed by: the next shard must split the same way.
			fmt.Fprintf(stderr, "herd: durations not recorded: --shard weighed the tests by %s, which a shard run does not change\n", p)
			keepDurations = true
		}
	}
	for _, err := range history.Record(res, keepDurations, time.Now()) {
		fmt.Fprintf(stderr, "herd: %v\n", err)
	}
	ar.save(res, stderr)
	// A hook that raised in the xdist controller fails the run (exit 3)
	// once its reports are written.
	return res, ctlErr
}

func writeReports(cfg *config.Config, res *result.Run, stderr io.Writer) error {
	junit := cfg.JUnitXML
	if junit == "" {
		junit = res.Info.Options.JUnitXML
	}
	if junit != "" {
		junit = expandPath(junit)
		host, _ := os.Hostname()
		opts := report.JUnitOptions{JUnit: res.Info.Options.JUnit, Hostname: host, Timestamp: time.Now().Add(-res.Duration)}
		if err := writeFile(junit, func(w io.Writer) error {
			return report.WriteJUnit(w, res, opts)
		}); err != nil {
			return err
		}
	}
	if cfg.ReportJSON != "" {
		if err := writeFile(cfg.ReportJSON, func(w io.Writer) error { return report.WriteJSON(w, res) }); err != nil {
			return err
		}
	}
	if cfg.ReportHTML != "" {
		title := "herd report"
		if res.Info.Rootdir != "" {
			title += ": " + filepath.Base(res.Info.Rootdir)
		}
		if err := writeFile(cfg.ReportHTML, func(w io.Writer) error {
			return report.WriteHTML(w, res, report.HTMLOptions{Title: title, Generated: time.Now()})
		}); err != nil {
			return err
		}
	}
	return nil
}

// checkOutputs checks, before anything runs, that every output file given
// on the command line can be written: --junitxml, --report-json,
// --report-html and --events.
func checkOutputs(cfg *config.Config) error {
	for _, o := range []struct{ flag, path string }{
		{"--junitxml", expandPath(cfg.JUnitXML)},
		{"--report-json", cfg.ReportJSON},
		{"--report-html", cfg.ReportHTML},
		{"--events", cfg.Events},
	} {
		if o.path == "" || (o.flag == "--events" && o.path == "-") {
			continue
		}
		if err := checkOutput(o.flag, o.path); err != nil {
			return err
		}
	}
	return nil
}

// checkOutput checks that the file at path can be written, as it will be
// at the end of the run: its missing directories are created (pytest
// creates them for --junitxml too), and the file is opened for writing
// without changing it (removed again if it did not exist). The error is a
// one-line usage error naming flag.
func checkOutput(flag, path string) error {
	fail := func(err error) error {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s %s: %w", pe.Op, pe.Path, pe.Err)
		}
		return &config.UsageError{Msg: fmt.Sprintf("herd: %s %s: cannot be written: %v", flag, path, err)}
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return &config.UsageError{Msg: fmt.Sprintf("herd: %s %s: is a directory; it expects a file name", flag, path)}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fail(err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fail(err)
	}
	f.Close()
	if errors.Is(statErr, os.ErrNotExist) {
		os.Remove(path)
	}
	return nil
}

// expandPath expands a leading ~ and $VAR or ${VAR} in a --junitxml path,
// as pytest's junitxml plugin does (an unset variable stays as written).
func expandPath(p string) string {
	if p == "" {
		return p
	}
	p = os.Expand(p, func(name string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return "${" + name + "}"
	})
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = home + p[1:]
		}
	}
	return p
}

// openEvents opens the --events stream: stdout for "-", else the file at
// path, created before the run starts. The returned func closes it and
// tells on stderr when the stream could not be written in full.
func openEvents(path string, stdout io.Writer) (*report.EventWriter, func(stderr io.Writer), error) {
	if path == "-" {
		ew := report.NewEventWriter(stdout)
		return ew, func(stderr io.Writer) {
			if err := ew.Err(); err != nil {
				fmt.Fprintf(stderr, "herd: %v\n", err)
			}
		}, nil
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("open event stream: %w", err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open event stream: %w", err)
	}
	ew := report.NewEventWriter(f)
	return ew, func(stderr io.Writer) {
		err := ew.Err()
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write event stream: %w", cerr)
		}
		if err != nil {
			fmt.Fprintf(stderr, "herd: %v\n", err)
		}
	}, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// delegate runs pytest alone for the options that do not run tests
// (--collect-only, --fixtures, --markers) or need a terminal (--pdb). Its
// error is an *exitError with pytest's exit code, or nil when it exited 0.
func delegate(ctx context.Context, python, boot string, args []string, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, python, append([]string{boot}, args...)...)
	cmd.Env = append(os.Environ(), "HERD_PLAIN=1")
	cmd.Stdin = os.Stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &exitError{code: ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("run pytest: %w", err)
	}
	return nil
}

func usableCPUs() int {
	n := runtime.NumCPU()
	if n < 1 {
		n = 1
	}
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprintf("%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b)
}

// seedEnv is the workers' environment about seeds. HERD_RUN_SEED is the
// run's seed where an xdist controller would draw one and hand it to its
// workers in workerinput (pytest-randomly's "randomly_seed"): one per run,
// drawn at random, or --seed's. HERD_SEED holds a seed only with --seed
// N, which asks herd to seed pytest-randomly and hypothesis; without it
// their options are left as pytest leaves them (hypothesis then keeps its
// example database, which a forced seed turns off).
func seedEnv(cfg *config.Config) []string {
	if cfg.SeedSet {
		return []string{fmt.Sprintf("HERD_RUN_SEED=%d", cfg.Seed), fmt.Sprintf("HERD_SEED=%d", cfg.Seed)}
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		binary.BigEndian.PutUint32(b[:], uint32(time.Now().UnixNano()))
	}
	// An empty HERD_SEED hides one the environment may hold.
	return []string{fmt.Sprintf("HERD_RUN_SEED=%d", binary.BigEndian.Uint32(b[:])), "HERD_SEED="}
}

// splitEnv is the worker environment variable that splits collection:
// with two workers or more, each imports its share of the test files
// instead of all of them, unless --collect-each says otherwise.
func splitEnv(workers int, cfg *config.Config) string {
	if workers >= 2 && !cfg.CollectEach {
		return protocol.EnvSplit + "=1"
	}
	return protocol.EnvSplit + "=0"
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// lazyTerminal builds the terminal reporter when the run starts, once the
// workers have told which pytest options (ini addopts included) apply.
type lazyTerminal struct {
	w   io.Writer
	cfg *config.Config
	tty bool
	t   *report.Terminal
}

func (l *lazyTerminal) Handle(ev result.Event) {
	if l.t == nil {
		if ev.Kind != result.RunStarted && ev.Kind != result.RunFinished {
			return
		}
		var info result.Info
		if ev.Info != nil {
			info = *ev.Info
		} else if ev.Run != nil {
			info = ev.Run.Info
		}
		l.t = report.NewTerminal(l.w, l.options(info.Options))
		if ev.Kind == result.RunFinished {
			l.t.Handle(result.Event{Kind: result.RunStarted, Info: &info})
		}
	}
	l.t.Handle(ev)
}

func (l *lazyTerminal) options(o result.Options) report.TerminalOptions {
	opts := report.TerminalOptions{
		Verbosity:    o.Verbose,
		TTY:          l.tty,
		Width:        terminalWidth(l.w),
		ReportChars:  o.ReportChars,
		TB:           o.TBStyle,
		ShowCapture:  o.ShowCapture,
		Durations:    o.Durations,
		DurationsMin: o.DurationsMin,
	}
	if l.cfg.Durations >= 0 {
		opts.Durations = l.cfg.Durations
	}
	if l.cfg.DurationsMinSet {
		opts.DurationsMin = l.cfg.DurationsMin
	}
	if opts.ReportChars == "" {
		opts.ReportChars = "fE"
	}
	// pytest does not trim short-summary messages on CI.
	opts.CI = os.Getenv("CI") != "" || os.Getenv("BUILD_NUMBER") != ""
	junit := l.cfg.JUnitXML
	if junit == "" {
		junit = o.JUnitXML
	}
	if junit != "" {
		if abs, err := filepath.Abs(expandPath(junit)); err == nil {
			opts.JUnitXML = abs
		}
	}
	return opts
}

// terminalWidth follows pytest: COLUMNS first, then the terminal's size, then
// 80 columns.
func terminalWidth(w io.Writer) int {
	if v := os.Getenv("COLUMNS"); v != "" {
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n >= 40 {
			return n
		}
	}
	// An *os.File, or a writer in front of one (live output's, under -s).
	if f, ok := w.(interface{ Fd() uintptr }); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols >= 40 {
			return cols
		}
	}
	return 80
}

// multiSink hands every event to each of its sinks, in order.
type multiSink []result.Sink

func (m multiSink) Handle(ev result.Event) {
	for _, s := range m {
		s.Handle(ev)
	}
}
