package watch

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestIgnoreRules(t *testing.T) {
	for name, want := range map[string]bool{
		"test_a.py": false, "conftest.py": false, "pytest.ini": false, "data.json": false,
		"a.pyc": true, ".a.py.swp": true, "a.py.swx": true, "a.py~": true, ".#a.py": true,
		"#a.py#": true, "4913": true, ".coverage": true, "": true,
	} {
		if got := IgnoredFile(name); got != want {
			t.Errorf("IgnoredFile(%q) = %v, want %v", name, got, want)
		}
	}
	root := t.TempDir()
	venv := filepath.Join(root, "env")
	os.Mkdir(venv, 0o755)
	os.WriteFile(filepath.Join(venv, "pyvenv.cfg"), nil, 0o644)
	os.Mkdir(filepath.Join(root, "pkg"), 0o755)
	for dir, want := range map[string]bool{
		"pkg": false, "env": true, ".git": true, ".pytest_cache": true, "__pycache__": true,
		".mypy_cache": true, ".tox": true, "node_modules": true, ".hidden": true,
	} {
		if got := IgnoredDir(filepath.Join(root, dir), dir); got != want {
			t.Errorf("IgnoredDir(%q) = %v, want %v", dir, got, want)
		}
	}
}

// fakeClock is an After whose timers fire when the test says.
type fakeClock struct{ timers chan chan time.Time }

func (c *fakeClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.timers <- ch
	return ch
}

// watchTree starts a watcher on a fresh tree with the given clock (the
// real one when nil).
func watchTree(t *testing.T, opts Options) (string, *Watcher) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"pkg", ".git", "__pycache__"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := New(ctx, root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return root, w
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, w *Watcher) []string {
	t.Helper()
	select {
	case b := <-w.Changes():
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported within 5s")
		return nil
	}
}

// TestDebounceBurst: a save that writes several files (and the ignored
// files an editor and Python write beside them) is one round, delivered
// only once the quiet timer fires.
func TestDebounceBurst(t *testing.T) {
	clock := &fakeClock{timers: make(chan chan time.Time, 100)}
	root, w := watchTree(t, Options{After: clock.After})
	write(t, filepath.Join(root, "pkg", "mod.py"), "x = 1\n")
	write(t, filepath.Join(root, "test_a.py"), "def test(): pass\n")
	write(t, filepath.Join(root, ".test_a.py.swp"), "")
	write(t, filepath.Join(root, "__pycache__", "x.pyc"), "")
	write(t, filepath.Join(root, ".git", "index"), "")
	// Each wanted event arms a new quiet timer (the first a max timer
	// too); wait until both files' events armed theirs.
	var last chan time.Time
	seen := 0
	deadline := time.After(5 * time.Second)
	for seen < 3 {
		select {
		case last = <-clock.timers:
			seen++
		case <-deadline:
			t.Fatalf("only %d timers armed", seen)
		}
	}
	select {
	case b := <-w.Changes():
		t.Fatalf("burst delivered before the quiet timer fired: %v", b)
	case <-time.After(100 * time.Millisecond):
	}
	// More events may still arm timers (a write is CREATE then WRITE):
	// fire every timer armed until the batch comes.
	last <- time.Now()
	var got []string
	for got == nil {
		select {
		case got = <-w.Changes():
		case tm := <-clock.timers:
			tm <- time.Now()
		case <-time.After(5 * time.Second):
			t.Fatal("no batch")
		}
	}
	if want := []string{"pkg/mod.py", "test_a.py"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch = %v, want %v", got, want)
	}
}

// TestNewDirectoryWatched: a directory made after the start is watched,
// and a file written in it is a change.
func TestNewDirectoryWatched(t *testing.T) {
	root, w := watchTree(t, Options{Quiet: 20 * time.Millisecond})
	sub := filepath.Join(root, "newpkg", "deep")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// The directory may be picked up with or without the file; what
	// matters is that the later write in it is seen.
	time.Sleep(100 * time.Millisecond)
	drain(w)
	write(t, filepath.Join(sub, "test_new.py"), "def test(): pass\n")
	if got := next(t, w); !reflect.DeepEqual(got, []string{"newpkg/deep/test_new.py"}) {
		t.Fatalf("batch = %v", got)
	}
	// A new virtualenv is not watched.
	venv := filepath.Join(root, "venv")
	os.Mkdir(venv, 0o755)
	write(t, filepath.Join(venv, "pyvenv.cfg"), "")
	time.Sleep(100 * time.Millisecond)
	drain(w)
	write(t, filepath.Join(root, "pkg", "x.py"), "")
	if got := next(t, w); !reflect.DeepEqual(got, []string{"pkg/x.py"}) {
		t.Fatalf("batch = %v", got)
	}
}

func drain(w *Watcher) {
	for {
		select {
		case <-w.Changes():
		default:
			return
		}
	}
}

func TestIgnoreOption(t *testing.T) {
	var root string
	root, w := watchTree(t, Options{Quiet: 20 * time.Millisecond, Ignore: func(p string) bool {
		return strings.HasSuffix(p, "junit.xml")
	}})
	write(t, filepath.Join(root, "junit.xml"), "")
	write(t, filepath.Join(root, "b.py"), "")
	if got := next(t, w); !reflect.DeepEqual(got, []string{"b.py"}) {
		t.Fatalf("batch = %v", got)
	}
}

