package queue

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herd-run/herd/internal/redistest"
)

// redisStartTimeout bounds the wait for a fresh redis-server to answer:
// it starts in milliseconds; five seconds covers a loaded CI machine.
const redisStartTimeout = 5 * time.Second

// startRedis starts a redis-server of its own on a free loopback port,
// with no persistence, stopped when the test ends, and returns its URL.
// Without redis-server the test is skipped, except on CI ($CI set), where
// scripts/setup.sh installs it and its absence is a failure.
func startRedis(t *testing.T) string {
	t.Helper()
	port := startRedisArgs(t, false)
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	waitRedis(t, url)
	return url
}

// startRedisArgs starts redis-server with extra arguments; with tls, the
// free port is its TLS port and the plain port is off.
func startRedisArgs(t *testing.T, tls bool, extra ...string) int {
	t.Helper()
	return redistest.Start(t, tls, extra...)
}

// waitRedis waits until the Redis at url answers.
func waitRedis(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(redisStartTimeout)
	for {
		opt, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		err = c.Ping(context.Background()).Err()
		c.Close()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server at %s does not answer: %v", Redact(url), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisStore returns a RedisStore for run id on a fresh redis-server.
func redisStore(t *testing.T, url, id string) *RedisStore {
	t.Helper()
	s, err := Dial(context.Background(), url, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStoreContract runs the same checks on the memory store the consumer
// tests use and on Redis, so the two agree.
func TestStoreContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) { storeContract(t, func(string) Store { return newMemStore() }) })
	t.Run("redis", func(t *testing.T) {
		url := startRedis(t)
		storeContract(t, func(id string) Store { return redisStore(t, url, id) })
	})
}

func storeContract(t *testing.T, open func(id string) Store) {
	ctx := context.Background()
	s := open("run1")
	if snap, err := s.Snapshot(ctx, false); err != nil || snap != nil {
		t.Fatalf("snapshot of no run: %v, %v", snap, err)
	}
	a, err := s.Register(ctx, "host", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Register(ctx, "host", 200*time.Millisecond)
	c, _ := s.Register(ctx, "host", time.Minute)
	if a != "host" || b != "host-2" || c != "host-3" {
		t.Errorf("names %q %q %q, want host host-2 host-3", a, b, c)
	}
	meta := Meta{Version: SchemaVersion, Fingerprint: "f1", Total: 4, Items: 3, SeededBy: a,
		Created: time.UnixMilli(1700000000123), Herd: "0.1.0"}
	ids := []string{"t::1", "t::2", "t::3", "t::4"}
	items := []string{`{"n":1,"t":["t::1"]}`, `{"n":2,"t":["t::2","t::3"]}`, `{"n":3,"t":["t::4"]}`}
	seeded, got, err := s.Seed(ctx, meta, ids, items)
	if err != nil || !seeded || !reflect.DeepEqual(got, meta) {
		t.Fatalf("first seed: %v %+v %v", seeded, got, err)
	}
	other := meta
	other.Fingerprint, other.SeededBy = "f2", b
	seeded, got, err = s.Seed(ctx, other, []string{"x"}, []string{"y"})
	if err != nil || seeded || !reflect.DeepEqual(got, meta) {
		t.Fatalf("second seed: %v %+v %v; want the first's meta", seeded, got, err)
	}

	lease := func(m string) string {
		it, err := s.Lease(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	if it := lease(a); it != items[0] {
		t.Fatalf("a leased %q", it)
	}
	if it := lease(b); it != items[1] {
		t.Fatalf("b leased %q", it)
	}
	if it := lease(b); it != items[2] {
		t.Fatalf("b leased %q", it)
	}
	if it := lease(c); it != "" {
		t.Fatalf("c leased %q from an empty queue", it)
	}
	if l, err := s.Leased(ctx, b); err != nil || !reflect.DeepEqual(l, items[1:]) {
		t.Fatalf("b's lease list %v, %v", l, err)
	}

	rec := func(id string) string { return `{"m":"x","t":{"nodeid":"` + id + `"}}` }
	won, err := s.Apply(ctx, a, []Op{
		{Kind: OpResult, Key: "t::1", Value: rec("t::1")},
		{Kind: OpWarning, Value: `{"message":"w"}`},
		{Kind: OpDeath},
		{Kind: OpMachine, Value: `{"name":"host"}`},
		{Kind: OpDone, Key: items[0]},
	})
	if err != nil || !reflect.DeepEqual(won, []string{"t::1"}) {
		t.Fatalf("apply: won %v, %v", won, err)
	}
	won, _ = s.Apply(ctx, c, []Op{{Kind: OpResult, Key: "t::1", Value: "second"}, {Kind: OpResult, Key: "t::2", Value: rec("t::2")}})
	if !reflect.DeepEqual(won, []string{"t::2"}) {
		t.Errorf("the second result of t::1 was stored: won %v", won)
	}
	if have, _ := s.Have(ctx, ids); !reflect.DeepEqual(have, []bool{true, true, false, false}) {
		t.Errorf("have %v", have)
	}
	if n, _ := s.Count(ctx); n != 2 {
		t.Errorf("count %d", n)
	}

	// b's heartbeat lapses: its two items go back to the queue's head, in
	// lease order; a live machine's leases stay.
	s.Push(ctx, `{"n":-1,"t":["t::9"]}`)
	if it := lease(a); it != `{"n":-1,"t":["t::9"]}` {
		t.Fatalf("a leased %q, want the pushed item", it)
	}
	time.Sleep(300 * time.Millisecond)
	moved, err := s.Reclaim(ctx)
	if err != nil || !reflect.DeepEqual(moved, map[string]int{b: 2}) {
		t.Fatalf("reclaim moved %v, %v; want 2 items of %s", moved, err, b)
	}
	snap, err := s.Snapshot(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap.Queue, items[1:]) || len(snap.Leases[b]) != 0 || len(snap.Leases[a]) != 1 {
		t.Errorf("after reclaim: queue %v, leases %v", snap.Queue, snap.Leases)
	}
	if snap.Alive[b] || !snap.Alive[a] {
		t.Errorf("alive %v", snap.Alive)
	}
	if snap.Results["t::1"] != "" || len(snap.Results) != 2 {
		t.Errorf("light snapshot results %v", snap.Results)
	}

	// Done with tests given back: they go to the queue's head, unless the
	// item was not leased there any more (taken back already).
	it := lease(c)
	if _, err := s.Apply(ctx, c, []Op{{Kind: OpDone, Key: it, Value: `{"n":2,"t":["t::3"]}`}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, c, []Op{{Kind: OpDone, Key: it, Value: `{"n":2,"t":["never"]}`}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Leave(ctx, a); err != nil {
		t.Fatal(err)
	}
	snap, err = s.Snapshot(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"n":2,"t":["t::3"]}`, items[2]}
	if !reflect.DeepEqual(snap.Queue, want) {
		t.Errorf("queue %v, want %v", snap.Queue, want)
	}
	if snap.Results["t::1"] != rec("t::1") || snap.Machines[a] != `{"name":"host"}` ||
		!reflect.DeepEqual(snap.Warnings[a], []string{`{"message":"w"}`}) || snap.Deaths[a] != 1 {
		t.Errorf("full snapshot: results %v machines %v warnings %v deaths %v", snap.Results, snap.Machines, snap.Warnings, snap.Deaths)
	}
	if snap.Alive[a] {
		t.Errorf("%s left but is alive", a)
	}
	if _, ok := snap.Alive[c]; !ok {
		t.Errorf("%s is not a machine of the run", c)
	}
	if err := s.Unregister(ctx, c); err != nil {
		t.Fatal(err)
	}
	if snap, _ := s.Snapshot(ctx, true); snap != nil {
		if _, ok := snap.Alive[c]; ok {
			t.Errorf("%s unregistered but still a machine of the run", c)
		}
	}
	if !reflect.DeepEqual(snap.NodeIDs, ids) || snap.Meta != meta {
		t.Errorf("snapshot ids %v meta %+v", snap.NodeIDs, snap.Meta)
	}
	// Another run id in the same Redis is another run.
	if snap, err := open("run2").Snapshot(ctx, true); err != nil || snap != nil {
		t.Errorf("run2 sees a run: %+v %v", snap, err)
	}
}

func TestDialErrors(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{"http://127.0.0.1:6379", "redis://user:sekrit@[::1", "::not a url"} {
		_, err := Dial(ctx, url, "x")
		if err == nil {
			t.Errorf("Dial(%q) did not fail", url)
			continue
		}
		if s := err.Error(); len(s) == 0 || containsAny(s, "sekrit", "\n") {
			t.Errorf("Dial(%q): %q leaks the password or spans lines", url, s)
		}
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	_, err := Dial(ctx, fmt.Sprintf("redis://:sekrit@127.0.0.1:%d/0", port), "x")
	if err == nil || containsAny(err.Error(), "sekrit") {
		t.Errorf("Dial of a closed port: %v", err)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestRedisTLSAndPassword: rediss:// with a password in the URL reaches a
// TLS-only Redis that requires it; a wrong password fails without showing
// the password.
func TestRedisTLSAndPassword(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	port := startRedisArgs(t, true, "--requirepass", "sekrit", "--tls-cert-file", cert, "--tls-key-file", key,
		"--tls-ca-cert-file", cert, "--tls-auth-clients", "no")
	url := fmt.Sprintf("rediss://:sekrit@127.0.0.1:%d/0?skip_verify=true", port)
	waitRedis(t, url)
	ctx := context.Background()
	s := redisStore(t, url, "tls")
	seeded, _, err := s.Seed(ctx, Meta{Version: SchemaVersion, Total: 1, SeededBy: "m"}, []string{"t::1"}, []string{`{"n":1,"t":["t::1"]}`})
	if err != nil || !seeded {
		t.Fatalf("seed over TLS: %v %v", seeded, err)
	}
	if it, err := s.Lease(ctx, "m"); err != nil || it == "" {
		t.Fatalf("lease over TLS: %q %v", it, err)
	}
	_, err = Dial(ctx, fmt.Sprintf("rediss://:wrong-sekrit@127.0.0.1:%d/0?skip_verify=true", port), "tls")
	if err == nil || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("wrong password: %v", err)
	}
	_, err = Dial(ctx, fmt.Sprintf("redis://:sekrit@127.0.0.1:%d/0", port), "tls")
	if err == nil || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("plain connection to a TLS port: %v", err)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir and returns their paths.
func selfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "herd test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, keyPath
}
