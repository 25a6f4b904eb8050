package queue

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// memStore is a Store in memory, with Redis's semantics as RedisStore uses
// them (the store contract test runs both). Its clock is real: heartbeats
// expire after their ttl. down makes every call fail, as an unreachable
// Redis does.
type memStore struct {
	mu       sync.Mutex
	meta     *Meta
	nodeids  []string
	queue    []string
	leases   map[string][]string
	alive    map[string]time.Time
	machines []string
	seq      int
	results  map[string]string
	records  map[string]string
	warnings map[string][]string
	deaths   map[string]int
	down     bool
	// calls counts the calls of each method.
	calls map[string]int
}

func newMemStore() *memStore {
	return &memStore{
		leases:   map[string][]string{},
		alive:    map[string]time.Time{},
		results:  map[string]string{},
		records:  map[string]string{},
		warnings: map[string][]string{},
		deaths:   map[string]int{},
		calls:    map[string]int{},
	}
}

var errDown = fmt.Errorf("connection refused")

func (s *memStore) enter(method string) error {
	s.calls[method]++
	if s.down {
		return errDown
	}
	return nil
}

func (s *memStore) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *memStore) Seed(ctx context.Context, m Meta, nodeids, items []string) (bool, Meta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Seed"); err != nil {
		return false, Meta{}, err
	}
	if s.meta != nil {
		return false, *s.meta, nil
	}
	m.Created = time.UnixMilli(m.Created.UnixMilli())
	s.meta = &m
	s.nodeids = append([]string(nil), nodeids...)
	s.queue = append([]string(nil), items...)
	return true, m, nil
}

func (s *memStore) Register(ctx context.Context, name string, ttl time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Register"); err != nil {
		return "", err
	}
	cand := name
	for {
		taken := false
		for _, m := range s.machines {
			taken = taken || m == cand
		}
		if !taken {
			break
		}
		s.seq++
		cand = fmt.Sprintf("%s-%d", name, s.seq+1)
	}
	s.machines = append(s.machines, cand)
	s.alive[cand] = time.Now().Add(ttl)
	return cand, nil
}

func (s *memStore) Heartbeat(ctx context.Context, machine string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Heartbeat"); err != nil {
		return err
	}
	s.alive[machine] = time.Now().Add(ttl)
	return nil
}

func (s *memStore) Leave(ctx context.Context, machine string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Leave"); err != nil {
		return err
	}
	delete(s.alive, machine)
	return nil
}

func (s *memStore) Unregister(ctx context.Context, machine string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Unregister"); err != nil {
		return err
	}
	delete(s.alive, machine)
	for k, m := range s.machines {
		if m == machine {
			s.machines = append(s.machines[:k:k], s.machines[k+1:]...)
			break
		}
	}
	return nil
}

// kill ends machine's heartbeat now, as its lease TTL running out would.
func (s *memStore) kill(machine string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.alive, machine)
}

func (s *memStore) isAlive(machine string) bool {
	t, ok := s.alive[machine]
	return ok && time.Now().Before(t)
}

func (s *memStore) Lease(ctx context.Context, machine string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Lease"); err != nil {
		return "", err
	}
	if len(s.queue) == 0 {
		return "", nil
	}
	it := s.queue[0]
	s.queue = s.queue[1:]
	s.leases[machine] = append(s.leases[machine], it)
	return it, nil
}

func (s *memStore) Leased(ctx context.Context, machine string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Leased"); err != nil {
		return nil, err
	}
	return append([]string(nil), s.leases[machine]...), nil
}

// lose moves the queue's head into machine's lease list, as a lease whose
// answer was lost on the way back does.
func (s *memStore) lose(machine string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.queue[0]
	s.queue = s.queue[1:]
	s.leases[machine] = append(s.leases[machine], it)
	return it
}

func (s *memStore) Reclaim(ctx context.Context) (map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Reclaim"); err != nil {
		return nil, err
	}
	moved := map[string]int{}
	for _, m := range s.machines {
		if s.isAlive(m) || len(s.leases[m]) == 0 {
			continue
		}
		moved[m] = len(s.leases[m])
		s.queue = append(append([]string(nil), s.leases[m]...), s.queue...)
		delete(s.leases, m)
	}
	if len(moved) == 0 {
		return nil, nil
	}
	return moved, nil
}

func (s *memStore) Push(ctx context.Context, item string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Push"); err != nil {
		return err
	}
	s.queue = append([]string{item}, s.queue...)
	return nil
}

func (s *memStore) Have(ctx context.Context, nodeids []string) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Have"); err != nil {
		return nil, err
	}
	out := make([]bool, len(nodeids))
	for k, id := range nodeids {
		_, out[k] = s.results[id]
	}
	return out, nil
}

func (s *memStore) Count(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Count"); err != nil {
		return 0, err
	}
	return len(s.results), nil
}

func (s *memStore) Apply(ctx context.Context, machine string, ops []Op) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Apply"); err != nil {
		return nil, err
	}
	var won []string
	for _, op := range ops {
		switch op.Kind {
		case OpResult:
			if _, ok := s.results[op.Key]; !ok {
				s.results[op.Key] = op.Value
				won = append(won, op.Key)
			}
		case OpUpdate:
			s.results[op.Key] = op.Value
		case OpWarning:
			s.warnings[machine] = append(s.warnings[machine], op.Value)
		case OpDeath:
			s.deaths[machine]++
		case OpMachine:
			s.records[machine] = op.Value
		case OpDone:
			l := s.leases[machine]
			for k, it := range l {
				if it == op.Key {
					s.leases[machine] = append(l[:k:k], l[k+1:]...)
					if op.Value != "" {
						s.queue = append([]string{op.Value}, s.queue...)
					}
					break
				}
			}
		}
	}
	return won, nil
}

func (s *memStore) Snapshot(ctx context.Context, light bool) (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Snapshot"); err != nil {
		return nil, err
	}
	if s.meta == nil {
		return nil, nil
	}
	snap := &Snapshot{
		Meta:    *s.meta,
		NodeIDs: append([]string(nil), s.nodeids...),
		Results: map[string]string{},
		Queue:   append([]string(nil), s.queue...),
		Leases:  map[string][]string{},
		Alive:   map[string]bool{},
	}
	for id, v := range s.results {
		if light {
			v = ""
		}
		snap.Results[id] = v
	}
	for _, m := range s.machines {
		snap.Alive[m] = s.isAlive(m)
		if l := s.leases[m]; len(l) > 0 {
			snap.Leases[m] = append([]string(nil), l...)
		}
	}
	if !light {
		snap.Machines = map[string]string{}
		for m, v := range s.records {
			snap.Machines[m] = v
		}
		snap.Warnings = map[string][]string{}
		for m, w := range s.warnings {
			snap.Warnings[m] = append([]string(nil), w...)
		}
		snap.Deaths = map[string]int{}
		for m, n := range s.deaths {
			snap.Deaths[m] = n
		}
	}
	return snap, nil
}
