package affected

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/herd-run/herd/internal/protocol"
)

// Fingerprinter gives the fingerprints of Python files (protocol
// Fingerprint, Parts included) as the worker's recorder makes them:
// Current those of the files under root now, Of those of the given
// contents, by path.
type Fingerprinter interface {
	Current(ctx context.Context, root string, paths []string) (map[string]protocol.Fingerprint, error)
	Of(ctx context.Context, root string, contents map[string][]byte) (map[string]protocol.Fingerprint, error)
}

// Git answers what changed in the working tree under root since a
// revision, and what a file held at a revision.
type Git interface {
	// Changed lists the files (relative to root, forward slashes) that
	// differ between rev and the working tree, untracked ones included.
	Changed(ctx context.Context, root, rev string) ([]string, error)
	// Show returns the content of path (relative to root) at rev;
	// fs.ErrNotExist when it did not exist there.
	Show(ctx context.Context, root, rev, path string) ([]byte, error)
}

// Input is what Select needs.
type Input struct {
	Store *Store
	// Root is the rootdir: every path is relative to it.
	Root string
	// Rev is the revision the changes are taken since; "" means HEAD,
	// where there is a git repository (then the uncommitted changes
	// count), and no revision at all where there is none.
	Rev string
	// RevGiven says Rev came from the user: without a git repository
	// that is an error, not a quiet fallback.
	RevGiven bool
	Tests    []protocol.TestInfo
	Git      Git
	FP       Fingerprinter
	// Python and Pytest are the versions that run the tests now.
	Python, Pytest string
	// Env maps the files no record can map to their SHA-256 now (see
	// EnvFiles).
	Env map[string]string
}

// Selection is Select's answer.
type Selection struct {
	// Keep says which of Input.Tests run.
	Keep []bool
	// All says every test runs, because of Why.
	All bool
	Why string
	// Changed are the files that changed since Rev, and those whose
	// change since their record chose a test, sorted.
	Changed []string
	// Rev is the revision the changes were taken since; "" when there
	// was no git repository (or no commit), and only the records count.
	Rev string
	// Reasons says, for each test that runs, why: "new", "failed last
	// time", "test file changed", "depends on PATH (PART)".
	Reasons map[string]string
}

// Kept counts the tests that run.
func (s Selection) Kept() int {
	n := 0
	for _, k := range s.Keep {
		if k {
			n++
		}
	}
	return n
}

// failing are the outcomes that make a test run again whatever changed.
var failing = map[string]bool{"failed": true, "error": true, "crashed": true, "timeout": true}

