package main

import (
	"fmt"
	"io"
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
	spec    shard.Spec
	rootdir string
	// Set by the select hook.
	selected bool
	total    int
	kept     int
	source   string
	part     shard.Partition
}

func newShardRun(cfg *config.Config) *shardRun {
	if cfg.ShardCount == 0 {
		return nil
	}
	return &shardRun{spec: shard.Spec{K: cfg.ShardIndex, N: cfg.ShardCount}}
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
// Every machine must weigh the tests alike, or the parts overlap and miss
// tests. So a .test_durations file in the rootdir (which a repository
// commits, so every machine has the same) is used alone when present; only
// without one are herd's recorded durations used, which CI machines share
// when they restore the same cache or start without one.
func (s *shardRun) selectTests() func([]protocol.TestInfo, []schedule.Policy, map[string]time.Duration) ([]bool, error) {
	if s == nil {
		return nil
	}
	return func(tests []protocol.TestInfo, pols []schedule.Policy, durations map[string]time.Duration) ([]bool, error) {
		s.source = "herd's recorded durations"
		split, err := shard.LoadPytestSplit(s.rootdir)
		if err != nil {
			return nil, &config.UsageError{Msg: fmt.Sprintf("herd: --shard: %v", err)}
		}
		if split != nil {
			durations = split
			s.source = shard.PytestSplitFile
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

// headerLine is "shard 2/4: 520 of 2080 tests (...)".
func (s *shardRun) headerLine() string {
	known := "no durations known"
	if s.part.Known > 0 {
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
