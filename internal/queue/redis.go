package queue

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// KeyTTL is how long a run's keys live after their last write: a day is
// longer than any CI pipeline and its report job, and short enough that
// Redis forgets old runs by itself.
const KeyTTL = 24 * time.Hour

// DialTimeout bounds connecting to Redis and its first answer: a TLS
// handshake with a managed Redis in another region takes well under a
// second, so ten seconds only fails a Redis that is not there.
const DialTimeout = 10 * time.Second

// snapshotTries bounds the retries of a snapshot that raced a machine
// joining the run (which changes the keys to read); joins are rare, so a
// few tries always suffice.
const snapshotTries = 5

// RedisStore is a Store in Redis (herd --queue redis://...). Every key of
// run ID starts with "herd:{ID}:"; the braces are a Redis Cluster hash tag,
// so a run's keys share one slot and its scripts may touch several:
//
//	meta              hash: schema version, fingerprint, total, items, seeded_by, created, herd
//	tests             string: the seeded node ids, a JSON array in collection order
//	queue             list: the items not leased, head first
//	lease:NAME        list: the items machine NAME leased and has not finished
//	alive:NAME        string: NAME's heartbeat, expiring after the lease TTL
//	machines          set: the names of the machines that joined
//	records           hash: machine -> its record (interpreter, start and stop, collection errors)
//	results           hash: node id -> result record ({"m": machine, "t": test})
//	warnings:NAME     list: NAME's warnings
//	deaths            hash: machine -> worker deaths
//	seq               counter for unique machine names
//
// Keys expire KeyTTL after their last write.
type RedisStore struct {
	c      *redis.Client
	prefix string
	ttl    string // KeyTTL in milliseconds, for scripts

	seed, lease, reclaim, done *redis.Script
}

// Redact returns rawURL with its password replaced by "xxxxx", for
// messages; a URL that does not parse is left out entirely, since it may
// hold a password.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Dial connects to the Redis at rawURL for the run runID and checks that
// it answers. The URL is redis://[[user]:password@]host[:port][/db], or
// rediss:// for TLS (go-redis's ParseURL: query options such as
// ?dial_timeout=3s are honoured).
func Dial(ctx context.Context, rawURL, runID string) (*RedisStore, error) {
	if _, err := url.Parse(rawURL); err != nil {
		// url's errors quote the URL, password included.
		return nil, errors.New("bad Redis URL: it does not parse as a URL (expected redis://[user:password@]host:port/db or rediss://...)")
	}
	// go-redis logs connection failures to stderr on its own; herd says
	// what failed itself, once.
	redis.SetLogger(&logging.VoidLogger{})
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bad Redis URL %s: %w (expected redis://[user:password@]host:port/db or rediss://...)", Redact(rawURL), err)
	}
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s: %w", Redact(rawURL), err)
	}
	return NewRedisStore(c, runID), nil
}

// NewRedisStore returns the store of run runID in the Redis c talks to.
func NewRedisStore(c *redis.Client, runID string) *RedisStore {
	return &RedisStore{
		c:       c,
		prefix:  "herd:{" + runID + "}:",
		ttl:     strconv.FormatInt(KeyTTL.Milliseconds(), 10),
		seed:    redis.NewScript(seedLua),
		lease:   redis.NewScript(leaseLua),
		reclaim: redis.NewScript(reclaimLua),
		done:    redis.NewScript(doneLua),
	}
}

// Close closes the connection.
func (s *RedisStore) Close() error { return s.c.Close() }

func (s *RedisStore) key(name string) string { return s.prefix + name }

// seedLua stores a run unless its meta exists; it returns 1, or the
// stored meta's fields when the run existed.
// KEYS: meta, tests, queue. ARGV: key ttl (ms), version, fingerprint,
// total, items, seeded_by, created (unix ms), herd, the tests' JSON, then
// the items.
const seedLua = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HMGET', KEYS[1], 'version', 'fingerprint', 'total', 'items', 'seeded_by', 'created', 'herd')
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'fingerprint', ARGV[3], 'total', ARGV[4],
  'items', ARGV[5], 'seeded_by', ARGV[6], 'created', ARGV[7], 'herd', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[9], 'PX', ARGV[1])
