package run

import "github.com/herd-run/herd/internal/schedule"

// Source hands the run's tests out to worker slots. Indices are into the
// run's tests. The default is a local schedule.Plan over every collected
// test; a shared work queue (herd --queue) is another, which leases tests
// from other machines' common pool.
type Source interface {
	// Next returns work for the worker in slot; see schedule.Plan.Next.
	Next(slot int, accept func(int) bool, fresh, quiet bool) schedule.Batch
	// Finished records that test i, handed to slot, ended.
	Finished(slot, i int)
	// Requeue puts tests handed to slot back, unstarted.
	Requeue(slot int, ix []int, pols []schedule.Policy)
	// Remaining counts the tests the source holds and has not handed out.
	Remaining() int
	// Isolated counts the isolated tests among them.
	Isolated() int
	// Drain removes and returns every test the source holds and has not
	// handed out: the run stops, and they end as not_run.
	Drain() []int
	// Open reports whether more tests may still come to this run (a shared
	// queue not yet empty, or leases of other machines that may come
	// back). While it is true the run keeps its workers and does not end.
	Open() bool
	// Elsewhere returns tests that will not run in this run (another
	// machine has them), each once; the dispatcher drops them from the
	// run's results.
	Elsewhere() []int
}

// localSource is the default Source: one plan over every collected test.
type localSource struct{ *schedule.Plan }

func (localSource) Open() bool       { return false }
func (localSource) Elsewhere() []int { return nil }
