package queue

import (
	"fmt"
	"time"

	"github.com/herd-run/herd/internal/protocol"
	"github.com/herd-run/herd/internal/schedule"
)

// note passes a one-line note to Options.Notef, when set.
func (c *Consumer) note(format string, args ...any) {
	if c.opts.Notef != nil {
		c.opts.Notef(format, args...)
	}
}

// ok records that the store answered.
func (c *Consumer) ok() {
	c.lastOK.Store(time.Now().UnixNano())
	if c.downNoted.CompareAndSwap(true, false) {
		c.note("Redis answers again")
	}
}

// failed records that the store did not answer; after Options.GiveUp
// without an answer, this machine gives up on the queue.
func (c *Consumer) failed(err error) {
	if c.ctx.Err() != nil {
		return
	}
	if c.downNoted.CompareAndSwap(false, true) {
		c.note("Redis does not answer (%v); retrying", err)
	}
	since := time.Since(time.Unix(0, c.lastOK.Load()))
	if since < c.opts.GiveUp {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost != nil || c.complete {
		return
	}
	c.lost = &LostError{Err: fmt.Errorf("Redis did not answer for %s: %w", since.Round(time.Second), err)}
	c.releaseLocked()
	c.wake()
}

// releaseLocked ends this machine's share: the tests it leased and did not
// hand out, and those never leased here, go to other machines.
func (c *Consumer) releaseLocked() {
	for _, l := range append([]*lease(nil), c.items...) {
		for _, k := range l.plan.Drain() {
			i := l.idx[k]
			c.where[i] = elsewhere
			c.elsewhere = append(c.elsewhere, i)
			c.resolveLocked(l, i, false)
		}
	}
	for i, w := range c.where {
		if w == unknown {
			c.where[i] = elsewhere
			c.elsewhere = append(c.elsewhere, i)
		}
	}
}

// resolveLocked records that test i of l is settled: its result was sent,
// or (back) it goes back to the queue. Once all of l's tests are settled,
// l leaves the lease list.
func (c *Consumer) resolveLocked(l *lease, i int, back bool) {
	if back {
		l.back = append(l.back, c.tests[i].ID)
	}
	l.open--
	if l.open > 0 {
		return
	}
	for k, x := range c.items {
		if x == l {
			c.items = append(c.items[:k], c.items[k+1:]...)
			break
		}
	}
	for s, x := range c.slotItem {
		if x == l {
			delete(c.slotItem, s)
		}
	}
	var rest string
	if len(l.back) > 0 {
		rest = itemJSON(Item{N: l.item.N, Kind: l.item.Kind, Tests: l.back})
	}
	c.enqueue(Op{Kind: OpDone, Key: l.raw, Value: rest})
}

// heartbeats keeps this machine's leases alive until Close.
func (c *Consumer) heartbeats() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.LeaseTTL / heartbeatsPerTTL)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		if err := c.store.Heartbeat(c.ctx, c.name, c.opts.LeaseTTL); err != nil {
			c.failed(err)
		} else {
			c.ok()
		}
	}
}

// leaser leases items while this machine runs low, takes back the items
// of dead machines when the queue is empty, and ends the run's openness
// once every test has a result.
func (c *Consumer) leaser() {
	defer c.wg.Done()
	lastSweep := time.Now()
	for {
		c.mu.Lock()
		over := c.complete || c.stopped || c.lost != nil
		need := c.wantMoreLocked()
		c.mu.Unlock()
		if over || c.ctx.Err() != nil {
			return
		}
		if need {
			again, err := c.leaseOnce(&lastSweep)
			if err != nil {
				c.failed(err)
			} else {
				c.ok()
				if again {
					continue
				}
			}
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.kick:
		case <-time.After(c.opts.Poll):
		}
	}
}

// leaseOnce leases one item, or when the queue is empty takes back dead
// machines' items or finds the run complete. It reports whether to go on
// at once.
func (c *Consumer) leaseOnce(lastSweep *time.Time) (bool, error) {
	raw, err := c.store.Lease(c.ctx, c.name)
	if err != nil {
		return false, err
	}
	if raw != "" {
		return true, c.take(raw)
	}
	if err := c.reconcile(); err != nil {
		return false, err
	}
	moved, err := c.store.Reclaim(c.ctx)
	if err != nil {
		return false, err
	}
	if len(moved) > 0 {
		for m, n := range moved {
			c.note("%s stopped answering: its %d leased %s go back to the queue", m, n, plural(n, "item"))
		}
		return true, nil
	}
	n, err := c.store.Count(c.ctx)
	if err != nil {
		return false, err
	}
	if n >= c.meta.Total {
		c.finishRun()
		return false, nil
	}
	if time.Since(*lastSweep) >= c.opts.LeaseTTL {
		*lastSweep = time.Now()
		return c.sweep()
	}
	return false, nil
}

