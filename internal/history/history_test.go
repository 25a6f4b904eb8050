package history_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/history"
)

// approx compares durations to the microsecond: they are stored as float
// seconds.
func approx(a, b map[string]time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		if d := v - w; d > time.Microsecond || d < -time.Microsecond {
			return false
		}
	}
	return true
}

func TestDurationsRoundTrip(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name   string
		before string // existing file content; "" for none
		save   []map[string]time.Duration
		want   map[string]time.Duration
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		cache := filepath.Join(t.TempDir(), ".pytest_cache")
		path := filepath.Join(cache, history.DurationsPath)
		if tc.before != "" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range tc.save {
			if err := history.SaveDurations(cache, d); err != nil {
				t.Fatalf("SaveDurations: %v", err)
			}
		}
		got := history.LoadDurations(cache)
		if !approx(got, tc.want) {
			t.Fatalf("LoadDurations = %v, want %v", got, tc.want)
		}
	}
	for _, tc := range []testCase{
		{
			name: "one save",
			save: []map[string]time.Duration{{"a.py::t1": 1500 * time.Millisecond, "a.py::t2": 123 * time.Millisecond, "b.py::t[x-1]": 42 * time.Second}},
			want: map[string]time.Duration{"a.py::t1": 1500 * time.Millisecond, "a.py::t2": 123 * time.Millisecond, "b.py::t[x-1]": 42 * time.Second},
		},
		{
			name: "merge keeps old entries and updates new ones",
			save: []map[string]time.Duration{
				{"a.py::t1": time.Second, "a.py::t2": 2 * time.Second},
				{"a.py::t2": 5 * time.Second, "c.py::t3": 3 * time.Millisecond},
			},
			want: map[string]time.Duration{"a.py::t1": time.Second, "a.py::t2": 5 * time.Second, "c.py::t3": 3 * time.Millisecond},
		},
		{
			name:   "merge into a file pytest's cache layout holds",
			before: `{"old.py::t": 0.25}`,
			save:   []map[string]time.Duration{{"new.py::t": 2 * time.Second}},
			want:   map[string]time.Duration{"old.py::t": 250 * time.Millisecond, "new.py::t": 2 * time.Second},
		},
		{
			name:   "a corrupt file is replaced",
			before: `{"old.py::t": 0.25`,
			save:   []map[string]time.Duration{{"new.py::t": 2 * time.Second}},
			want:   map[string]time.Duration{"new.py::t": 2 * time.Second},
		},
		{
			name:   "zero and negative durations are not history",
			before: `{"neg.py::t": -1, "zero.py::t": 0, "ok.py::t": 1}`,
			save:   []map[string]time.Duration{{"z2.py::t": 0}},
			want:   map[string]time.Duration{"ok.py::t": time.Second},
		},
		{
			name:   "saving nothing keeps the file",
			before: `{"old.py::t": 3}`,
			save:   []map[string]time.Duration{{}, nil},
			want:   map[string]time.Duration{"old.py::t": 3 * time.Second},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

func TestLoadDurationsNoHistory(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name    string
		content *string // nil: no file
		dir     bool    // the path is a directory
		noCache bool    // cacheDir is ""
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		cache := filepath.Join(t.TempDir(), ".pytest_cache")
		path := filepath.Join(cache, history.DurationsPath)
		if tc.content != nil || tc.dir {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if tc.content != nil {
			if err := os.WriteFile(path, []byte(*tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if tc.dir {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if tc.noCache {
			cache = ""
		}
		if got := history.LoadDurations(cache); got != nil {
			t.Fatalf("LoadDurations = %v, want nil", got)
		}
	}
	str := func(s string) *string { return &s }
	for _, tc := range []testCase{
		{name: "missing file"},
		{name: "no cache dir", noCache: true},
		{name: "truncated json", content: str(`{"a.py::t": 1.5`)},
		{name: "not json", content: str("\x00\x01garbage")},
		{name: "json of the wrong shape", content: str(`["a.py::t", 1.5]`)},
		{name: "path is a directory", dir: true},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// The durations file is plain JSON in pytest's cache layout, so `pytest
// --cache-show` prints it, and herd creates the files pytest puts in a cache
// directory it creates (the .gitignore keeps the cache out of git status).
func TestSaveDurationsLayout(t *testing.T) {
	t.Parallel()
	cache := filepath.Join(t.TempDir(), ".pytest_cache")
	if err := history.SaveDurations(cache, map[string]time.Duration{"a.py::t": 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cache, "v", "herd", "durations"))
	if err != nil {
		t.Fatal(err)
	}
	var secs map[string]float64
	if err := json.Unmarshal(b, &secs); err != nil {
		t.Fatalf("durations file is not JSON: %v\n%s", err, b)
	}
	if secs["a.py::t"] != 2 {
		t.Errorf("durations file = %s, want a.py::t: 2", b)
	}
	gi, err := os.ReadFile(filepath.Join(cache, ".gitignore"))
	if err != nil {
		t.Fatalf("no .gitignore in the cache directory: %v", err)
	}
	if string(gi) != "# Created by pytest automatically.\n*\n" {
		t.Errorf(".gitignore = %q", gi)
	}
	// No stray temporary files are left beside it.
	ents, err := os.ReadDir(filepath.Join(cache, "v", "herd"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("v/herd holds %v, want only durations", names)
	}
	// An existing .gitignore is the user's: it is left alone.
	custom := []byte("# mine\n")
	if err := os.WriteFile(filepath.Join(cache, ".gitignore"), custom, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := history.SaveDurations(cache, map[string]time.Duration{"b.py::t": time.Second}); err != nil {
		t.Fatal(err)
	}
	if gi, _ := os.ReadFile(filepath.Join(cache, ".gitignore")); string(gi) != string(custom) {
		t.Errorf(".gitignore rewritten to %q", gi)
	}
}

func TestSaveDurationsErrors(t *testing.T) {
	t.Parallel()
	// The cache directory is a regular file: nothing can be saved there.
	file := filepath.Join(t.TempDir(), "cache")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := history.SaveDurations(file, map[string]time.Duration{"a.py::t": time.Second}); err == nil {
		t.Fatal("SaveDurations into a path under a regular file succeeded")
	}
	if err := history.SaveDurations("", map[string]time.Duration{"a.py::t": time.Second}); err != nil {
		t.Fatalf("SaveDurations without a cache dir = %v, want nil (nothing to do)", err)
	}
}

func TestUpdateLastFailed(t *testing.T) {
	t.Parallel()
	type testCase struct {
		name           string
		before         string // existing file; "" for none
		failed, passed []string
		want           []string // the nodeids in the file afterwards; nil: no file
	}
	run := func(t *testing.T, tc testCase) {
		t.Parallel()
		cache := filepath.Join(t.TempDir(), ".pytest_cache")
		path := filepath.Join(cache, history.LastFailedPath)
		if tc.before != "" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := history.UpdateLastFailed(cache, tc.failed, tc.passed); err != nil {
			t.Fatalf("UpdateLastFailed: %v", err)
		}
		b, err := os.ReadFile(path)
		if tc.want == nil {
			if err == nil {
				t.Fatalf("lastfailed written (%s), want no file", b)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]bool
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("lastfailed is not pytest's JSON: %v\n%s", err, b)
		}
		var got []string
		for id, v := range m {
			if !v {
				t.Errorf("%s: false in lastfailed; pytest writes true", id)
			}
			got = append(got, id)
		}
		sort.Strings(got)
		if len(got) == 0 {
			got = []string{}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("lastfailed = %q, want %q", got, tc.want)
		}
	}
	for _, tc := range []testCase{
		{name: "first failures", failed: []string{"a.py::t1", "b.py::t2"}, want: []string{"a.py::t1", "b.py::t2"}},
		{name: "all passed and no file: nothing written", passed: []string{"a.py::t1"}, want: nil},
		{
			name:   "passed tests leave, others stay",
			before: `{"a.py::t1": true, "b.py::t2": true, "c.py::gone": true}`,
			failed: []string{"d.py::new"},
			passed: []string{"a.py::t1"},
			want:   []string{"b.py::t2", "c.py::gone", "d.py::new"},
		},
		{
			name:   "the last failure fixed",
			before: `{"a.py::t1": true}`,
			passed: []string{"a.py::t1"},
			want:   []string{},
		},
		{
			name:   "corrupt file starts afresh",
			before: `{"a.py::t1": tr`,
			failed: []string{"x.py::t"},
			want:   []string{"x.py::t"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
