package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce is how long the tree must stay quiet after a change before the
// round starts: an editor's save writes a backup, the file and its swap
// in a few milliseconds, and a formatter run on save rewrites the file
// again within about 100 ms; 150 ms takes such a burst as one save and
// adds little to the time from save to result.
const Debounce = 150 * time.Millisecond

// MaxDelay bounds how long a stream of changes that never goes quiet (a
// build writing into the tree) holds the round back: two seconds is many
// saves' worth, and still short next to the wait for a result.
const MaxDelay = 2 * time.Second

// Options configure a Watcher.
type Options struct {
	// Quiet and Max are Debounce and MaxDelay when zero.
	Quiet, Max time.Duration
	// After is the clock (time.After when nil); tests pass their own.
	After func(time.Duration) <-chan time.Time
	// Ignore, when set, leaves out further files (by absolute path): the
	// run's own output files, which a round writes.
	Ignore func(path string) bool
}

// Watcher reports the files that changed under a directory tree, a burst
// of changes at a time. Directories created later are watched as they
// appear.
type Watcher struct {
	root    string
	opts    Options
	fsw     *fsnotify.Watcher
	changes chan []string
	errs    chan error
}

// New watches the tree at root (every directory but the ignored ones,
// see IgnoredDir) until ctx is done.
func New(ctx context.Context, root string, opts Options) (*Watcher, error) {
	if opts.Quiet == 0 {
		opts.Quiet = Debounce
	}
	if opts.Max == 0 {
		opts.Max = MaxDelay
	}
	if opts.After == nil {
		opts.After = time.After
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	w := &Watcher{root: root, opts: opts, fsw: fsw, changes: make(chan []string), errs: make(chan error, 1)}
	if err := w.addTree(root, nil); err != nil {
		fsw.Close()
		return nil, err
	}
	go w.loop(ctx)
	return w, nil
}

// Changes delivers each burst of changes: the changed files, relative to
// the root, sorted, each once. It is closed when the watcher stops.
func (w *Watcher) Changes() <-chan []string { return w.changes }

// Errors delivers the watcher's errors (a full event queue, a directory
// that could not be watched); the watcher goes on after them.
func (w *Watcher) Errors() <-chan error { return w.errs }

// addTree watches dir and every directory under it that is not ignored.
// Files already in a directory added after the watcher started (a tree
// moved in, a directory made and written at once) are changes too: they
// are added to seen, as created, when it is not nil.
func (w *Watcher) addTree(dir string, seen map[string]bool) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != dir {
				return nil
			}
			if path == dir {
				return fmt.Errorf("watch %s: %w", path, err)
			}
			return nil
		}
		if !d.IsDir() {
			if seen != nil && w.wanted(path) {
				seen[path] = true
			}
			return nil
		}
		if path != w.root && IgnoredDir(path, d.Name()) {
			return filepath.SkipDir
		}
		if err := w.fsw.Add(path); err != nil {
			if path == w.root {
				return fmt.Errorf("watch %s: %w", path, err)
			}
			w.report(fmt.Errorf("watch %s: %w", path, err))
		}
		return nil
	})
}

// wanted reports whether a change to the file at path starts a round.
func (w *Watcher) wanted(path string) bool {
	if IgnoredFile(filepath.Base(path)) {
		return false
	}
	return w.opts.Ignore == nil || !w.opts.Ignore(path)
}

func (w *Watcher) report(err error) {
	select {
	case w.errs <- err:
	default:
	}
}

// loop owns fsw and the pending burst; it ends when ctx is done.
func (w *Watcher) loop(ctx context.Context) {
	defer close(w.changes)
	defer w.fsw.Close()
	// pending maps each file changed in the burst to whether the burst
	// created it.
	pending := map[string]bool{}
	var quiet, max <-chan time.Time
	for {
		var out chan []string
		var batch []string
		select {
		case <-ctx.Done():
			return
		case err, ok := <-w.fsw.Errors:
			if ok {
				w.report(fmt.Errorf("watch %s: %w", w.root, err))
			}
			continue
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if !w.event(ev, pending) {
				continue
			}
			quiet = w.opts.After(w.opts.Quiet)
			if max == nil {
				max = w.opts.After(w.opts.Max)
			}
			continue
		case <-quiet:
		case <-max:
		}
		// Quiet (or too long): hand the burst over. Events that come
		// while nobody takes it join it.
		quiet, max = nil, nil
		batch = w.relative(pending)
		if len(batch) == 0 {
			pending = map[string]bool{}
			continue
		}
		out = w.changes
		for out != nil {
			select {
			case <-ctx.Done():
				return
			case out <- batch:
				out = nil
			case ev, ok := <-w.fsw.Events:
				if !ok {
					return
				}
				if w.event(ev, pending) {
					batch = w.relative(pending)
				}
			}
		}
		pending = map[string]bool{}
	}
}

// event records ev in pending and reports whether it is a change that
// starts a round. A directory created is watched, with what it holds.
func (w *Watcher) event(ev fsnotify.Event, pending map[string]bool) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	before := len(pending)
	if ev.Has(fsnotify.Create) {
		if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() {
			if IgnoredDir(ev.Name, filepath.Base(ev.Name)) {
				return false
			}
			if err := w.addTree(ev.Name, pending); err != nil {
				w.report(err)
			}
			return len(pending) > before
		}
	}
	if !w.wanted(ev.Name) || w.underIgnoredDir(ev.Name) {
		return false
	}
	if _, ok := pending[ev.Name]; !ok {
		pending[ev.Name] = ev.Has(fsnotify.Create)
	}
	return true
}

// underIgnoredDir reports whether path lies in a directory the watcher
// leaves out (an event for a file of a watched directory named, say,
// .git cannot come; this guards names of directories that became
// ignored after they were watched, such as a new venv).
func (w *Watcher) underIgnoredDir(path string) bool {
	dir := filepath.Dir(path)
	for dir != w.root && len(dir) > len(w.root) {
		if ignoredDirName(filepath.Base(dir)) {
			return true
		}
		dir = filepath.Dir(dir)
	}
	return false
}

// relative lists the files of a burst, relative to the root. A file the
// burst created that is gone again (an editor's or sed's temporary file,
// renamed over the file it saves) changed nothing and is left out.
func (w *Watcher) relative(pending map[string]bool) []string {
	out := make([]string, 0, len(pending))
	for p, created := range pending {
		if created {
			if _, err := os.Lstat(p); err != nil {
				continue
			}
		}
		if r, err := filepath.Rel(w.root, p); err == nil {
			p = r
		}
		out = append(out, filepath.ToSlash(p))
	}
	sort.Strings(out)
	return out
}