for i = 10, #ARGV do
  redis.call('RPUSH', KEYS[3], ARGV[i])
end
if #ARGV >= 10 then
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
end
return 1
`

// leaseLua moves the queue's head to the tail of a lease list.
// KEYS: queue, lease list. ARGV: key ttl (ms).
const leaseLua = `
local it = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
if it then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return it
`

// reclaimLua moves a dead machine's leased items back to the queue's head,
// in their lease order, and returns how many it moved; nothing while the
// machine's heartbeat lives.
// KEYS: heartbeat, lease list, queue. ARGV: key ttl (ms).
const reclaimLua = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local n = 0
while redis.call('LMOVE', KEYS[2], KEYS[3], 'RIGHT', 'LEFT') do
  n = n + 1
end
if n > 0 then
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
end
return n
`

// doneLua removes a finished item from a lease list; if it was there, the
// tests given back (an item, when not empty) go to the queue's head. When
// it was not there, another machine reclaimed the whole item already.
// KEYS: lease list, queue. ARGV: key ttl (ms), item, item given back.
const doneLua = `
local n = redis.call('LREM', KEYS[1], 1, ARGV[2])
if n > 0 and ARGV[3] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return n
`

// Seed implements Store.
func (s *RedisStore) Seed(ctx context.Context, m Meta, nodeids, items []string) (bool, Meta, error) {
	ids, err := jsonString(nodeids)
	if err != nil {
		return false, Meta{}, err
	}
	args := []any{s.ttl, m.Version, m.Fingerprint, m.Total, m.Items, m.SeededBy, m.Created.UnixMilli(), m.Herd, ids}
	for _, it := range items {
		args = append(args, it)
	}
	v, err := s.seed.Run(ctx, s.c, []string{s.key("meta"), s.key("tests"), s.key("queue")}, args...).Result()
	if err != nil {
		return false, Meta{}, fmt.Errorf("seed the queue: %w", err)
	}
	fields, ok := v.([]any)
	if !ok {
		return true, m, nil
	}
	str := func(k int) string {
		if k < len(fields) {
			if s, ok := fields[k].(string); ok {
				return s
			}
		}
		return ""
	}
	num := func(k int) int64 {
		n, _ := strconv.ParseInt(str(k), 10, 64)
		return n
	}
	stored := Meta{
		Version:     int(num(0)),
		Fingerprint: str(1),
		Total:       int(num(2)),
		Items:       int(num(3)),
		SeededBy:    str(4),
		Created:     time.UnixMilli(num(5)),
		Herd:        str(6),
	}
	return false, stored, nil
}

// Register implements Store.
func (s *RedisStore) Register(ctx context.Context, name string, ttl time.Duration) (string, error) {
	cand := name
	for tries := 0; ; tries++ {
		added, err := s.c.SAdd(ctx, s.key("machines"), cand).Result()
		if err != nil {
			return "", fmt.Errorf("register %s: %w", name, err)
		}
		if added == 1 {
			break
		}
		if tries >= 1000 {
			return "", fmt.Errorf("register %s: 1000 machines of that name", name)
		}
		n, err := s.c.Incr(ctx, s.key("seq")).Result()
		if err != nil {
			return "", fmt.Errorf("register %s: %w", name, err)
		}
		cand = fmt.Sprintf("%s-%d", name, n+1)
	}
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.key("alive:"+cand), "1", ttl)
		p.PExpire(ctx, s.key("machines"), KeyTTL)
		p.PExpire(ctx, s.key("seq"), KeyTTL)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("register %s: %w", cand, err)
	}
	return cand, nil
}

