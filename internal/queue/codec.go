package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/herd-run/herd/internal/codec"
	"github.com/herd-run/herd/internal/result"
)

// resultRecord is what the store holds for a test: the version of the
// codec that wrote it (0 for version 1, which wrote none), the machine that
// ran it, and the test as herd's JSON report holds it. Its start and stop
// are seconds from that machine's start.
type resultRecord struct {
	V       int             `json:"v,omitempty"`
	Machine string          `json:"m"`
	Test    json.RawMessage `json:"t"`
}

// machineRecord is what the store holds for a machine: what it knows of
// the run that every machine knows alike (interpreter, collection errors,
// modules skipped at import), and its clock.
type machineRecord struct {
	Name string `json:"name"`
	// Start is when the machine's run started, Stop when it ended (unix
	// milliseconds; Stop 0 while it runs).
	Start          int64                    `json:"start"`
	Stop           int64                    `json:"stop,omitempty"`
	Workers        int                      `json:"workers"`
	Herd           string                   `json:"herd,omitempty"`
	Python         string                   `json:"python,omitempty"`
	PythonPath     string                   `json:"python_path,omitempty"`
	Pytest         string                   `json:"pytest,omitempty"`
	Rootdir        string                   `json:"rootdir,omitempty"`
	Deselected     int                      `json:"deselected,omitempty"`
	CollectionErrs []result.CollectionError `json:"collection_errors,omitempty"`
	Skips          []json.RawMessage        `json:"skips,omitempty"`
	// V is the version of the codec that wrote Skips (0 for version 1).
	V               int    `json:"v,omitempty"`
	Interrupted     bool   `json:"interrupted,omitempty"`
	InterruptReason string `json:"interrupt_reason,omitempty"`
}

// warningRecord is one warning in a machine's list.
type warningRecord struct {
	NodeID  string `json:"nodeid,omitempty"`
	Message string `json:"message"`
}

// recordVersion is the codec version of a record that says v: records
// of version 1 say none.
func recordVersion(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// encodeResult is the store's record of t, run by machine: t with its
// workers named "machine:gwN", so each machine's workers are lanes of their
// own in the whole run's timeline.
func encodeResult(machine string, t *result.Test) (string, error) {
	c := *t
	if c.Worker != "" {
		c.Worker = machine + ":" + c.Worker
	}
	if len(t.Attempts) > 0 {
		c.Attempts = append([]result.Attempt(nil), t.Attempts...)
		for k := range c.Attempts {
			if c.Attempts[k].Worker != "" {
				c.Attempts[k].Worker = machine + ":" + c.Attempts[k].Worker
			}
		}
	}
	raw, err := codec.MarshalTest(&c)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(resultRecord{V: codec.Version, Machine: machine, Test: raw})
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", t.NodeID, err)
	}
	return string(b), nil
}

// decodeResult reads a result record.
func decodeResult(s string) (string, *result.Test, error) {
	var rec resultRecord
	if err := json.Unmarshal([]byte(s), &rec); err != nil {
		return "", nil, fmt.Errorf("decode a result: %w", err)
	}
	t, err := codec.UnmarshalTest(rec.Test, recordVersion(rec.V))
	if err != nil {
		return "", nil, err
	}
	return rec.Machine, t, nil
}

// Fingerprint identifies a set of node ids, whatever their order: machines
// that collected the same tests have the same fingerprint.
func Fingerprint(nodeids []string) string {
	ids := append([]string(nil), nodeids...)
	sort.Strings(ids)
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	return string(b), nil
}

func parseJSONStrings(s string, out *[]string) error {
	if s == "" {
		*out = nil
		return nil
	}
	return json.Unmarshal([]byte(s), out)
}

// parseItem reads an item's JSON.
func parseItem(raw string) (Item, error) {
	var it Item
	if err := json.Unmarshal([]byte(raw), &it); err != nil {
		return Item{}, fmt.Errorf("bad item in the queue: %w", err)
	}
	return it, nil
}

// itemJSON encodes an item.
func itemJSON(it Item) string {
	b, _ := json.Marshal(it) // an Item always encodes
	return string(b)
}
