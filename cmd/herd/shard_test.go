package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestShardWeighedBy(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, ".pytest_cache", "v", "herd", "durations")
	os.MkdirAll(filepath.Dir(cache), 0o755)
	os.WriteFile(cache, []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(dir, ".test_durations"), []byte("{}"), 0o644)
	var none *shardRun
	if none.weighedBy(cache) {
		t.Errorf("a run without --shard protects %s", cache)
	}
	s := &shardRun{rootdir: dir}
	if _, err := s.loadDurations(); err != nil {
		t.Fatal(err)
	}
	if s.weighedBy(cache) || !s.weighedBy(filepath.Join(dir, ".test_durations")) {
		t.Errorf("weighed by .test_durations: protects the cache %v, .test_durations %v", s.weighedBy(cache), s.weighedBy(filepath.Join(dir, ".test_durations")))
	}
	s = &shardRun{rootdir: dir, durationsFile: filepath.Join(dir, ".pytest_cache", "v", "..", "v", "herd", "durations")}
	if _, err := s.loadDurations(); err != nil {
		t.Fatal(err)
	}
	if !s.weighedBy(cache) {
		t.Errorf("--durations-file names the cache's file another way; the run would rewrite it")
	}
	s = &shardRun{rootdir: dir}
	if d, err := s.loadDurations(); err != nil || d == nil || s.source != ".test_durations" {
		t.Errorf("loadDurations = %v, %v, source %q", d, err, s.source)
	}
	os.Remove(filepath.Join(dir, ".test_durations"))
	s = &shardRun{rootdir: dir}
	if d, err := s.loadDurations(); err != nil || d != nil || s.weighedBy(cache) {
		t.Errorf("no durations file: %v, %v, protects the cache %v", d, err, s.weighedBy(cache))
	}
}