// Heartbeat implements Store.
func (s *RedisStore) Heartbeat(ctx context.Context, machine string, ttl time.Duration) error {
	if err := s.c.Set(ctx, s.key("alive:"+machine), "1", ttl).Err(); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// Leave implements Store.
func (s *RedisStore) Leave(ctx context.Context, machine string) error {
	if err := s.c.Del(ctx, s.key("alive:"+machine)).Err(); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}

// Unregister implements Store.
func (s *RedisStore) Unregister(ctx context.Context, machine string) error {
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SRem(ctx, s.key("machines"), machine)
		p.Del(ctx, s.key("alive:"+machine))
		return nil
	})
	if err != nil {
		return fmt.Errorf("unregister: %w", err)
	}
	return nil
}

// Lease implements Store.
func (s *RedisStore) Lease(ctx context.Context, machine string) (string, error) {
	v, err := s.lease.Run(ctx, s.c, []string{s.key("queue"), s.key("lease:" + machine)}, s.ttl).Text()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lease: %w", err)
	}
	return v, nil
}

// Leased implements Store.
func (s *RedisStore) Leased(ctx context.Context, machine string) ([]string, error) {
	l, err := s.c.LRange(ctx, s.key("lease:"+machine), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read the lease list: %w", err)
	}
	return l, nil
}

// Reclaim implements Store.
func (s *RedisStore) Reclaim(ctx context.Context) (map[string]int, error) {
	names, err := s.c.SMembers(ctx, s.key("machines")).Result()
	if err != nil {
		return nil, fmt.Errorf("reclaim: %w", err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.Cmd, len(names))
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, n := range names {
			cmds[k] = s.reclaim.Eval(ctx, p, []string{s.key("alive:" + n), s.key("lease:" + n), s.key("queue")}, s.ttl)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reclaim: %w", err)
	}
	moved := map[string]int{}
	for k, c := range cmds {
		if n, _ := c.Int(); n > 0 {
			moved[names[k]] = n
		}
	}
	return moved, nil
}

// Push implements Store.
func (s *RedisStore) Push(ctx context.Context, item string) error {
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, s.key("queue"), item)
		p.PExpire(ctx, s.key("queue"), KeyTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("push an item: %w", err)
	}
	return nil
}

