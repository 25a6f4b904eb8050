package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/herd-run/herd/internal/codec"
	"github.com/herd-run/herd/internal/result"
)

// enqueue adds a write for the writer, in order.
func (c *Consumer) enqueue(op Op) {
	c.wmu.Lock()
	c.ops = append(c.ops, op)
	c.wmu.Unlock()
	select {
	case c.wsig <- struct{}{}:
	default:
	}
}

// writer makes the writes, in order, a batch per round trip, retrying
// failed batches until Close.
func (c *Consumer) writer() {
	defer c.wg.Done()
	for {
		c.wmu.Lock()
		ops := c.ops
		c.ops = nil
		c.inflight = len(ops) > 0
		c.wmu.Unlock()
		if len(ops) == 0 {
			select {
			case <-c.ctx.Done():
				return
			case <-c.wsig:
			}
			continue
		}
		for {
			won, err := c.store.Apply(c.ctx, c.name, ops)
			if err == nil {
				c.ok()
				c.mu.Lock()
				for _, op := range ops {
					if op.Kind == OpDone {
						c.held[op.Key]--
					}
				}
				c.mu.Unlock()
				c.wmu.Lock()
				for _, id := range won {
					c.won[id] = true
				}
				c.inflight = false
				c.wmu.Unlock()
				break
			}
			c.failed(err)
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(writeBackoff):
			}
		}
		// A result may have completed the run.
		c.mu.Lock()
		c.kickLocked()
		c.mu.Unlock()
	}
}

// flush waits until every write so far is made, or ctx ends.
func (c *Consumer) flush(ctx context.Context) error {
	for {
		c.wmu.Lock()
		idle := len(c.ops) == 0 && !c.inflight
		c.wmu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("write the last results: %w", ctx.Err())
		case <-time.After(flushPoll):
		}
	}
}

// Handle implements result.Sink: it sends this machine's results to the
// store (a test that did not run here, not_run, goes back to the queue),
// its warnings once their test is over, its worker deaths, and its record.
// It reads the run the Collected event carries, which the dispatcher keeps
// up to date, for the warnings.
func (c *Consumer) Handle(ev result.Event) {
	if !c.started.Load() {
		return
	}
	switch ev.Kind {
	case result.Collected:
		if ev.Run == nil {
			return
		}
		c.run = ev.Run
		r := ev.Run
		c.record = machineRecord{
			Name:       c.name,
			Start:      time.Now().Add(-ev.Time).UnixMilli(),
			Workers:    r.Info.Workers,
			Herd:       r.Info.Version,
			Python:     r.Info.Python,
			PythonPath: r.Info.PythonPath,
			Pytest:     r.Info.Pytest,
			Rootdir:    r.Info.Rootdir,
			Deselected: r.Deselected,
			V:          codec.Version,
		}
		c.record.CollectionErrs = append(c.record.CollectionErrs, r.CollectionErrors...)
		for _, t := range r.Tests {
			if _, ok := c.byID[t.NodeID]; !ok && t.Outcome == result.Skipped {
				// A module skipped at import: not a test of the queue.
				if raw, err := codec.MarshalTest(t); err == nil {
					c.record.Skips = append(c.record.Skips, raw)
				}
			}
		}
		c.putRecord()
	case result.TestStarted:
		c.running[ev.NodeID] = true
	case result.TestFinished:
		if ev.Test == nil {
			return
		}
		delete(c.running, ev.Test.NodeID)
		if ev.Test.Outcome == result.NotRun || ev.Test.Outcome == result.Interrupted {
			c.given[ev.Test.NodeID] = true
		}
		// Its warnings go first: a machine that sees every result stored
		// reads their warnings too.
		c.sendWarnings(false)
		c.testFinished(ev.Test)
	case result.WorkerDied:
		c.enqueue(Op{Kind: OpDeath})
	case result.RunFinished:
		c.sendWarnings(true)
		if ev.Run != nil {
			c.wmu.Lock()
			var upd []*result.Test
			for _, t := range ev.Run.Tests {
				if t.Diagnosis != nil && c.won[t.NodeID] {
					upd = append(upd, t)
				}
			}
			c.wmu.Unlock()
			for _, t := range upd {
				// The diagnosis of a crash comes after its result.
				if v, err := encodeResult(c.name, t); err == nil {
					c.enqueue(Op{Kind: OpUpdate, Key: t.NodeID, Value: v})
				}
			}
			c.record.Interrupted = ev.Run.Interrupted
			c.record.InterruptReason = ev.Run.InterruptReason
		}
		c.record.Stop = time.Now().UnixMilli()
		c.putRecord()
	}
}

func (c *Consumer) putRecord() {
	if b, err := json.Marshal(c.record); err == nil {
		c.enqueue(Op{Kind: OpMachine, Value: string(b)})
	}
}

// testFinished sends t's result, or gives it back when it did not run
// here.
func (c *Consumer) testFinished(t *result.Test) {
	i, ok := c.byID[t.NodeID]
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.ownerLocked(i)
	if l == nil || c.where[i] != mine {
		// Not leased here: the run ended before it came (no worker left).
		return
	}
	if t.Outcome == result.NotRun || t.Outcome == result.Interrupted {
		// Cut short by Ctrl-C (or CI's SIGTERM) or never started: another
		// machine runs it.
		c.given[t.NodeID] = true
		c.resolveLocked(l, i, true)
		return
	}
	v, err := encodeResult(c.name, t)
	if err != nil {
		c.note("%v", err)
		c.given[t.NodeID] = true
		c.resolveLocked(l, i, true)
		return
	}
	c.enqueue(Op{Kind: OpResult, Key: t.NodeID, Value: v})
	c.resolveLocked(l, i, false)
}

// sendWarnings sends the run's new warnings, holding back those of tests
// still running (their test may yet be given back) unless final. Warnings
// of tests given back are dropped: the machine that runs them reports its
// own.
func (c *Consumer) sendWarnings(final bool) {
	if c.run == nil {
		return
	}
	ws := c.run.Warnings
	if c.warnSent > len(ws) {
		c.warnSent = len(ws)
	}
	pending := append(c.heldWarn, ws[c.warnSent:]...)
	c.warnSent = len(ws)
	c.heldWarn = nil
	for _, w := range pending {
		if !final && w.NodeID != "" && c.running[w.NodeID] {
			c.heldWarn = append(c.heldWarn, w)
			continue
		}
		if c.given[w.NodeID] {
			continue
		}
		if b, err := json.Marshal(warningRecord{NodeID: w.NodeID, Message: w.Message}); err == nil {
			c.enqueue(Op{Kind: OpWarning, Value: string(b)})
		}
	}
}

// Close waits (within ctx) for the last writes, stops the heartbeat and
// leaves the run: what this machine still leased goes back to the queue
// at once.
func (c *Consumer) Close(ctx context.Context) error {
	var err error
	if c.started.Load() {
		err = c.flush(ctx)
	}
	c.cancel()
	c.wg.Wait()
	if c.started.Load() {
		if lerr := c.store.Leave(ctx, c.name); lerr != nil && err == nil {
			err = lerr
		}
	}
	return err
}

// Whole waits (within ctx) for this machine's writes and builds the whole
// run from the store.
func (c *Consumer) Whole(ctx context.Context) (*result.Run, *Status, error) {
	if err := c.flush(ctx); err != nil {
		return nil, nil, err
	}
	snap, err := c.store.Snapshot(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	if snap == nil {
		return nil, nil, errors.New("the run is gone from Redis (its keys expired or were deleted)")
	}
	return Whole(snap)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
