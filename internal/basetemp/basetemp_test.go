package basetemp

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// env is a getenv that roots pytest's temporary directories in dir.
func env(dir string) func(string) string {
	return func(k string) string {
		switch k {
		case "PYTEST_DEBUG_TEMPROOT":
			return dir
		case "USER":
			return "alice"
		}
		return ""
	}
}

// names lists the entries of dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// TestCreateNumbersRuns: each run gets the next pytest-N under
// pytest-of-<user>, locked while it runs, with pytest-current pointing at
// it, as pytest's make_numbered_dir_with_cleanup makes them.
func TestCreateNumbersRuns(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "pytest-of-alice")
	for i, want := range []string{"pytest-0", "pytest-1", "pytest-2"} {
		d, err := Create(env(tmp))
		if err != nil {
			t.Fatal(err)
		}
		if d.Root != root || d.Path != filepath.Join(root, want) {
			t.Fatalf("run %d: root %s path %s, want %s and %s", i, d.Root, d.Path, root, want)
		}
		if _, err := os.Stat(filepath.Join(d.Path, ".lock")); err != nil {
			t.Errorf("run %d: no lock while the run goes on: %v", i, err)
		}
		if cur, err := os.Readlink(filepath.Join(root, "pytest-current")); err != nil || cur != d.Path {
			t.Errorf("run %d: pytest-current -> %q (%v), want %s", i, cur, err, d.Path)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(d.Path, ".lock")); !os.IsNotExist(err) {
			t.Errorf("run %d: lock still there after Close: %v", i, err)
		}
	}
	st, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		t.Errorf("root mode %v: want private (pytest makes it 0700)", st.Mode().Perm())
	}
}

// TestCloseKeepsNewestThree: at the end of a run the numbered directories
// older than the newest three go, with their trees, as pytest's cleanup
// deletes them; a directory another live run holds (a fresh lock) stays,
// one whose lock is older than three days goes, and garbage left by an
// interrupted deletion goes.
func TestCloseKeepsNewestThree(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "pytest-of-alice")
	mk := func(name string) string {
		p := filepath.Join(root, name, "popen-gw0", "test_x0")
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "f"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(root, name)
	}
	mk("pytest-0")
	held := mk("pytest-1")
	if err := createLock(filepath.Join(held, ".lock")); err != nil {
		t.Fatal(err)
	}
	stale := mk("pytest-2")
	if err := createLock(filepath.Join(stale, ".lock")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-4 * 24 * time.Hour)
	if err := os.Chtimes(filepath.Join(stale, ".lock"), old, old); err != nil {
		t.Fatal(err)
	}
	mk("pytest-3")
	mk("garbage-0123")
	mk("pytest-4")
	if err := os.WriteFile(filepath.Join(root, "pytest-notanumber"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	d, err := Create(env(tmp)) // pytest-5
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(d.Path) != "pytest-5" {
		t.Fatalf("path %s, want pytest-5", d.Path)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	got := names(t, root)
	want := []string{"pytest-1", "pytest-3", "pytest-4", "pytest-5", "pytest-current", "pytest-notanumber"}
	if !slices.Equal(got, want) {
		t.Errorf("after the run: %v, want %v (0 and 2 deleted, 1 held by a live run, garbage gone)", got, want)
	}
	if _, err := os.Stat(filepath.Join(root, "pytest-4", "popen-gw0", "test_x0", "f")); err != nil {
		t.Errorf("a kept run lost its files: %v", err)
	}
}

// TestCreateSkipsTakenNumbers: a run that finds the next number taken (two
// runs starting at once) takes the one after.
func TestCreateSkipsTakenNumbers(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	a, err := Create(env(tmp))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Create(env(tmp))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Path == b.Path {
		t.Fatalf("two live runs share %s", a.Path)
	}
}

// TestTempRootFallback: without PYTEST_DEBUG_TEMPROOT the root is under
// the first of TMPDIR, TEMP, TMP that is a directory, as Python's
// tempfile.gettempdir() finds it.
func TestTempRootFallback(t *testing.T) {
	t.Parallel()
	good := t.TempDir()
	getenv := func(k string) string {
		switch k {
		case "TMPDIR":
			return filepath.Join(good, "missing")
		case "TEMP":
			return good
		case "LOGNAME":
			return "bob"
		}
		return ""
	}
	d, err := Create(getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if want := filepath.Join(good, "pytest-of-bob"); d.Root != want {
		t.Errorf("root %s, want %s", d.Root, want)
	}
}
