// Package history keeps what earlier runs learned about the suite in pytest's
// own cache directory (.pytest_cache under the rootdir by default, so `pytest
// --cache-clear` clears it too): the last recorded duration of each test, and
// pytest's last-failed list, which --lf and --ff read.
package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DurationsPath is where durations are kept, relative to pytest's cache
// directory (.pytest_cache under the rootdir unless cache_dir says else). It
// follows pytest's cache layout (v/<namespace>/<key>), so the file shows in
// `pytest --cache-show`.
const DurationsPath = "v/herd/durations"

// LoadDurations reads the recorded durations in cacheDir. A missing or
// unreadable file means no history, which is not an error: the run is only
// scheduled without it.
func LoadDurations(cacheDir string) map[string]time.Duration {
	if cacheDir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(cacheDir, DurationsPath))
	if err != nil {
		return nil
	}
	var secs map[string]float64
	if json.Unmarshal(b, &secs) != nil {
		return nil
	}
	out := make(map[string]time.Duration, len(secs))
	for id, s := range secs {
		if s > 0 {
			out[id] = time.Duration(s * float64(time.Second))
		}
	}
	return out
}

// SaveDurations merges durations into the file in cacheDir: tests of this
// run get their new duration, others keep theirs.
func SaveDurations(cacheDir string, durations map[string]time.Duration) error {
	if len(durations) == 0 || cacheDir == "" {
		return nil
	}
	path := filepath.Join(cacheDir, DurationsPath)
	secs := map[string]float64{}
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &secs)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read durations: %w", err)
	}
	for id, d := range durations {
		secs[id] = d.Seconds()
	}
	b, err := json.MarshalIndent(secs, "", "  ")
	if err != nil {
		return fmt.Errorf("encode durations: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save durations: %w", err)
	}
	ensureCacheReadme(cacheDir)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".durations-*")
	if err != nil {
		return fmt.Errorf("save durations: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save durations: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save durations: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save durations: %w", err)
	}
	return nil
}

// ensureCacheReadme gives a cache directory that herd created the files pytest
// would have put there, so tools that look for them find them.
func ensureCacheReadme(cacheDir string) {
	gi := filepath.Join(cacheDir, ".gitignore")
	if _, err := os.Stat(gi); errors.Is(err, os.ErrNotExist) {
		_ = os.WriteFile(gi, []byte("# Created by pytest automatically.\n*\n"), 0o644)
	}
}

// LastFailedPath is pytest's own last-failed cache, which --lf and --ff read.
// herd's workers leave it alone (they run as xdist-style workers), so the
// controller keeps it as pytest would.
const LastFailedPath = "v/cache/lastfailed"

// UpdateLastFailed updates pytest's last-failed cache in cacheDir: tests in
// failed are added, tests in passed removed, all others kept, as pytest's
// cacheprovider does at the end of a session.
func UpdateLastFailed(cacheDir string, failed, passed []string) error {
	if cacheDir == "" {
		return nil
	}
	path := filepath.Join(cacheDir, LastFailedPath)
	last := map[string]bool{}
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &last)
	}
	before := len(last)
	changed := false
	for _, id := range passed {
		if last[id] {
			delete(last, id)
			changed = true
		}
	}
	for _, id := range failed {
		if !last[id] {
			last[id] = true
			changed = true
		}
	}
	if !changed && before > 0 {
		return nil
	}
	if !changed && len(last) == 0 {
		if _, err := os.Stat(path); err != nil {
			return nil
		}
	}
	b, err := json.MarshalIndent(last, "", "  ")
	if err != nil {
		return fmt.Errorf("encode lastfailed: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save lastfailed: %w", err)
	}
	ensureCacheReadme(cacheDir)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("save lastfailed: %w", err)
	}
	return nil
}

// DiagnosesPath is where the diagnoses of crashed tests are kept, relative to
// pytest's cache directory; `herd doctor` lists them.
const DiagnosesPath = "v/herd/diagnoses"

// Diagnosis is what one run's rerun alone found about a crashed test.
type Diagnosis struct {
	// CrashedAlone says the test crashed again alone.
	CrashedAlone bool `json:"crashed_alone"`
	// Cause is the likely cause when it crashed only beside other tests.
	Cause string `json:"cause,omitempty"`
	// Marker is the marker line that would help.
	Marker string `json:"marker,omitempty"`
	// Summary says it in one sentence.
	Summary string `json:"summary"`
	// When is the time of the run, in RFC 3339.
	When string `json:"when"`
}

// LoadDiagnoses reads the recorded diagnoses in cacheDir; none is not an
// error.
func LoadDiagnoses(cacheDir string) map[string]Diagnosis {
	if cacheDir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(cacheDir, DiagnosesPath))
	if err != nil {
		return nil
	}
	var m map[string]Diagnosis
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// SaveDiagnoses merges diagnoses into the file in cacheDir: a test diagnosed
// again gets its newest diagnosis.
func SaveDiagnoses(cacheDir string, diags map[string]Diagnosis) error {
	if len(diags) == 0 || cacheDir == "" {
		return nil
	}
	all := LoadDiagnoses(cacheDir)
	if all == nil {
		all = map[string]Diagnosis{}
	}
	for id, d := range diags {
		all[id] = d
	}
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return fmt.Errorf("encode diagnoses: %w", err)
	}
	path := filepath.Join(cacheDir, DiagnosesPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save diagnoses: %w", err)
	}
	ensureCacheReadme(cacheDir)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("save diagnoses: %w", err)
	}
	return nil
}

// LoadLastFailed reads pytest's last-failed cache in cacheDir; none is an
// empty set.
func LoadLastFailed(cacheDir string) map[string]bool {
	if cacheDir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(cacheDir, LastFailedPath))
	if err != nil {
		return nil
	}
	var m map[string]bool
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}