// reconcile takes the items in this machine's lease list that it does
// not know it holds: a lease whose answer was lost (a connection that broke
// after Redis moved the item, then a retry) leaves one there, and nobody
// else would run it while this machine lives.
func (c *Consumer) reconcile() error {
	raws, err := c.store.Leased(c.ctx, c.name)
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, raw := range raws {
		count[raw]++
	}
	var lost []string
	c.mu.Lock()
	for raw, n := range count {
		for k := c.held[raw]; k < n; k++ {
			lost = append(lost, raw)
		}
	}
	c.mu.Unlock()
	for _, raw := range lost {
		if err := c.take(raw); err != nil {
			return err
		}
	}
	return nil
}

// take adds a leased item to this machine's work. Its tests that have a
// result already (the item was taken back from a machine that ran some)
// are another machine's.
func (c *Consumer) take(raw string) error {
	c.mu.Lock()
	c.held[raw]++
	c.mu.Unlock()
	it, err := parseItem(raw)
	if err != nil {
		c.note("%v; dropped", err)
		c.enqueue(Op{Kind: OpDone, Key: raw})
		return nil
	}
	have, err := c.store.Have(c.ctx, it.Tests)
	if err != nil {
		// Run them all: the first result stored wins anyway.
		have = make([]bool, len(it.Tests))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.complete || c.lost != nil {
		back := ""
		if c.stopped {
			back = raw
		}
		c.enqueue(Op{Kind: OpDone, Key: raw, Value: back})
		return nil
	}
	l := &lease{raw: raw, item: it, pos: map[int]int{}}
	var st []schedule.Test
	news := false
	for k, id := range it.Tests {
		i, ok := c.byID[id]
		if !ok {
			continue // cannot happen: the fingerprints matched
		}
		if k < len(have) && have[k] {
			if c.where[i] == unknown {
				c.where[i] = elsewhere
				c.elsewhere = append(c.elsewhere, i)
				news = true
			}
			continue
		}
		if c.where[i] != unknown {
			continue // leased here already
		}
		c.where[i] = mine
		c.owner[i] = l
		l.pos[i] = len(l.idx)
		l.idx = append(l.idx, i)
		l.pols = append(l.pols, c.pols[i])
		st = append(st, schedule.Test{ID: id, Estimate: c.durations[id]})
	}
	l.open = len(l.idx)
	if l.open == 0 {
		c.enqueue(Op{Kind: OpDone, Key: raw})
		if news {
			c.wake()
		}
		return nil
	}
	l.plan = schedule.NewPlan(st, l.pols, c.opts.Workers)
	c.items = append(c.items, l)
	c.wake()
	return nil
}

// finishRun marks the run complete: every test has a result, so the tests
// not run here are elsewhere and this machine's run may end.
func (c *Consumer) finishRun() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.complete {
		return
	}
	c.complete = true
	c.releaseLocked()
	c.wake()
}

// sweep finds tests that have no result and are in no item, queued or
// leased, and queues them again. That happens only when a machine that
// was taken for dead went on (its items were taken back while it still
// ran them), so it is checked once per lease TTL, when the queue is empty.
func (c *Consumer) sweep() (bool, error) {
	snap, err := c.store.Snapshot(c.ctx, true)
	if err != nil || snap == nil {
		return false, err
	}
	covered := map[string]bool{}
	cover := func(raws []string) {
		for _, raw := range raws {
			if it, err := parseItem(raw); err == nil {
				for _, id := range it.Tests {
					covered[id] = true
				}
			}
		}
	}
	cover(snap.Queue)
	for _, l := range snap.Leases {
		cover(l)
	}
	var lost []protocol.TestInfo
	var pols []schedule.Policy
	for _, id := range snap.NodeIDs {
		if _, ok := snap.Results[id]; ok || covered[id] {
			continue
		}
		if i, ok := c.byID[id]; ok {
			lost = append(lost, c.tests[i])
			pols = append(pols, c.pols[i])
		}
	}
	if len(lost) == 0 {
		return false, nil
	}
	items := BuildItems(lost, pols, c.durations)
	for k := len(items) - 1; k >= 0; k-- {
		items[k].N = -items[k].N // never equal to a seeded item
		if err := c.store.Push(c.ctx, itemJSON(items[k])); err != nil {
			return false, err
		}
	}
	c.note("%d %s had no result and were in no lease; they go back to the queue", len(lost), plural(len(lost), "test"))
	return true, nil
}
