package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/pyworker"
	"github.com/herd-run/herd/internal/reaper"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/warm"
	"github.com/herd-run/herd/internal/watch"
	"github.com/herd-run/herd/internal/worker"
	"golang.org/x/term"
)

// watchHelp is printed by herd watch --help.
const watchHelp = `usage: herd watch [herd options] [pytest arguments]

Runs the suite, then, on every save under the current directory, the tests
the change can break (as herd --affected), each round on worker processes
started ahead. Each round prints a one-screen summary. Keys:

  a   run all tests
  f   run the tests that failed last time (pytest's --lf)
  q   quit (exit status 0; Ctrl-C quits with 2)

A key pressed while a round runs applies when it ends; q and Ctrl-C stop
the round at once. When stdin is not a terminal, keys are read one a line.
Every herd option and pytest argument of a plain run applies to each round.
`

// watchMain is herd watch: a first round, then a round per save or key,
// until q or a signal.
func watchMain(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.Parse(args, getenv)
	switch {
	case err != nil:
		return err
	case cfg.Help:
		fmt.Fprint(stdout, watchHelp)
		return nil
	case cfg.Passthrough:
		return usageError("herd watch: runs tests; --collect-only, --fixtures, --markers and --pdb are for a plain herd run")
	case cfg.Queue != "":
		return usageError("herd watch: --queue shares a run between machines; watch runs on this one")
	case cfg.Version > 0:
		return usageError("herd watch: --version is for a plain herd run")
	}
	for _, n := range cfg.Notes {
		fmt.Fprintln(stderr, n)
	}
	dir, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("get working directory: %w", err)
	}
	// The interpreter is found once: finding it runs it, which would add
	// half a second to every round.
	py, err := findPython(context.Background(), cfg.Python, cfg.PythonFromEnv, dir, getenv)
	if err != nil {
		return err
	}
	// Orphans of the tests (grandchildren that called setsid included)
	// become herd's children, so none outlives herd watch.
	_ = reaper.Enable()
	defer reaper.KillOrphans(nil)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	w, err := watch.New(ctx, dir, watch.Options{Ignore: outputIgnorer(cfg)})
	if err != nil {
		return err
	}
	keys := make(chan watch.Key, 8)
	stdinTTY := term.IsTerminal(int(os.Stdin.Fd()))
	if stdinTTY {
		restore, err := watch.Cbreak(int(os.Stdin.Fd()))
		if err != nil {
			return err
		}
		defer func() {
			if err := restore(); err != nil {
				fmt.Fprintf(stderr, "herd: %v\n", err)
			}
		}()
	}
	// The reader ends with stdin, or is left blocked in its read when
	// herd exits; stop keeps it from blocking on keys once nobody reads.
	go watch.ReadKeys(os.Stdin, stdinTTY, keys, ctx.Done())

	s := &watchSession{cfg: cfg, stdout: stdout, getenv: getenv, dir: dir, tty: isTerminal(stdout), python: py}
	// The warm pool's workers run a copy of herd's Python that outlives
	// the rounds (each round removes its own at its end).
	bootDir, err := os.MkdirTemp("", "herd-watch-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(bootDir)
	boot, err := pyworker.Install(bootDir)
	if err != nil {
		return err
	}
	s.pool = warm.New(ctx, boot)
	defer s.pool.Close()
	return s.loop(ctx, w, keys, sigs)
}

// watchSession is one herd watch: its configuration, its rounds so far,
// and the workers kept warm for the next round.
type watchSession struct {
	cfg    *config.Config
	stdout io.Writer
	getenv func(string) string
	dir    string
	tty    bool
	rounds int
	pool   *warm.Pool
	python *config.Interpreter
}

// request is what the next round runs: all tests, the last failed, or the
// affected ones (files says what changed).
type request struct {
	key   watch.Key // 0: affected tests
	files []string
}

