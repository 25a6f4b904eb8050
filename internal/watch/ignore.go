// Package watch holds the parts of herd watch that need no Python: the
// file watcher (recursive, with ignore rules and a debounce), the key
// reader, and the one-screen round summary.
package watch

import (
	"os"
	"path/filepath"
	"strings"
)

// ignoredDirName reports whether a directory of that name is never
// watched: version control, caches that pytest, Python and tools write
// during a round, and installed packages.
func ignoredDirName(name string) bool {
	switch name {
	case ".git", ".hg", ".svn", ".pytest_cache", "__pycache__", ".mypy_cache",
		".ruff_cache", ".tox", ".nox", "node_modules":
		return true
	}
	return false
}

// IgnoredDir reports whether the directory at path, named name, is left
// unwatched: a name in the ignore list, a hidden directory, or a virtual
// environment (a directory holding pyvenv.cfg).
func IgnoredDir(path, name string) bool {
	if ignoredDirName(name) || (strings.HasPrefix(name, ".") && name != "." && name != "..") {
		return true
	}
	_, err := os.Stat(filepath.Join(path, "pyvenv.cfg"))
	return err == nil
}

// IgnoredFile reports whether a change to the file named name starts no
// round: compiled Python, hidden files (.coverage that pytest-cov writes
// during a round, among others), and editors' temporary files (vim's
// *.swp, *.swx, *.swo and its 4913 write test, emacs' .#lock and
// #autosave#, backups ending in ~).
func IgnoredFile(name string) bool {
	switch {
	case name == "" || name == "4913":
		return true
	case strings.HasPrefix(name, "."), strings.HasSuffix(name, "~"):
		return true
	case strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"):
		return true
	}
	switch filepath.Ext(name) {
	case ".pyc", ".pyo", ".swp", ".swx", ".swo", ".tmp":
		return true
	}
	return false
}