// Select chooses the tests in in.Tests that a change can break. An error
// is herd's own (git or the fingerprinter broke, a revision that does not
// exist); a change it cannot map is not an error but a Selection with All.
func Select(ctx context.Context, in Input) (Selection, error) {
	sel := Selection{Keep: make([]bool, len(in.Tests)), Reasons: map[string]string{}}
	all := func(why string) (Selection, error) {
		sel.All, sel.Why = true, why
		for i := range sel.Keep {
			sel.Keep[i] = true
		}
		return sel, nil
	}
	rev := in.Rev
	var gitChanged []string
	if in.Git != nil {
		r := rev
		if r == "" {
			r = "HEAD"
		}
		changed, err := in.Git.Changed(ctx, in.Root, r)
		switch {
		case err == nil:
			gitChanged, rev = changed, r
			sel.Rev = r
		case in.RevGiven:
			return sel, err
		default:
			rev = "" // not a repository, or no commit yet: records only
		}
	}
	if in.Store == nil {
		sel.Changed = gitChanged
		return all("no dependency records yet (this run records them)")
	}
	if in.Store.Python != "" && in.Python != "" && in.Store.Python != in.Python {
		return all(fmt.Sprintf("the records were made with Python %s, this is %s", in.Store.Python, in.Python))
	}
	if in.Store.Pytest != "" && in.Pytest != "" && in.Store.Pytest != in.Pytest {
		return all(fmt.Sprintf("the records were made with pytest %s, this is %s", in.Store.Pytest, in.Pytest))
	}
	for _, f := range gitChanged {
		if IsEnvFile(f) {
			sel.Changed = gitChanged
			return all(f + " changed")
		}
	}
	if f := envDiff(in.Store.Env, in.Env); f != "" {
		sel.Changed = gitChanged
		return all(f + " changed")
	}

	// The files' content now, then, for the Python files that changed,
	// their parts now and at rev.
	shas := map[string]string{}
	shaOf := func(p string) string {
		if s, ok := shas[p]; ok {
			return s
		}
		s := fileSHA(filepath.Join(in.Root, filepath.FromSlash(p)))
		shas[p] = s
		return s
	}
	inGit := map[string]bool{}
	for _, f := range gitChanged {
		inGit[f] = true
	}
	changed := map[string]bool{}
	var needNow []string
	needNowSet := map[string]bool{}
	// Only the entries of the tests collected now count: records of
	// tests since removed may name files since removed.
	used := map[int]bool{}
	for _, t := range in.Tests {
		for _, d := range in.Store.Tests[t.ID].Deps {
			used[d] = true
		}
	}
	order := make([]int, 0, len(used))
	for d := range used {
		order = append(order, d)
	}
	sort.Slice(order, func(a, b int) bool { return entryLess(in.Store.Entries[order[a]], in.Store.Entries[order[b]]) })
	for _, d := range order {
		e := in.Store.Entries[d]
		now := shaOf(e.Path)
		if now == "" && e.FileSHA != "" && e.FileSHA != "?" {
			sel.Changed = sortedKeys(changed)
			return all(e.Path + ", which tests depend on, was deleted")
		}
		if now != e.FileSHA || inGit[e.Path] {
			if now != e.FileSHA {
				changed[e.Path] = true
			}
			if e.Part != "" && !needNowSet[e.Path] && now != "" {
				needNowSet[e.Path] = true
				needNow = append(needNow, e.Path)
			}
		}
	}
	for _, f := range gitChanged {
		changed[f] = true
	}
	sort.Strings(needNow)
	var nowFP, revFP map[string]protocol.Fingerprint
	if len(needNow) > 0 {
		var err error
		if nowFP, err = in.FP.Current(ctx, in.Root, needNow); err != nil {
			return sel, err
		}
		revContents := map[string][]byte{}
		for _, p := range needNow {
			if !inGit[p] {
				continue
			}
			data, err := in.Git.Show(ctx, in.Root, rev, p)
			if errors.Is(err, fs.ErrNotExist) {
				continue // new since rev: every part of it is new
			}
			if err != nil {
				return sel, err
			}
			revContents[p] = data
		}
		if len(revContents) > 0 {
			if revFP, err = in.FP.Of(ctx, in.Root, revContents); err != nil {
				return sel, err
			}
		}
	}
	// entryChanged says whether the part e names differs now from what
	// the test saw, or from what it was at rev.
	entryChanged := func(e Entry) bool {
		now := shaOf(e.Path)
		if e.Part == "" {
			if now != e.FileSHA {
				return true
			}
			return inGit[e.Path] && !sameAtRev(ctx, in, rev, e.Path, now)
		}
		if now == e.FileSHA && !inGit[e.Path] {
			return false
		}
		fp, ok := nowFP[e.Path]
		if !ok || fp.Parts == nil {
			return now != e.FileSHA || inGit[e.Path]
		}
		cur, ok := fp.Parts[e.Part]
		if !ok || (now != e.FileSHA && cur != e.Hash) {
			return true
		}
		if inGit[e.Path] {
			old, ok := revFP[e.Path]
			if !ok || old.Parts == nil {
				return true // new since rev, or it did not parse there
			}
			return old.Parts[e.Part] != cur
		}
		return false
	}
	entryMemo := make([]int8, len(in.Store.Entries)) // 0 unknown, 1 same, 2 changed
	// shown are the files the header names: those changed since rev, and
	// those whose change chose a test. A file that changed since some
	// test's record, in a part no test depends on, is not news.
	shown := map[string]bool{}
	for _, f := range gitChanged {
		shown[f] = true
	}
	for i, t := range in.Tests {
		rec, ok := in.Store.Tests[t.ID]
		file, _, _ := strings.Cut(t.ID, "::")
		switch {
		case !ok:
			sel.Keep[i], sel.Reasons[t.ID] = true, "new"
			continue
		case failing[rec.Outcome]:
			sel.Keep[i], sel.Reasons[t.ID] = true, rec.Outcome+" last time"
			continue
		case changed[file]:
			sel.Keep[i], sel.Reasons[t.ID] = true, "test file changed"
			shown[file] = true
			continue
		}
		for _, d := range rec.Deps {
			if entryMemo[d] == 0 {
				entryMemo[d] = 1
				if entryChanged(in.Store.Entries[d]) {
					entryMemo[d] = 2
				}
			}
			if entryMemo[d] == 2 {
				e := in.Store.Entries[d]
				shown[e.Path] = true
				sel.Keep[i] = true
				if e.Part == "" {
					sel.Reasons[t.ID] = "depends on " + e.Path
				} else {
					sel.Reasons[t.ID] = "depends on " + e.Path + " (" + e.Part + ")"
				}
				break
			}
		}
	}
	sel.Changed = sortedKeys(shown)
	return sel, nil
}