// merge adds a later request to r: a key outweighs a save (all tests
// include the affected ones; a request for the failed ones is explicit),
// and a's all outweighs f's failed.
func (r *request) merge(o request) {
	switch {
	case o.key == watch.KeyAll || (o.key == watch.KeyFailed && r.key != watch.KeyAll):
		r.key = o.key
	}
	r.files = append(r.files, o.files...)
}

// loop runs the first round, then a round per request, until q or a
// signal. A request made while a round runs waits for its end; q and a
// signal interrupt the round (as one Ctrl-C does a plain run) and end
// herd watch once it stopped.
func (s *watchSession) loop(ctx context.Context, w *watch.Watcher, keys <-chan watch.Key, sigs <-chan os.Signal) error {
	changes := w.Changes() // nil once the watcher stopped
	var pending *request
	next, trigger := request{}, "start"
	for {
		round := s.start(next, trigger)
		trigger = ""
		interrupts := make(chan struct{}, 2)
		interrupt := func() {
			select {
			case interrupts <- struct{}{}:
			default: // two are pending: the run kills everything already
			}
		}
		done := make(chan struct{})
		var out bytes.Buffer
		var rerr error
		go func(req request) {
			defer close(done)
			_, rerr = s.run(ctx, req, &out, interrupts)
		}(next)
		quit := -1
	running:
		for {
			select {
			case <-done:
				break running
			case <-sigs:
				quit = exitInterrupted
				interrupt()
			case k := <-keys:
				if k != watch.KeyQuit {
					pending = mergeInto(pending, request{key: k})
				} else if quit < 0 {
					quit = exitOK
					interrupt()
				}
			case files, ok := <-changes:
				if !ok {
					changes = nil
					continue
				}
				pending = mergeInto(pending, request{files: files})
			case err := <-w.Errors():
				fmt.Fprintf(s.stdout, "herd: %v\n", err)
			}
		}
		s.summary(round, out.String(), rerr)
		if quit >= 0 {
			return exitWith(quit)
		}
		// Workers for the next round start now, while the user edits
		// (unless HERD_WATCH_WARM=0 turned the pool off).
		if s.getenv("HERD_WATCH_WARM") != "0" {
			s.pool.Fill()
		}
		for pending == nil {
			select {
			case <-sigs:
				return exitWith(exitInterrupted)
			case k := <-keys:
				if k == watch.KeyQuit {
					return nil
				}
				pending = &request{key: k}
			case files, ok := <-changes:
				if !ok {
					changes = nil
					continue
				}
				pending = &request{files: files}
			case err := <-w.Errors():
				fmt.Fprintf(s.stdout, "herd: %v\n", err)
			}
		}
		next, pending = *pending, nil
	}
}

// mergeInto merges o into the pending request p, or makes it pending.
func mergeInto(p *request, o request) *request {
	if p == nil {
		return &o
	}
	p.merge(o)
	return p
}

// start numbers the round about to run and says so under the last
// summary; it returns the round's summary with its header filled in.
func (s *watchSession) start(req request, trigger string) watch.Round {
	s.rounds++
	r := watch.Round{N: s.rounds, Dir: s.dir, Trigger: trigger, Files: dedupe(req.files)}
	switch req.key {
	case watch.KeyAll:
		r.Trigger = "a: all tests"
	case watch.KeyFailed:
		r.Trigger = "f: tests that failed last time"
	}
	if r.Trigger == "" && len(r.Files) == 0 {
		r.Trigger = "affected tests"
	}
	fmt.Fprintf(s.stdout, "%s: running...\n", r.Header())
	return r
}

