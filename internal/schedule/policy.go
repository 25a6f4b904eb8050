package schedule

// Kind is how a test may run beside others.
type Kind int

// The scheduling policies.
const (
	// Normal tests run anywhere, beside anything.
	Normal Kind = iota
	// Group tests run with at most Limit members of their group at once;
	// other tests run beside them.
	Group
	// Isolated tests run in a fresh worker process of their own, which is
	// discarded afterwards.
	Isolated
	// Exclusive tests run with nothing else running anywhere.
	Exclusive
)

// String returns the policy's name as configuration spells it.
func (k Kind) String() string {
	switch k {
	case Group:
		return "group"
	case Isolated:
		return "isolated"
	case Exclusive:
		return "exclusive"
	}
	return "normal"
}

// Policy is one test's scheduling policy.
type Policy struct {
	Kind Kind
	// Group and Limit apply to Kind Group: at most Limit members of Group
	// run at once (Limit 0 means 1).
	Group string
	Limit int
}

// Batch is what a worker gets when it asks for work.
type Batch struct {
	Kind  Kind
	Tests []int
	// Recycle says the worker should be replaced by a fresh one: what is
	// left for it needs a fresh process (isolated tests).
	Recycle bool
}

type group struct {
	name  string
	limit int
	queue []int
	// holders counts, per worker slot, the members handed to it and not
	// finished; a group runs on at most limit slots at once.
	holders map[int]int
}

// Plan schedules tests under their policies. Normal tests go through a
// Scheduler (module affinity, longest-first, stealing); group members go out
// one at a time while their group has room; isolated tests go to fresh
// workers only; exclusive tests go out together, as one batch to one
// worker, once nothing else is left or running, so the run pays one barrier
// for all of them.
type Plan struct {
	normal    *Scheduler
	normalIdx []int // Scheduler index -> test index
	groups    []*group
	groupOf   map[int]*group
	isolated  []int
	exclusive []int
	est       []float64
}

// NewPlan returns a plan for tests with the given policies (pols[i] is
// tests[i]'s policy) over the given number of workers.
func NewPlan(tests []Test, pols []Policy, workers int) *Plan {
	p := &Plan{groupOf: make(map[int]*group)}
	byName := map[string]*group{}
	var normal []Test
	for i, t := range tests {
		var pol Policy
		if i < len(pols) {
			pol = pols[i]
		}
		switch pol.Kind {
		case Exclusive:
			p.exclusive = append(p.exclusive, i)
		case Isolated:
			p.isolated = append(p.isolated, i)
		case Group:
			g := byName[pol.Group]
			if g == nil {
				limit := pol.Limit
				if limit < 1 {
					limit = 1
				}
				g = &group{name: pol.Group, limit: limit, holders: map[int]int{}}
				byName[pol.Group] = g
				p.groups = append(p.groups, g)
			}
			g.queue = append(g.queue, i)
			p.groupOf[i] = g
		default:
			p.normalIdx = append(p.normalIdx, i)
			normal = append(normal, t)
		}
	}
	p.normal = New(normal, workers)
	return p
}

// Isolated counts the isolated tests not handed out yet.
func (p *Plan) Isolated() int { return len(p.isolated) }

// Remaining counts the tests not handed out yet.
func (p *Plan) Remaining() int {
	n := p.normal.Remaining() + len(p.isolated) + len(p.exclusive)
	for _, g := range p.groups {
		n += len(g.queue)
	}
	return n
}

