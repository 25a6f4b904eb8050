package queue

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/herd-run/herd/internal/report"
	"github.com/herd-run/herd/internal/result"
)

// resultRecord is what the store holds for a test: the machine that ran
// it, and the test as herd's JSON report writes it. Its start and stop are
// seconds from that machine's start.
type resultRecord struct {
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
	Start           int64                    `json:"start"`
	Stop            int64                    `json:"stop,omitempty"`
	Workers         int                      `json:"workers"`
	Herd            string                   `json:"herd,omitempty"`
	Python          string                   `json:"python,omitempty"`
	PythonPath      string                   `json:"python_path,omitempty"`
	Pytest          string                   `json:"pytest,omitempty"`
	Rootdir         string                   `json:"rootdir,omitempty"`
	Deselected      int                      `json:"deselected,omitempty"`
	CollectionErrs  []result.CollectionError `json:"collection_errors,omitempty"`
	Skips           []json.RawMessage        `json:"skips,omitempty"`
	Interrupted     bool                     `json:"interrupted,omitempty"`
	InterruptReason string                   `json:"interrupt_reason,omitempty"`
}

// warningRecord is one warning in a machine's list.
type warningRecord struct {
	NodeID  string `json:"nodeid,omitempty"`
	Message string `json:"message"`
}

// encodeTest encodes t as an entry of the "tests" of herd's JSON report,
// so the store holds what the report holds (and reads back the same way).
func encodeTest(t *result.Test) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, &result.Run{Tests: []*result.Test{t}}); err != nil {
		return nil, err
	}
	var doc struct {
		Tests []json.RawMessage `json:"tests"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		return nil, fmt.Errorf("encode %s: %w", t.NodeID, err)
	}
	if len(doc.Tests) != 1 {
		return nil, fmt.Errorf("encode %s: the report holds %d tests", t.NodeID, len(doc.Tests))
	}
	var out bytes.Buffer
	if err := json.Compact(&out, doc.Tests[0]); err != nil {
		return nil, fmt.Errorf("encode %s: %w", t.NodeID, err)
	}
	return out.Bytes(), nil
}

// decodeTest reads what encodeTest wrote.
func decodeTest(raw json.RawMessage) (*result.Test, error) {
	doc := fmt.Sprintf(`{"version":%d,"tests":[%s]}`, report.JSONVersion, raw)
	r, err := report.ReadJSON(strings.NewReader(doc))
	if err != nil {
		return nil, err
	}
	if len(r.Tests) != 1 {
		return nil, errors.New("decode a test: not one test")
	}
	return r.Tests[0], nil
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
	raw, err := encodeTest(&c)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(resultRecord{Machine: machine, Test: raw})
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
	t, err := decodeTest(rec.Test)
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
