package shard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// PytestSplitFile is the file pytest-split keeps its durations in, in the
// rootdir: a JSON object of node id to seconds, herd's own format.
const PytestSplitFile = ".test_durations"

// ParseDurations reads a durations file: a JSON object of node id to
// seconds (herd's .pytest_cache/v/herd/durations and pytest-split's
// .test_durations), or the list of [node id, seconds] pairs older
// pytest-split versions wrote.
func ParseDurations(data []byte) (map[string]float64, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var pairs [][2]json.RawMessage
		if err := json.Unmarshal(data, &pairs); err != nil {
			return nil, fmt.Errorf("not a durations file (a JSON object of node id to seconds): %w", err)
		}
		out := make(map[string]float64, len(pairs))
		for _, p := range pairs {
			var id string
			var s float64
			if err := json.Unmarshal(p[0], &id); err != nil {
				return nil, fmt.Errorf("not a durations file: %w", err)
			}
			if err := json.Unmarshal(p[1], &s); err != nil {
				return nil, fmt.Errorf("not a durations file: %s: %w", id, err)
			}
			out[id] = s
		}
		return out, nil
	}
	var out map[string]float64
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("not a durations file (a JSON object of node id to seconds): %w", err)
	}
	if out == nil {
		out = map[string]float64{}
	}
	return out, nil
}

// WriteDurations writes durations as herd and pytest-split keep them: one
// JSON object, keys sorted, indented.
func WriteDurations(w io.Writer, durations map[string]float64) error {
	if durations == nil {
		durations = map[string]float64{}
	}
	b, err := json.MarshalIndent(durations, "", "  ")
	if err != nil {
		return fmt.Errorf("encode durations: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// MergeDurations merges durations files in order: a later file's value
// for a node id replaces an earlier one's.
func MergeDurations(files ...map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, f := range files {
		for id, s := range f {
			out[id] = s
		}
	}
	return out
}

// LoadPytestSplit reads pytest-split's .test_durations in dir. It returns
// nil, nil when there is none.
func LoadPytestSplit(dir string) (map[string]time.Duration, error) {
	if dir == "" {
		return nil, nil
	}
	d, err := LoadFile(filepath.Join(dir, PytestSplitFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return d, err
}

// LoadFile reads the durations file at path (see ParseDurations); a
// missing file is an error that matches os.ErrNotExist. Durations that are
// not positive and finite are left out.
func LoadFile(path string) (map[string]time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	secs, err := ParseDurations(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make(map[string]time.Duration, len(secs))
	for id, s := range secs {
		if s > 0 && !math.IsInf(s, 0) {
			out[id] = time.Duration(s * float64(time.Second))
		}
	}
	return out, nil
}