// run runs one round: runHerd with the request's selection, its terminal
// output into out, and the warm pool's workers.
func (s *watchSession) run(ctx context.Context, req request, out io.Writer, interrupts <-chan struct{}) (*result.Run, error) {
	cfg := *s.cfg
	if cfg.RecordDeps != config.RecordOff {
		// Every round records, a and f's included: the next affected
		// round then knows what each test ran, and the workers of every
		// round have one environment, so that the warm ones fit all.
		cfg.RecordDeps = config.RecordOn
	}
	switch req.key {
	case watch.KeyAll:
		cfg.Affected = false
	case watch.KeyFailed:
		cfg.Affected = false
		cfg.PytestArgs = append(append([]string(nil), s.cfg.PytestArgs...), "--lf")
	default:
		cfg.Affected = true
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = usableCPUs()
	}
	// The pool fills itself for the next round with this round's
	// workers, unless this round's arguments are not the usual ones
	// (f's --lf).
	hooks := &runHooks{
		starter: func(ps *worker.ProcessStarter) worker.Starter {
			return s.pool.Starter(ps, workers, req.key != watch.KeyFailed)
		},
		ownsPID: s.pool.Holds,
		python:  s.python,
	}
	return runHerd(ctx, &cfg, out, out, s.getenv, interrupts, newShardRun(&cfg), hooks)
}

// summary prints the round's summary: on a terminal, alone on a cleared
// screen, cut to its size.
func (s *watchSession) summary(r watch.Round, out string, err error) {
	r.Line, r.Failures = watch.ParseOutput(out)
	r.Note = workersNote(s.pool.Stats())
	if err != nil {
		// What a plain run would print on stderr before exiting: the
		// reason this round ran no tests (a usage error, pytest failing
		// to start), its last lines in place of the failures.
		var msg bytes.Buffer
		code := exitCodeOf(err, &msg)
		if text := strings.TrimSpace(msg.String()); text != "" {
			r.Line = fmt.Sprintf("herd: the round failed (exit status %d):", code)
			lines := strings.Split(text, "\n")
			if len(lines) > errorLines {
				lines = lines[len(lines)-errorLines:]
			}
			r.Failures = lines
		}
	}
	if r.Line == "" {
		r.Line = "no output (the round ended before pytest's summary)"
	}
	width, height := 0, 0
	if s.tty {
		if f, ok := s.stdout.(*os.File); ok {
			if w, h, err := term.GetSize(int(f.Fd())); err == nil {
				// The last row stays free: a new line there would scroll
				// the header away.
				width, height = w, h-1
			}
		}
		fmt.Fprint(s.stdout, watch.ClearScreen)
	}
	fmt.Fprintln(s.stdout, strings.Join(r.Lines(width, height), "\n"))
}

// errorLines is how many last lines of a round's error the summary shows:
// pytest's own error (a bad option, an ini file it cannot parse) ends in
// its cause, and a screen holds a few lines more than that.
const errorLines = 10

// outputIgnorer leaves out of the watch the files a round writes itself
// (--junitxml, --report-json, --report-html, --events), so that a round
// does not start the next.
func outputIgnorer(cfg *config.Config) func(string) bool {
	out := map[string]bool{}
	for _, p := range []string{expandPath(cfg.JUnitXML), cfg.ReportJSON, cfg.ReportHTML, cfg.Events} {
		if p == "" || p == "-" {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			out[abs] = true
		}
	}
	return func(path string) bool { return out[path] }
}

// dedupe is files without repeats, in their first order.
func dedupe(files []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// workersNote says what the round's workers were: warm (held since the
// last round), replaced (an import changed), cold.
func workersNote(st warm.Stats) string {
	var parts []string
	if st.Warm > 0 {
		parts = append(parts, fmt.Sprintf("%d warm", st.Warm))
	}
	if st.Replaced > 0 {
		p := fmt.Sprintf("%d replaced", st.Replaced)
		if len(st.Stale) > 0 {
			names, more := st.Stale, ""
			if len(names) > 3 {
				names, more = names[:3], fmt.Sprintf(" and %d more", len(st.Stale)-3)
			}
			p += " (changed: " + strings.Join(names, ", ") + more + ")"
		}
		parts = append(parts, p)
	}
	if st.Cold > 0 {
		parts = append(parts, fmt.Sprintf("%d cold", st.Cold))
	}
	if len(parts) == 0 {
		return ""
	}
	return "workers: " + strings.Join(parts, ", ")
}
