// Package affected chooses the tests a change can break. Workers record,
// as tests run, what each one depended on (protocol.TypeDeps: the project
// functions it ran, the module-level code of the modules those import, the
// files it opened, its fixtures), with a fingerprint of each file
// (protocol.TypeFingerprint). A Recorder gathers them during a run and
// folds them into the Store kept in pytest's cache directory; Select
// compares the store with the working tree (and a git revision) and keeps
// only the tests whose dependencies changed, the new ones, the ones that
// failed last time and those in changed test files.
package affected

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// StorePath is where the records are kept, relative to pytest's cache
// directory (next to herd's durations).
const StorePath = "v/herd/deps"

// storeVersion is the version of the store's encoding; a store of another
// version is not read (the next run records a new one).
const storeVersion = 1

// Entry is one dependency as a test saw it: a part of a file (see
// protocol.DepKey), the hash that part had (for part "", the file's
// SHA-256) and the SHA-256 of the whole file then ("" when the file did
// not exist).
type Entry struct {
	Path, Part, Hash, FileSHA string
}

// Record is what the store knows of one test: its last outcome and its
// dependencies (indexes into Store.Entries).
type Record struct {
	Outcome string `json:"o"`
	Deps    []int  `json:"d"`
}

// Store is every test's record, as the last runs that recorded left it.
type Store struct {
	// Entries are the dependencies the records share.
	Entries []Entry
	// Tests maps node ids to their records.
	Tests map[string]Record
	// Env maps the files whose change no record can map (ini files,
	// conftest.py, requirements) to their SHA-256 when the store was
	// written; Python and Pytest are the versions that ran the tests.
	Env    map[string]string
	Python string
	Pytest string
}

type storeJSON struct {
	Version int               `json:"version"`
	Python  string            `json:"python"`
	Pytest  string            `json:"pytest"`
	Env     map[string]string `json:"env"`
	Entries [][4]string       `json:"entries"`
	Tests   map[string]Record `json:"tests"`
}

// Load reads the store in cacheDir. It returns nil and no error when
// there is none, or when it was written by another version of herd.
func Load(cacheDir string) (*Store, error) {
	data, err := os.ReadFile(filepath.Join(cacheDir, StorePath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read dependency records: %w", err)
	}
	var doc storeJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read dependency records %s: %w", filepath.Join(cacheDir, StorePath), err)
	}
	if doc.Version != storeVersion {
		return nil, nil
	}
	s := &Store{Tests: doc.Tests, Env: doc.Env, Python: doc.Python, Pytest: doc.Pytest}
	if s.Tests == nil {
		s.Tests = map[string]Record{}
	}
	s.Entries = make([]Entry, len(doc.Entries))
	for i, e := range doc.Entries {
		s.Entries[i] = Entry{Path: e[0], Part: e[1], Hash: e[2], FileSHA: e[3]}
	}
	for id, r := range s.Tests {
		for _, d := range r.Deps {
			if d < 0 || d >= len(s.Entries) {
				return nil, fmt.Errorf("read dependency records: test %s names entry %d of %d", id, d, len(s.Entries))
			}
		}
	}
	return s, nil
}

// Save writes s into cacheDir, keeping only the entries some test names,
// in a deterministic order. It writes a temporary file and renames it, so
// a reader never sees half a store.
func (s *Store) Save(cacheDir string) error {
	used := map[int]bool{}
	for _, r := range s.Tests {
		for _, d := range r.Deps {
			used[d] = true
		}
	}
	old := make([]int, 0, len(used))
	for d := range used {
		old = append(old, d)
	}
	sort.Slice(old, func(a, b int) bool { return entryLess(s.Entries[old[a]], s.Entries[old[b]]) })
	renum := make(map[int]int, len(old))
	doc := storeJSON{Version: storeVersion, Python: s.Python, Pytest: s.Pytest, Env: s.Env,
		Entries: make([][4]string, len(old)), Tests: make(map[string]Record, len(s.Tests))}
	for i, d := range old {
		renum[d] = i
		e := s.Entries[d]
		doc.Entries[i] = [4]string{e.Path, e.Part, e.Hash, e.FileSHA}
	}
	for id, r := range s.Tests {
		deps := make([]int, len(r.Deps))
		for i, d := range r.Deps {
			deps[i] = renum[d]
		}
		sort.Ints(deps)
		doc.Tests[id] = Record{Outcome: r.Outcome, Deps: deps}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("write dependency records: %w", err)
	}
	path := filepath.Join(cacheDir, StorePath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write dependency records: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".deps-*")
	if err != nil {
		return fmt.Errorf("write dependency records: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write dependency records: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write dependency records: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write dependency records: %w", err)
	}
	return nil
}

func entryLess(a, b Entry) bool {
	if a.Path != b.Path {
		return a.Path < b.Path
	}
	if a.Part != b.Part {
		return a.Part < b.Part
	}
	if a.Hash != b.Hash {
		return a.Hash < b.Hash
	}
	return a.FileSHA < b.FileSHA
}