func TestParseKeys(t *testing.T) {
	for b, want := range map[byte]Key{'a': KeyAll, 'A': KeyAll, 'f': KeyFailed, 'q': KeyQuit, 0x04: KeyQuit} {
		if k, ok := ParseKey(b); !ok || k != want {
			t.Errorf("ParseKey(%q) = %v, %v", b, k, ok)
		}
	}
	if _, ok := ParseKey('x'); ok {
		t.Error("x is a key")
	}
	keys := make(chan Key, 10)
	ReadKeys(strings.NewReader("a\n\nnonsense\nf\r\nquit\n"), false, keys, nil)
	close(keys)
	var got []Key
	for k := range keys {
		got = append(got, k)
	}
	if want := []Key{KeyAll, KeyFailed, KeyQuit}; !reflect.DeepEqual(got, want) {
		t.Fatalf("line keys = %v, want %v", got, want)
	}
	keys = make(chan Key, 10)
	ReadKeys(strings.NewReader("xafq"), true, keys, nil)
	close(keys)
	got = nil
	for k := range keys {
		got = append(got, k)
	}
	if want := []Key{KeyAll, KeyFailed, KeyQuit}; !reflect.DeepEqual(got, want) {
		t.Fatalf("raw keys = %v, want %v", got, want)
	}
}

func TestParseOutput(t *testing.T) {
	out := "============================= test session starts ==============================\n" +
		"collected 4 items\n\n" +
		"test_a.py .F.F                                                            [100%]\n\n" +
		"=================================== FAILURES ===================================\n" +
		"___ test_x ___\n    assert 1 == 2\n" +
		"=========================== short test summary info ============================\n" +
		"FAILED test_a.py::test_x - assert 1 == 2\n" +
		"\x1b[31mFAILED\x1b[0m test_a.py::test_y - AssertionError: no\n" +
		"=================== 2 failed, 2 passed, 3 deselected in 0.61s ===================\n"
	line, failures := ParseOutput(out)
	if line != "2 failed, 2 passed, 3 deselected in 0.61s" {
		t.Errorf("line = %q", line)
	}
	want := []string{"FAILED test_a.py::test_x - assert 1 == 2", "FAILED test_a.py::test_y - AssertionError: no"}
	if !reflect.DeepEqual(failures, want) {
		t.Errorf("failures = %q", failures)
	}
	if line, failures := ParseOutput("..\n3 passed in 0.1s\n"); line != "3 passed in 0.1s" || failures != nil {
		t.Errorf("-q output: %q %q", line, failures)
	}
}

func TestSummaryFits(t *testing.T) {
	r := Round{N: 3, Files: []string{"a.py", "b.py", "c.py", "d.py", "e.py"}, Line: "30 failed in 1s", Dir: "/src"}
	for i := 0; i < 30; i++ {
		r.Failures = append(r.Failures, "FAILED test_a.py::test_"+strings.Repeat("x", i))
	}
	if h := r.Header(); h != "herd watch: round 3 (changed: a.py, b.py, c.py and 2 more)" {
		t.Errorf("header = %q", h)
	}
	for _, height := range []int{1, 2, 3, 4, 10, 24, 40} {
		lines := r.Lines(20, height)
		if len(lines) > height {
			t.Errorf("height %d: %d lines", height, len(lines))
		}
		for _, l := range lines {
			if n := len([]rune(l)); n > 20 {
				t.Errorf("line %q is %d wide", l, n)
			}
		}
	}
	lines := r.Lines(0, 10)
	if len(lines) != 10 || lines[8] != "and 24 more" || lines[9] != r.Footer() || lines[1] != r.Line {
		t.Errorf("10 lines: %q", lines)
	}
	if lines := r.Lines(0, 0); len(lines) != 33 {
		t.Errorf("no limit: %d lines", len(lines))
	}
}

// TestTransientFileLeftOut: a save through a temporary file renamed over
// the target (sed -i, many editors) reports the target only.
func TestTransientFileLeftOut(t *testing.T) {
	root, w := watchTree(t, Options{Quiet: 50 * time.Millisecond})
	target := filepath.Join(root, "pkg", "calc.py")
	write(t, target, "x = 1\n")
	if got := next(t, w); !reflect.DeepEqual(got, []string{"pkg/calc.py"}) {
		t.Fatalf("first batch = %v", got)
	}
	tmp := filepath.Join(root, "pkg", "sedAbc123")
	write(t, tmp, "x = 2\n")
	if err := os.Rename(tmp, target); err != nil {
		t.Fatal(err)
	}
	if got := next(t, w); !reflect.DeepEqual(got, []string{"pkg/calc.py"}) {
		t.Fatalf("batch = %v, want only the target", got)
	}
	// A file removed is a change.
	os.Remove(target)
	if got := next(t, w); !reflect.DeepEqual(got, []string{"pkg/calc.py"}) {
		t.Fatalf("removal batch = %v", got)
	}
}
