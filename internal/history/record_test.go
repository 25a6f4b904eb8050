package history_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/herd-run/herd/internal/history"
	"github.com/herd-run/herd/internal/result"
)

// Record saves a run's durations (only of tests that ran to an end), its
// last failures (collection errors included) and its crash diagnoses; with
// keepDurations the durations file is left alone; without a cache directory
// nothing is written.
func TestRecord(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	run := func(dir string) *result.Run {
		return &result.Run{
			Info: result.Info{CacheDir: dir},
			Tests: []*result.Test{
				{NodeID: "a.py::ok", Outcome: result.Passed, Duration: time.Second},
				{NodeID: "a.py::bad", Outcome: result.Failed, Duration: 2 * time.Second},
				{NodeID: "a.py::died", Outcome: result.Crashed, Duration: 3 * time.Second,
					Diagnosis: &result.Diagnosis{Rerun: result.Crashed, CrashedAlone: true, Summary: "it crashed alone"}},
				{NodeID: "a.py::later", Outcome: result.NotRun},
			},
			CollectionErrors: []result.CollectionError{{Path: "b.py"}},
		}
	}
	for _, tc := range []struct {
		name          string
		keepDurations bool
		durations     map[string]time.Duration
	}{
		{"all", false, map[string]time.Duration{"a.py::ok": time.Second, "a.py::bad": 2 * time.Second}},
		{"durations kept", true, map[string]time.Duration{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if errs := history.Record(run(dir), tc.keepDurations, now); len(errs) != 0 {
				t.Fatalf("Record: %v", errs)
			}
			if got := history.LoadDurations(dir); !reflect.DeepEqual(got, tc.durations) && !(len(got) == 0 && len(tc.durations) == 0) {
				t.Errorf("durations %v, want %v", got, tc.durations)
			}
			want := map[string]bool{"a.py::bad": true, "a.py::died": true, "b.py": true}
			if got := history.LoadLastFailed(dir); !reflect.DeepEqual(got, want) {
				t.Errorf("last failed %v, want %v", got, want)
			}
			diags := history.LoadDiagnoses(dir)
			if d, ok := diags["a.py::died"]; !ok || len(diags) != 1 || !d.CrashedAlone || d.When != "2026-01-02T03:04:05Z" {
				t.Errorf("diagnoses %+v, want a.py::died's, crashed alone, dated %s", diags, now.Format(time.RFC3339))
			}
		})
	}
	t.Run("no cache dir", func(t *testing.T) {
		t.Parallel()
		if errs := history.Record(run(""), false, now); errs != nil {
			t.Errorf("Record without a cache directory: %v", errs)
		}
	})
	t.Run("unwritable", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		// A cache directory under a file cannot be created.
		if errs := history.Record(run(filepath.Join(file, "cache")), false, now); len(errs) != 3 {
			t.Errorf("Record under a file: %v, want three errors", errs)
		}
	})
}
