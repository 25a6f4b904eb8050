package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/result"
	"github.com/herd-run/herd/internal/schedule"
	"github.com/herd-run/herd/internal/shard"
)

// shardRun is the state of a `--shard K/N` run: it learns the rootdir from
// the policies hook, chooses the part's tests in the select hook, and says
// what it chose in the header. Its methods are nil-safe: a nil *shardRun is
// a run without --shard.
type shardRun struct {
	spec shard.Spec
	// durationsFile is --durations-file, as given; empty without it.
	durationsFile string
	rootdir       string
	// Set by the select hook.
	selected bool
	total    int
	kept     int
	source   string // the durations file as named in the header; empty: none
	path     string // the durations file the partition was weighed by
	part     shard.Partition
}

func newShardRun(cfg *config.Config) *shardRun {
	if cfg.ShardCount == 0 {
		return nil
	}
	return &shardRun{spec: shard.Spec{K: cfg.ShardIndex, N: cfg.ShardCount}, durationsFile: cfg.DurationsFile}
}

// policies wraps the run's policies hook, which is the one that is told
// the rootdir, where pytest-split's .test_durations lives.
func (s *shardRun) policies(next func(string) (func(protocol.TestInfo) schedule.Policy, error)) func(string) (func(protocol.TestInfo) schedule.Policy, error) {
	if s == nil {
		return next
	}
	return func(rootdir string) (func(protocol.TestInfo) schedule.Policy, error) {
		s.rootdir = rootdir
		if next == nil {
			return func(protocol.TestInfo) schedule.Policy { return schedule.Policy{} }, nil
		}
		return next(rootdir)
	}
}

// selectTests is the run's select hook: it splits the selected tests into
// N parts and keeps the K-th.
//
// Every machine of a run must weigh the tests alike, or the parts overlap
// and miss tests. So the partition depends only on the selected tests, their
// policies and a durations file no shard run writes: the --durations-file
// named on the command line, else pytest-split's .test_durations in the
// rootdir (which a repository commits), else none, and then every test
// weighs the same. The durations herd records in .pytest_cache, which each
// run rewrites, are never used here (the recorded argument is ignored):
// after one shard ran, they would tilt the next shard's partition.
func (s *shardRun) selectTests() func([]protocol.TestInfo, []schedule.Policy, map[string]time.Duration) ([]bool, error) {
	if s == nil {
		return nil
	}
	return func(tests []protocol.TestInfo, pols []schedule.Policy, _ map[string]time.Duration) ([]bool, error) {
		durations, err := s.loadDurations()
		if err != nil {
			return nil, &config.UsageError{Msg: fmt.Sprintf("herd: --shard: %v", err)}
		}
		s.part = shard.Split(tests, pols, durations, s.spec.N)
		keep := s.part.Select(s.spec.K)
		s.selected = true
		s.total = len(tests)
		s.kept = 0
		for _, k := range keep {
			if k {
				s.kept++
			}
		}
		return keep, nil
	}
}

// loadDurations reads the durations file the partition is weighed by, and
// notes which it was; nil when there is none.
func (s *shardRun) loadDurations() (map[string]time.Duration, error) {
	if s.durationsFile != "" {
		d, err := shard.LoadFile(s.durationsFile)
		if err != nil {
			return nil, fmt.Errorf("--durations-file: %w", err)
		}
		s.source, s.path = s.durationsFile, s.durationsFile
		return d, nil
	}
	d, err := shard.LoadPytestSplit(s.rootdir)
	if err != nil || d == nil {
		return nil, err
	}
	s.source, s.path = shard.PytestSplitFile, filepath.Join(s.rootdir, shard.PytestSplitFile)
	return d, nil
}

// weighedBy reports whether path is the durations file this shard's
// partition was weighed by: the run must not write it, or the next shard
// of the same run, on this machine, would split differently.
func (s *shardRun) weighedBy(path string) bool {
	if s == nil || s.path == "" {
		return false
	}
	a, errA := os.Stat(s.path)
	b, errB := os.Stat(path)
	if errA == nil && errB == nil {
		return os.SameFile(a, b)
	}
	pa, errA := filepath.Abs(s.path)
	pb, errB := filepath.Abs(path)
	return errA == nil && errB == nil && pa == pb
}

// headerLine is "shard 2/4: 520 of 2080 tests (...)".
func (s *shardRun) headerLine() string {
	known := "no durations file: every test weighs the same"
	if s.source != "" {
		known = fmt.Sprintf("%d durations known, from %s", s.part.Known, s.source)
	}
	return fmt.Sprintf("shard %s: %d of %d tests (%s; partition %s)", s.spec, s.kept, s.total, known, s.part.Fingerprint)
}

// emptyPart reports whether the run had tests but none fell into this
// part (more parts than tests, or than groups and modules).
func (s *shardRun) emptyPart() bool {
	return s != nil && s.selected && s.kept == 0 && s.total > 0
}

// sink prints the shard line in the header, right before pytest's
// "collected" line, unless -q.
func (s *shardRun) sink(w io.Writer) result.Sink {
	if s == nil {
		return multiSink{}
	}
	return shardBanner{s: s, w: w}
}

type shardBanner struct {
	s *shardRun
	w io.Writer
}

func (b shardBanner) Handle(ev result.Event) {
	if ev.Kind != result.Collected || ev.Run == nil || !b.s.selected || ev.Run.Info.Options.Verbose < 0 {
		return
	}
	fmt.Fprintln(b.w, b.s.headerLine())
	if b.s.emptyPart() {
		fmt.Fprintf(b.w, "shard %s is empty: the %d tests make fewer units than %d shards; it passes with nothing to run\n",
			b.s.spec, b.s.total, b.s.spec.N)
	}
}
