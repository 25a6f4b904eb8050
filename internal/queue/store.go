package queue

import (
	"context"
	"time"
)

// SchemaVersion is the version of the data a run keeps in Redis. A machine
// that finds a run of another version refuses to join it.
const SchemaVersion = 1

// Meta describes a seeded run.
type Meta struct {
	// Version is the SchemaVersion of the machine that seeded the run.
	Version int
	// Fingerprint identifies the seeded tests (see Fingerprint); every
	// machine must have collected the same.
	Fingerprint string
	// Total is the number of seeded tests, Items the number of items.
	Total, Items int
	// SeededBy names the machine that seeded the run, Created when.
	SeededBy string
	Created  time.Time
	// Herd is the seeding herd's version.
	Herd string
}

// Op is one write a machine makes to the run, in order with the others.
type Op struct {
	Kind OpKind
	// Key is the node id (OpResult, OpUpdate), the machine (OpMachine) or
	// the item's JSON (OpDone).
	Key string
	// Value is the result record (OpResult, OpUpdate), the warning
	// (OpWarning), the machine record (OpMachine), or for OpDone the item
	// of the tests given back (empty when none).
	Value string
}

// OpKind says what an Op writes.
type OpKind int

// The writes.
const (
	// OpResult stores a test's result unless it has one: the first result
	// of a test wins, so no test is reported twice.
	OpResult OpKind = iota
	// OpUpdate replaces a test's result that this machine stored (a
	// crashed test's diagnosis came later).
	OpUpdate
	// OpWarning adds a warning to the machine's list.
	OpWarning
	// OpDeath counts a worker death of the machine.
	OpDeath
	// OpMachine stores the machine's record.
	OpMachine
	// OpDone removes a finished item from the machine's lease list and,
	// when it was still leased there, puts the tests given back at the
	// head of the queue.
	OpDone
)

// Snapshot is a consistent read of a whole run.
type Snapshot struct {
	Meta    Meta
	NodeIDs []string
	// Results holds each result record by node id. A light snapshot holds
	// the node ids only, with empty records.
	Results map[string]string
	// Machines holds each machine's record, Warnings each machine's
	// warnings and Deaths its worker deaths (full snapshots only).
	Machines map[string]string
	Warnings map[string][]string
	Deaths   map[string]int
	// Queue holds the items not leased, Leases each machine's leased items.
	Queue  []string
	Leases map[string][]string
	// Alive says which machines' heartbeats are current.
	Alive map[string]bool
}

// Store keeps a run's shared state. Redis is the store (RedisStore); tests
// use one in memory. Every method is safe for concurrent use.
type Store interface {
	// Seed stores a new run unless one exists: its meta, the node ids in
	// collection order and the items' JSON in queue order. It reports
	// whether this call stored it, and the run's meta as stored.
	Seed(ctx context.Context, m Meta, nodeids, items []string) (bool, Meta, error)
	// Register adds a machine to the run under name, or under name-N when
	// name is taken, starts its heartbeat for ttl and returns the name.
	Register(ctx context.Context, name string, ttl time.Duration) (string, error)
	// Heartbeat keeps machine alive for ttl more.
	Heartbeat(ctx context.Context, machine string, ttl time.Duration) error
	// Leave ends machine's heartbeat at once.
	Leave(ctx context.Context, machine string) error
	// Unregister removes a machine that could not join the run.
	Unregister(ctx context.Context, machine string) error
	// Lease moves the item at the head of the queue to the tail of
	// machine's lease list and returns it; "" when the queue is empty.
	Lease(ctx context.Context, machine string) (string, error)
	// Leased returns the items in machine's lease list.
	Leased(ctx context.Context, machine string) ([]string, error)
	// Reclaim moves every item leased by a machine whose heartbeat
	// expired back to the head of the queue, and returns how many items
	// it moved from which machines.
	Reclaim(ctx context.Context) (map[string]int, error)
	// Push puts an item at the head of the queue.
	Push(ctx context.Context, item string) error
	// Have reports which of nodeids have a result.
	Have(ctx context.Context, nodeids []string) ([]bool, error)
	// Count returns the number of tests with a result.
	Count(ctx context.Context) (int, error)
	// Apply makes machine's writes, in order, and returns the node ids of
	// the OpResult writes that stored a result (the others had one).
	Apply(ctx context.Context, machine string, ops []Op) ([]string, error)
	// Snapshot reads the whole run at one instant; light leaves out the
	// result records (only their node ids), machines, warnings and deaths.
	// It returns nil when no run has the store's run id.
	Snapshot(ctx context.Context, light bool) (*Snapshot, error)
}