// sameAtRev says whether path held content with SHA-256 sha at rev.
func sameAtRev(ctx context.Context, in Input, rev, p, sha string) bool {
	if in.Git == nil || rev == "" {
		return true
	}
	data, err := in.Git.Show(ctx, in.Root, rev, p)
	if err != nil {
		return false
	}
	return hashHex(data) == sha
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fileSHA is the hex SHA-256 of the file at p, or "" when it cannot be
// read (it does not exist, or is a directory).
func fileSHA(p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return hashHex(data)
}

func hashHex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// envDiff names one file that differs between the environment the store
// was made in and now, or "".
func envDiff(then, now map[string]string) string {
	var diff []string
	for f, s := range then {
		if now[f] != s {
			diff = append(diff, f)
		}
	}
	for f := range now {
		if _, ok := then[f]; !ok {
			diff = append(diff, f)
		}
	}
	if len(diff) == 0 {
		return ""
	}
	sort.Strings(diff)
	return diff[0]
}

// IsEnvFile says whether a change to the file at p (relative, forward
// slashes) is one no record can map, and so runs every test: pytest's
// and the project's configuration, conftest.py files, requirements.
func IsEnvFile(p string) bool {
	base := path.Base(p)
	switch base {
	case "conftest.py", "pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "setup.py", "herd.toml",
		"Pipfile", "Pipfile.lock", "poetry.lock", "uv.lock":
		return true
	}
	if strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt") {
		return true
	}
	return strings.HasPrefix(p, "requirements/") && strings.HasSuffix(base, ".txt")
}

// skipDir says whether EnvFiles leaves a directory out: version control,
// caches, virtual environments, dependencies.
func skipDir(dir string, name string) bool {
	if strings.HasPrefix(name, ".") || name == "__pycache__" || name == "node_modules" {
		return true
	}
	_, err := os.Stat(filepath.Join(dir, "pyvenv.cfg"))
	return err == nil
}

// EnvFiles maps the files under root that IsEnvFile names to their
// SHA-256.
func EnvFiles(root string) map[string]string {
	out := map[string]string{}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != root && skipDir(p, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if IsEnvFile(rel) {
			if s := fileSHA(p); s != "" {
				out[rel] = s
			}
		}
		return nil
	})
	return out
}
