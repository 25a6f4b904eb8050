package config

import (
	"strconv"
	"strings"
	"time"
)

// MinQueueLease is the shortest --queue-lease: a heartbeat every sixth of
// it must get through a busy machine and network, which a second still
// allows on loopback (the end-to-end tests use a few seconds).
const MinQueueLease = time.Second

// MaxQueueLease is the longest --queue-lease: an hour is already longer
// than anyone would wait for a dead machine's tests.
const MaxQueueLease = time.Hour

// maxRunID bounds --run-id: CI run ids are short; Redis keys carry it.
const maxRunID = 200

// setQueueOption sets --queue, --run-id or --queue-lease to v.
func (c *Config) setQueueOption(name, v string) error {
	switch name {
	case "--queue":
		if !strings.HasPrefix(v, "redis://") && !strings.HasPrefix(v, "rediss://") {
			return usage("herd: --queue expects a Redis URL, redis://[user:password@]host:port/db or rediss://... for TLS")
		}
		c.Queue = v
	case "--run-id":
		if err := checkRunID(v); err != nil {
			return err
		}
		c.RunID = v
	case "--queue-lease":
		d, err := time.ParseDuration(v)
		if err != nil {
			f, ferr := strconv.ParseFloat(v, 64)
			if ferr != nil {
				return usage("herd: --queue-lease expects a duration such as 30s, got %q", v)
			}
			d = time.Duration(f * float64(time.Second))
		}
		if d < MinQueueLease || d > MaxQueueLease {
			return usage("herd: --queue-lease expects a duration from %s to %s, got %q", MinQueueLease, MaxQueueLease, v)
		}
		c.QueueLease = d
	}
	return nil
}

// checkRunID accepts run ids of printable ASCII without spaces or braces
// (a run's Redis keys are herd:{ID}:..., the braces a cluster hash tag).
func checkRunID(v string) error {
	if v == "" || len(v) > maxRunID {
		return usage("herd: --run-id expects an id of 1 to %d characters, such as the CI pipeline's", maxRunID)
	}
	for _, r := range v {
		if r <= ' ' || r > '~' || r == '{' || r == '}' {
			return usage("herd: --run-id %q: only printable ASCII without spaces or braces", v)
		}
	}
	return nil
}

// checkQueue completes and checks the queue options once all are parsed:
// $HERD_QUEUE gives the URL when --run-id is given without --queue (so
// the password stays out of the process list and CI logs), and queue mode
// needs both a URL and a run id.
func (c *Config) checkQueue(getenv func(string) string) error {
	if c.Queue == "" && c.RunID != "" && getenv != nil {
		if v := getenv("HERD_QUEUE"); v != "" {
			if err := c.setQueueOption("--queue", v); err != nil {
				return usage("herd: HERD_QUEUE: %s", strings.TrimPrefix(err.Error(), "herd: --queue "))
			}
		}
	}
	switch {
	case c.Queue != "" && c.RunID == "":
		return usage("herd: --queue needs --run-id ID, the same on every machine of the run (such as the CI pipeline's id)")
	case c.Queue == "" && c.RunID != "":
		return usage("herd: --run-id needs --queue URL (or HERD_QUEUE), the Redis of the run")
	case c.Queue == "" && c.QueueLease > 0:
		return usage("herd: --queue-lease needs --queue URL")
	case c.Queue != "" && c.ShardCount > 0:
		return usage("herd: --queue and --shard do not go together: the queue already spreads the tests over the machines")
	}
	return nil
}