// Next returns work for the worker in slot. fresh says the worker's process
// has run nothing yet; quiet says no test is running or handed out anywhere.
// accept, when not nil, filters out tests the worker did not collect.
func (p *Plan) Next(slot int, accept func(int) bool, fresh, quiet bool) Batch {
	ok := func(i int) bool { return accept == nil || accept(i) }
	if fresh {
		if i, found := takeFirst(&p.isolated, ok); found {
			return Batch{Kind: Isolated, Tests: []int{i}}
		}
	}
	for _, g := range p.groups {
		if len(g.queue) == 0 {
			continue
		}
		if g.holders[slot] == 0 && len(g.holders) >= g.limit {
			continue
		}
		if i, found := takeFirst(&g.queue, ok); found {
			g.holders[slot]++
			return Batch{Kind: Group, Tests: []int{i}}
		}
	}
	var normalAccept func(int) bool
	if accept != nil {
		normalAccept = func(k int) bool { return accept(p.normalIdx[k]) }
	}
	if ix := p.normal.Next(slot, normalAccept); len(ix) > 0 {
		out := make([]int, len(ix))
		for k, j := range ix {
			out[k] = p.normalIdx[j]
		}
		return Batch{Kind: Normal, Tests: out}
	}
	if len(p.isolated) > 0 {
		for _, i := range p.isolated {
			if ok(i) {
				return Batch{Recycle: true}
			}
		}
	}
	if len(p.exclusive) > 0 && quiet && p.othersEmpty() {
		var out, rest []int
		for _, i := range p.exclusive {
			if ok(i) {
				out = append(out, i)
			} else {
				rest = append(rest, i)
			}
		}
		p.exclusive = rest
		if len(out) > 0 {
			return Batch{Kind: Exclusive, Tests: out}
		}
	}
	return Batch{}
}

// othersEmpty reports whether only exclusive tests are left.
func (p *Plan) othersEmpty() bool {
	if p.normal.Remaining() > 0 || len(p.isolated) > 0 {
		return false
	}
	for _, g := range p.groups {
		if len(g.queue) > 0 {
			return false
		}
	}
	return true
}

func takeFirst(q *[]int, ok func(int) bool) (int, bool) {
	for k, i := range *q {
		if ok(i) {
			*q = append((*q)[:k], (*q)[k+1:]...)
			return i, true
		}
	}
	return 0, false
}

// Finished records that test i, handed to slot, ended (ran, crashed, or was
// dropped): its group gets the room back.
func (p *Plan) Finished(slot, i int) {
	if g := p.groupOf[i]; g != nil {
		if g.holders[slot] > 0 {
			g.holders[slot]--
		}
		if g.holders[slot] == 0 {
			delete(g.holders, slot)
		}
	}
}

// Requeue puts tests handed to slot back, unstarted, each into the queue of
// its policy, ahead of the rest.
func (p *Plan) Requeue(slot int, ix []int, pols []Policy) {
	var normal, exclusive, isolated []int
	groups := map[*group][]int{}
	for _, i := range ix {
		p.Finished(slot, i)
		switch pols[i].Kind {
		case Exclusive:
			exclusive = append(exclusive, i)
		case Isolated:
			isolated = append(isolated, i)
		case Group:
			g := p.groupOf[i]
			groups[g] = append(groups[g], i)
		default:
			normal = append(normal, i)
		}
	}
	// Each kind goes back ahead of its queue, in the order given.
	p.exclusive = append(exclusive, p.exclusive...)
	p.isolated = append(isolated, p.isolated...)
	for g, back := range groups {
		g.queue = append(back, g.queue...)
	}
	if len(normal) == 0 {
		return
	}
	back := make(map[int]int, len(p.normalIdx))
	for k, i := range p.normalIdx {
		back[i] = k
	}
	local := make([]int, 0, len(normal))
	for _, i := range normal {
		local = append(local, back[i])
	}
	p.normal.Requeue(local)
}

// Drain removes and returns every test not handed out yet.
func (p *Plan) Drain() []int {
	var out []int
	for _, k := range p.normal.Drain() {
		out = append(out, p.normalIdx[k])
	}
	out = append(out, p.isolated...)
	out = append(out, p.exclusive...)
	p.isolated, p.exclusive = nil, nil
	for _, g := range p.groups {
		out = append(out, g.queue...)
		g.queue = nil
	}
	return out
}