// Have implements Store.
func (s *RedisStore) Have(ctx context.Context, nodeids []string) ([]bool, error) {
	if len(nodeids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.BoolCmd, len(nodeids))
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, id := range nodeids {
			cmds[k] = p.HExists(ctx, s.key("results"), id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up results: %w", err)
	}
	out := make([]bool, len(nodeids))
	for k, c := range cmds {
		out[k] = c.Val()
	}
	return out, nil
}

// Count implements Store.
func (s *RedisStore) Count(ctx context.Context) (int, error) {
	n, err := s.c.HLen(ctx, s.key("results")).Result()
	if err != nil {
		return 0, fmt.Errorf("count results: %w", err)
	}
	return int(n), nil
}

// Apply implements Store.
func (s *RedisStore) Apply(ctx context.Context, machine string, ops []Op) ([]string, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	results := make([]*redis.BoolCmd, len(ops))
	touched := map[string]bool{}
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, op := range ops {
			switch op.Kind {
			case OpResult:
				results[k] = p.HSetNX(ctx, s.key("results"), op.Key, op.Value)
				touched["results"] = true
			case OpUpdate:
				p.HSet(ctx, s.key("results"), op.Key, op.Value)
				touched["results"] = true
			case OpWarning:
				p.RPush(ctx, s.key("warnings:"+machine), op.Value)
				touched["warnings:"+machine] = true
			case OpDeath:
				p.HIncrBy(ctx, s.key("deaths"), machine, 1)
				touched["deaths"] = true
			case OpMachine:
				p.HSet(ctx, s.key("records"), machine, op.Value)
				touched["records"] = true
			case OpDone:
				s.done.Eval(ctx, p, []string{s.key("lease:" + machine), s.key("queue")}, s.ttl, op.Key, op.Value)
			}
		}
		for k := range touched {
			p.PExpire(ctx, s.key(k), KeyTTL)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write results: %w", err)
	}
	var won []string
	for k, c := range results {
		if c != nil && c.Val() {
			won = append(won, ops[k].Key)
		}
	}
	return won, nil
}

// Snapshot implements Store.
func (s *RedisStore) Snapshot(ctx context.Context, light bool) (*Snapshot, error) {
	for try := 0; try < snapshotTries; try++ {
		names, err := s.c.SMembers(ctx, s.key("machines")).Result()
		if err != nil {
			return nil, fmt.Errorf("read the run: %w", err)
		}
		var (
			meta     *redis.MapStringStringCmd
			tests    *redis.StringCmd
			full     *redis.MapStringStringCmd
			keys     *redis.StringSliceCmd
			queue    *redis.StringSliceCmd
			machines *redis.MapStringStringCmd
			deaths   *redis.MapStringStringCmd
			after    *redis.StringSliceCmd
		)
		leases := make([]*redis.StringSliceCmd, len(names))
		alive := make([]*redis.IntCmd, len(names))
		warns := make([]*redis.StringSliceCmd, len(names))
		_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			meta = p.HGetAll(ctx, s.key("meta"))
			tests = p.Get(ctx, s.key("tests"))
			if light {
				keys = p.HKeys(ctx, s.key("results"))
			} else {
				full = p.HGetAll(ctx, s.key("results"))
				machines = p.HGetAll(ctx, s.key("records"))
				deaths = p.HGetAll(ctx, s.key("deaths"))
			}
			queue = p.LRange(ctx, s.key("queue"), 0, -1)
			for k, n := range names {
				leases[k] = p.LRange(ctx, s.key("lease:"+n), 0, -1)
				alive[k] = p.Exists(ctx, s.key("alive:"+n))
				if !light {
					warns[k] = p.LRange(ctx, s.key("warnings:"+n), 0, -1)
				}
			}
			after = p.SMembers(ctx, s.key("machines"))
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read the run: %w", err)
		}
		if !sameSet(names, after.Val()) {
			continue
		}
		mm := meta.Val()
		if len(mm) == 0 {
			return nil, nil
		}
		snap := &Snapshot{
			Meta:    metaOf(mm),
			Results: map[string]string{},
			Queue:   queue.Val(),
			Leases:  map[string][]string{},
			Alive:   map[string]bool{},
		}
		if err := parseJSONStrings(tests.Val(), &snap.NodeIDs); err != nil {
			return nil, fmt.Errorf("read the run's tests: %w", err)
		}
		if light {
			for _, k := range keys.Val() {
				snap.Results[k] = ""
			}
		} else {
			snap.Results = full.Val()
			snap.Machines = machines.Val()
			snap.Deaths = map[string]int{}
			for m, v := range deaths.Val() {
				snap.Deaths[m], _ = strconv.Atoi(v)
			}
			snap.Warnings = map[string][]string{}
		}
		for k, n := range names {
			if l := leases[k].Val(); len(l) > 0 {
				snap.Leases[n] = l
			}
			snap.Alive[n] = alive[k].Val() == 1
			if !light {
				if w := warns[k].Val(); len(w) > 0 {
					snap.Warnings[n] = w
				}
			}
		}
		return snap, nil
	}
	return nil, errors.New("read the run: machines kept joining while reading it")
}

func metaOf(m map[string]string) Meta {
	num := func(k string) int64 {
		n, _ := strconv.ParseInt(m[k], 10, 64)
		return n
	}
	return Meta{
		Version:     int(num("version")),
		Fingerprint: m["fingerprint"],
		Total:       int(num("total")),
		Items:       int(num("items")),
		SeededBy:    m["seeded_by"],
		Created:     time.UnixMilli(num("created")),
		Herd:        m["herd"],
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := make(map[string]bool, len(a))
	for _, x := range a {
		in[x] = true
	}
	for _, x := range b {
		if !in[x] {
			return false
		}
	}
	return true
}
