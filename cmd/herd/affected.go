package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/herd-run/herd/internal/affected"
	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
)

// affectedRun is the state of a run's dependency recording and, under
// --affected, of its selection: it learns the rootdir and cache directory
// from the check hook, chooses the tests in the affected hook, gathers
// what the workers record, and saves the records after the run. Without
// --affected and with recording off it is nil, and its methods do nothing.
type affectedRun struct {
	ctx    context.Context
	cfg    *config.Config
	python string
	// fpScript is herd's fingerprint script, run with python.
	fpScript string
	rec      *affected.Recorder

	info  result.Info
	store *affected.Store
	sel   affected.Selection
	tests []protocol.TestInfo
	// chosen says the affected hook ran.
	chosen bool
}

func newAffectedRun(ctx context.Context, cfg *config.Config, python, fpScript string) *affectedRun {
	if !cfg.Affected && cfg.RecordDeps == config.RecordOff {
		return nil
	}
	return &affectedRun{ctx: ctx, cfg: cfg, python: python, fpScript: fpScript, rec: affected.NewRecorder()}
}

// depsEnv is the workers' HERD_DEPS: record under --affected (unless
// --no-record-deps) and with --record-deps; a plain run records nothing.
// Recording is not on by default anywhere: on Python 3.12 it cost -1% to
// +5% on a realistic suite but +17% on 5,000 trivial tests, over the 10%
// a default may cost (BENCHMARKS.md, "Affected tests").
func depsEnv(cfg *config.Config) string {
	if cfg.RecordDeps != config.RecordOff && (cfg.Affected || cfg.RecordDeps == config.RecordOn) {
		return protocol.EnvDeps + "=1"
	}
	return protocol.EnvDeps + "=0"
}

// check keeps the run's rootdir and cache directory.
func (a *affectedRun) check(info result.Info) {
	if a != nil {
		a.info = info
	}
}

// deps is the dispatcher's Deps hook.
func (a *affectedRun) deps() func(int, *protocol.Message) {
	if a == nil {
		return nil
	}
	return a.rec.Message
}

// choose is the dispatcher's Affected hook; nil without --affected.
func (a *affectedRun) choose() func([]protocol.TestInfo) ([]bool, *result.Affected, error) {
	if a == nil || !a.cfg.Affected {
		return nil
	}
	return func(tests []protocol.TestInfo) ([]bool, *result.Affected, error) {
		a.chosen = true
		a.tests = tests
		if a.info.CacheDir == "" {
			a.sel = affected.Selection{All: true, Why: "pytest's cache is off (-p no:cacheprovider): nothing is recorded", Keep: allTrue(len(tests))}
			return a.sel.Keep, a.summary(), nil
		}
		store, err := affected.Load(a.info.CacheDir)
		if err != nil {
			return nil, nil, err
		}
		a.store = store
		sel, err := affected.Select(a.ctx, affected.Input{
			Store:    store,
			Root:     a.info.Rootdir,
			Rev:      a.cfg.AffectedRev,
			RevGiven: a.cfg.AffectedRev != "",
			Tests:    tests,
			Git:      affected.ExecGit{},
			FP:       affected.PythonFP{Python: a.python, Script: a.fpScript},
			Python:   a.info.Python,
			Pytest:   a.info.Pytest,
			Env:      affected.EnvFiles(a.info.Rootdir),
		})
		if err != nil {
			return nil, nil, &config.UsageError{Msg: "herd: --affected: " + err.Error()}
		}
		a.sel = sel
		if a.cfg.Verify {
			// Everything runs; what --affected chose is judged after.
			return allTrue(len(tests)), a.summary(), nil
		}
		return sel.Keep, a.summary(), nil
	}
}

func allTrue(n int) []bool {
	k := make([]bool, n)
	for i := range k {
		k[i] = true
	}
	return k
}

func (a *affectedRun) summary() *result.Affected {
	return &result.Affected{Rev: a.sel.Rev, All: a.sel.All, Why: a.sel.Why, Changed: a.sel.Changed,
		Selected: a.sel.Kept(), Total: len(a.tests), Verify: a.cfg.Verify}
}

// finish judges, under --verify, what --affected would have left out.
func (a *affectedRun) finish(r *result.Run) {
	if a == nil || !a.chosen || !a.cfg.Verify || r.Affected == nil {
		return
	}
	r.Affected.Misses = affected.Misses(a.sel, a.tests, a.store, r)
}

// save folds what the run recorded into the records in pytest's cache.
func (a *affectedRun) save(r *result.Run, stderr io.Writer) {
	if a == nil || r.Info.CacheDir == "" || r.Info.Rootdir == "" {
		return
	}
	if a.rec.Recorded() == 0 && !a.cfg.Affected {
		return // nothing was recorded (Python without a cheap tracer)
	}
	old := a.store
	if !a.chosen {
		var err error
		if old, err = affected.Load(r.Info.CacheDir); err != nil {
			fmt.Fprintf(stderr, "herd: %v; recording anew\n", err)
			old = nil
		}
	}
	recording := a.cfg.RecordDeps != config.RecordOff
	s := a.rec.Fold(old, r, recording, affected.EnvFiles(r.Info.Rootdir))
	if err := s.Save(r.Info.CacheDir); err != nil {
		fmt.Fprintf(stderr, "herd: could not record the tests' dependencies: %v\n", err)
	}
}

// headerLine is "affected: 3 of 40 tests (changed since HEAD: a.py, b.txt)".
func affectedLine(a *result.Affected) string {
	if a.All {
		return fmt.Sprintf("affected: all %d tests run: %s", a.Total, a.Why)
	}
	changed := "nothing changed"
	if n := len(a.Changed); n > 0 {
		names := a.Changed
		if n > 5 {
			names = names[:5]
		}
		changed = "changed: " + strings.Join(names, ", ")
		if n > 5 {
			changed += fmt.Sprintf(" and %d more", n-5)
		}
	}
	verify := ""
	if a.Verify {
		verify = "; --verify runs all of them"
	}
	since := "since " + a.Rev
	if a.Rev == "" {
		since = "since the last run (no git repository)"
	}
	return fmt.Sprintf("affected: %d of %d tests %s (%s)%s", a.Selected, a.Total, since, changed, verify)
}

// affectedBanner prints the affected line in the header, right before
// pytest's "collected" line, unless -q.
type affectedBanner struct{ w io.Writer }

func (b affectedBanner) Handle(ev result.Event) {
	if ev.Kind != result.Collected || ev.Run == nil || ev.Run.Affected == nil || ev.Run.Info.Options.Verbose < 0 {
		return
	}
	fmt.Fprintln(b.w, affectedLine(ev.Run.Affected))
}
