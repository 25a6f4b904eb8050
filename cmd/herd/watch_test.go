package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/herd-run/herd/internal/config"
	"github.com/herd-run/herd/internal/warm"
	"github.com/herd-run/herd/internal/watch"
)

func TestWatchRequestMerge(t *testing.T) {
	r := mergeInto(nil, request{files: []string{"a.py"}})
	r = mergeInto(r, request{key: watch.KeyFailed})
	if r.key != watch.KeyFailed {
		t.Fatalf("f after a save: key %v", r.key)
	}
	r = mergeInto(r, request{key: watch.KeyAll})
	r = mergeInto(r, request{key: watch.KeyFailed, files: []string{"b.py", "a.py"}})
	if r.key != watch.KeyAll || !reflect.DeepEqual(dedupe(r.files), []string{"a.py", "b.py"}) {
		t.Fatalf("merged: %+v", r)
	}
}

func TestWorkersNote(t *testing.T) {
	for st, want := range map[*warm.Stats]string{
		{}:        "",
		{Warm: 2}: "workers: 2 warm",
		{Warm: 1, Replaced: 1, Stale: []string{"a.py", "b.py", "c.py", "d.py"}, Cold: 1}: "workers: 1 warm, 1 replaced (changed: a.py, b.py, c.py and 1 more), 1 cold",
	} {
		if got := workersNote(*st); got != want {
			t.Errorf("workersNote(%+v) = %q, want %q", *st, got, want)
		}
	}
}

// TestWatchSummaryOfError: a round that ran no test (a usage error) shows
// the error where the closing line and failures stand.
func TestWatchSummaryOfError(t *testing.T) {
	var out bytes.Buffer
	s := &watchSession{stdout: &out, dir: "/src", pool: warm.New(t.Context(), "boot")}
	s.summary(watch.Round{N: 2, Trigger: "start", Dir: "/src"}, "", &config.UsageError{Msg: "ERROR: usage: unrecognized arguments: --bogus"})
	got := out.String()
	for _, want := range []string{"herd: the round failed (exit status 4):", "unrecognized arguments: --bogus", "watching /src"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestWatchRejects(t *testing.T) {
	for _, args := range [][]string{{"--collect-only"}, {"--queue", "redis://x"}} {
		err := watchMain(args, &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
		if code := exitCodeOf(err, &bytes.Buffer{}); code != exitUsage {
			t.Errorf("herd watch %v: exit %d (%v), want a usage error", args, code, err)
		}
	}
}
