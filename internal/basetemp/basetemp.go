// Package basetemp makes a run's base temporary directory the way
// pytest-xdist's controller does: one numbered directory per run under
// pytest's root (<temproot>/pytest-of-<user>/pytest-N), in which each worker
// gets its own (popen-gw0, popen-gw1, ...), and pytest's cleanup of older
// numbered directories done once, when the run is over.
//
// Without it every worker makes a numbered directory of its own, and at exit
// each worker deletes the older ones, its sibling's included once that
// sibling has exited: the last worker of a run then spends its session end
// deleting the whole tree of temporary files another worker made, while
// herd waits for it.
package basetemp

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Prefix is the name of pytest's numbered directories, before the number.
const Prefix = "pytest-"

// Keep is how many numbered directories the cleanup keeps: pytest's own
// number (fixed at 3 in pytest 7.2; the default of tmp_path_retention_count
// in later versions).
const Keep = 3

// lockTimeout is pytest's LOCK_TIMEOUT: a lock file older than three days
// belongs to a process that died without removing it, so its directory may
// go.
const lockTimeout = 3 * 24 * time.Hour

// Dir is a run's numbered base temporary directory, locked while the run
// goes on.
type Dir struct {
	// Root is pytest's root (<temproot>/pytest-of-<user>), Path the run's
	// numbered directory in it.
	Root, Path string
	lock       string
	created    time.Time
}

// Create makes the run's numbered directory under pytest's root, found as
// pytest finds it: $PYTEST_DEBUG_TEMPROOT, else the first of $TMPDIR, $TEMP,
// $TMP, /tmp; then pytest-of-<user>. getenv reads the environment.
func Create(getenv func(string) string) (*Dir, error) {
	temproot := getenv("PYTEST_DEBUG_TEMPROOT")
	if temproot == "" {
		temproot = tempDir(getenv)
	}
	if r, err := filepath.EvalSymlinks(temproot); err == nil {
		temproot = r
	}
	temproot, _ = filepath.Abs(temproot)
	root := filepath.Join(temproot, "pytest-of-"+userName(getenv))
	if err := os.Mkdir(root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		root = filepath.Join(temproot, "pytest-of-unknown")
		if err := os.Mkdir(root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("base temporary directory: %w", err)
		}
	}
	// As pytest does: the root has a predictable name in a shared
	// directory, so it must be ours, and private.
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("base temporary directory: %w", err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if int(sys.Uid) != os.Getuid() {
			return nil, fmt.Errorf("base temporary directory: %s is not owned by the current user", root)
		}
		if st.Mode().Perm()&0o077 != 0 {
			os.Chmod(root, st.Mode().Perm()&^0o077)
		}
	}
	var last error
	for range 10 {
		path, err := makeNumbered(root)
		if err != nil {
			last = err
			continue
		}
		lock := filepath.Join(path, ".lock")
		if err := createLock(lock); err != nil {
			last = err
			continue
		}
		created := time.Now()
		if st, err := os.Stat(path); err == nil {
			created = st.ModTime()
		}
		return &Dir{Root: root, Path: path, lock: lock, created: created}, nil
	}
	return nil, fmt.Errorf("base temporary directory: %w", last)
}

// Close does what pytest does at the exit of the process that made a
// numbered directory: it deletes the numbered directories older than the
// Keep newest that no live run holds, and garbage left by deletions that
// were cut short, then releases d's lock. It returns the first error met
// releasing the lock; what it cannot delete it leaves, as pytest does.
func (d *Dir) Close() error {
	deadBefore := d.created.Add(-lockTimeout)
	maxNum := -1
	entries, _ := os.ReadDir(d.Root)
	for _, e := range entries {
		if n := number(e.Name()); n > maxNum {
			maxNum = n
		}
	}
	for _, e := range entries {
		n := number(e.Name())
		if n < 0 || n > maxNum-Keep {
			continue
		}
		tryCleanup(filepath.Join(d.Root, e.Name()), deadBefore)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "garbage-") {
			tryCleanup(filepath.Join(d.Root, e.Name()), deadBefore)
		}
	}
	if err := os.Remove(d.lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("base temporary directory: %w", err)
	}
	return nil
}

// number is the number of a numbered directory's name ("pytest-12" is
// 12), or -1 for any other name, as pytest's parse_num reads it.
func number(name string) int {
	if len(name) < len(Prefix) || !strings.EqualFold(name[:len(Prefix)], Prefix) {
		return -1
	}
	n, err := strconv.Atoi(name[len(Prefix):])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// makeNumbered creates the next numbered directory and points
// pytest-current at it.
func makeNumbered(root string) (string, error) {
	maxNum := -1
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if n := number(e.Name()); n > maxNum {
			maxNum = n
		}
	}
	path := filepath.Join(root, Prefix+strconv.Itoa(maxNum+1))
	if err := os.Mkdir(path, 0o700); err != nil {
		return "", err
	}
	current := filepath.Join(root, Prefix+"current")
	os.Remove(current)
	os.Symlink(path, current)
	return path, nil
}

// createLock creates the lock file pytest's cleanup honours, holding our
// pid.
func createLock(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(os.Getpid()))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tryCleanup deletes the numbered directory path unless a live process
// holds it: its lock file is there and younger than deadBefore allows.
func tryCleanup(path string, deadBefore time.Time) {
	if st, err := os.Lstat(path); err != nil || st.Mode()&fs.ModeSymlink != 0 || !st.IsDir() {
		return
	}
	lock := filepath.Join(path, ".lock")
	st, err := os.Stat(lock)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return
	case st.ModTime().Before(deadBefore):
		if os.Remove(lock) != nil {
			return
		}
	default:
		return
	}
	// Take the lock, then move the directory out of the numbered names at
	// once, as pytest does, so no other process starts on it too.
	if createLock(lock) != nil {
		return
	}
	garbage := filepath.Join(filepath.Dir(path), "garbage-"+randomID())
	if err := os.Rename(path, garbage); err != nil {
		os.Remove(lock)
		return
	}
	removeAll(garbage)
}

// removeAll deletes path like pytest's rm_rf: a directory it may not read
// or write is made writable and tried again.
func removeAll(path string) {
	if os.RemoveAll(path) == nil {
		return
	}
	filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if e != nil && e.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(path)
}

// tempDir is Python's tempfile.gettempdir() for the usual cases: the first
// of $TMPDIR, $TEMP, $TMP that is a directory, else /tmp.
func tempDir(getenv func(string) string) string {
	for _, k := range []string{"TMPDIR", "TEMP", "TMP"} {
		if v := getenv(k); v != "" {
			if st, err := os.Stat(v); err == nil && st.IsDir() {
				return v
			}
		}
	}
	return "/tmp"
}

// userName is Python's getpass.getuser(): $LOGNAME, $USER, $LNAME,
// $USERNAME, else the password database; "unknown" when none tells.
func userName(getenv func(string) string) string {
	for _, k := range []string{"LOGNAME", "USER", "LNAME", "USERNAME"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
