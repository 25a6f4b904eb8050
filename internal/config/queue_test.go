package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/config"
)

func TestParseQueue(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	c, err := config.Parse([]string{"--queue", "redis://:pw@h:6379/2", "--run-id=ci-42.1", "--queue-lease", "3s", "-k", "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Queue != "redis://:pw@h:6379/2" || c.RunID != "ci-42.1" || c.QueueLease != 3*time.Second || !reflect.DeepEqual(c.PytestArgs, []string{"-k", "x"}) {
		t.Errorf("parsed %q %q %v %q", c.Queue, c.RunID, c.QueueLease, c.PytestArgs)
	}
	c, err = config.Parse([]string{"--queue=rediss://h:1/0", "--run-id", "r", "--queue-lease=2.5"}, nil)
	if err != nil || c.QueueLease != 2500*time.Millisecond || c.Queue != "rediss://h:1/0" {
		t.Errorf("rediss and seconds: %+v %v", c, err)
	}
	// HERD_QUEUE gives the URL when --run-id comes alone.
	c, err = config.Parse([]string{"--run-id", "r"}, env(map[string]string{"HERD_QUEUE": "redis://h:1/0"}))
	if err != nil || c.Queue != "redis://h:1/0" {
		t.Errorf("HERD_QUEUE: %q %v", c.Queue, err)
	}
	// ... and changes nothing without it.
	c, err = config.Parse([]string{"-x"}, env(map[string]string{"HERD_QUEUE": "redis://h:1/0"}))
	if err != nil || c.Queue != "" {
		t.Errorf("HERD_QUEUE without --run-id: %q %v", c.Queue, err)
	}
	for _, tc := range []struct {
		argv []string
		env  map[string]string
		want string
	}{
		{[]string{"--queue", "redis://h:1/0"}, nil, "--queue needs --run-id"},
		{[]string{"--run-id", "x"}, nil, "--run-id needs --queue"},
		{[]string{"--queue", "http://h:1", "--run-id", "x"}, nil, "--queue expects a Redis URL"},
		{[]string{"--run-id", "x"}, map[string]string{"HERD_QUEUE": "h:1"}, "HERD_QUEUE: expects a Redis URL"},
		{[]string{"--queue", "redis://h", "--run-id", "a b"}, nil, "--run-id"},
		{[]string{"--queue", "redis://h", "--run-id", "a{b}"}, nil, "braces"},
		{[]string{"--queue", "redis://h", "--run-id", ""}, nil, "--run-id expects an id"},
		{[]string{"--queue", "redis://h", "--run-id", "x", "--queue-lease", "10ms"}, nil, "--queue-lease expects a duration from 1s"},
		{[]string{"--queue", "redis://h", "--run-id", "x", "--queue-lease", "soon"}, nil, "--queue-lease expects a duration"},
		{[]string{"--queue-lease", "5s"}, nil, "--queue-lease needs --queue"},
		{[]string{"--queue", "redis://h", "--run-id", "x", "--shard", "1/2"}, nil, "do not go together"},
		{[]string{"--queue"}, nil, "--queue expects a value"},
	} {
		_, err := config.Parse(tc.argv, env(tc.env))
		if !errors.Is(err, config.ErrUsage) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err %v, want a one-line usage error saying %q", tc.argv, err, tc.want)
		}
	}
}
