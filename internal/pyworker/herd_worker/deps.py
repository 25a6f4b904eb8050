"""Record what each test depends on (HERD_DEPS), for herd to know which
tests an edit can change.

While recording is on, each test's window (setup, call and teardown) keeps
a bucket of what ran and what was read: the code objects of project files
that started (a tracer) and the files opened (an audit hook on "open").
At the test's end the bucket becomes keys, a file relative to the rootdir
and a part of it (see fingerprint.py):

1. the part of every project function whose code ran, "<module>" for module
   and class bodies, the enclosing function's part for lambdas and
   comprehensions;
2. "<module>" of every project Python file in the static import closure of
   the test's file, of the files of (1) and of the conftest.py files above
   the test;
3. every project file the test opened for reading and not for writing, the
   whole file ("") or "<module>" for a Python file;
4. the part of every fixture function in the test's closure, and what ran
   and was read while a fixture of wider scope than the function was set
   up, whichever test set it up;
5. the files read while the test's module was collected.

Each file's fingerprint goes to the controller once per process, before
the first deps message that names it.

The tracer is sys.monitoring (Python 3.12 and newer): a PY_START event per
code object, disabled once seen and restarted at each test's start, so a
test costs one callback per distinct code object. Older interpreters use a
global sys.settrace function that returns None (no line events), or
sys.setprofile when a trace function is already set (coverage, a debugger).
Threads are covered; subprocesses are not. With HERD_DEPS off nothing is
installed: no tracer, no audit hook.
"""

import os
import sys
import threading

import pytest

from . import fingerprint as fpmod

MODULE = fpmod.MODULE

# Directories whose files are never a test's dependencies.
_SKIP_DIRS = frozenset((".pytest_cache", "__pycache__", ".git", ".hg", ".svn", "site-packages", "dist-packages", ".tox", ".nox"))

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def tracer_kind(value=None):
    """The tracer HERD_DEPS (or value) asks for on this interpreter:
    "monitoring", "settrace", or None to record nothing."""
    if value is None:
        value = os.environ.get("HERD_DEPS", "")
    has_monitoring = sys.version_info >= (3, 12) and hasattr(sys, "monitoring")
    if value == "1":
        return "monitoring" if has_monitoring else "settrace"
    if value == "auto" and has_monitoring:
        return "monitoring"
    return None


class Bucket:
    """What ran (code objects) and what was opened during one window."""

    __slots__ = ("codes", "reads", "writes")

    def __init__(self):
        self.codes = set()
        self.reads = set()
        self.writes = set()


class Recorder:
    """The dependency recorder of one worker process: its tracer, its audit
    hook and the pytest hooks that open and close its windows. It is
    registered as a pytest plugin once the rootdir is known."""

    def __init__(self, channel, kind, auto=False):
        self.ch = channel
        self.kind = kind
        # Under "auto" only sys.monitoring will do: without a free tool
        # id nothing is recorded.
        self.auto = auto
        self.off = False
        self.root = None
        # The buckets being filled: a test's, a fixture's being set up, a
        # module's being collected. Empty means not recording: the hooks
        # return at once.
        self.active = []
        self.test = None
        self.fixture_buckets = {}
        self.module_buckets = {}
        self.installed = False
        self.tool = None
        # The trace function, when that is the tracer: it is set in the
        # main thread only while a test runs.
        self.trace = None
        here = os.path.dirname(os.path.abspath(__file__))
        # herd's own files (the install directory) are never dependencies.
        self.herd_dir = os.path.dirname(here) + os.sep
        self.rel_cache = {}
        self.venv_dirs = {}
        self.code_keys = {}
        self.fps = {}
        self.names = {}
        self.closures = {}
        self.roots_key = None
        self.conftests = {}
        self.sent = set()
        sys.addaudithook(self._audit)

    # -- the hooks that see code and opens --------------------------------

    def _audit(self, event, args):
        # Called for every audit event of the process: the flag first,
        # the event's name second.
        if not self.active or event != "open":
            return
        try:
            path, mode, flags = args[0], args[1], args[2]
            if isinstance(path, int):
                return
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            else:
                path = os.fspath(path)
            write = False
            if mode is not None and isinstance(mode, str):
                write = any(c in mode for c in "wax+")
            if not write and isinstance(flags, int):
                write = bool(flags & _WRITE_FLAGS)
            path = os.path.abspath(path)
            for b in self.active:
                (b.writes if write else b.reads).add(path)
        except Exception:
            pass

    def _callbacks(self):
        """The tracer's callbacks, closures over the recorder's state so
        that a call costs as little as it can: a monitoring callback, a
        trace function and a profile function."""
        rec = self
        rel_cache = self.rel_cache
        classify = self._classify
        disable = getattr(getattr(sys, "monitoring", None), "DISABLE", None)

        def note(code):
            rel = rel_cache.get(code.co_filename)
            if rel is None:
                rel = classify(code.co_filename)
            if rel:
                for b in rec.active:
                    b.codes.add(code)

        def monitor(code, offset):
            if rec.active:
                note(code)
            return disable

        def trace(frame, event, arg):
            if rec.active:
                note(frame.f_code)

        def profile(frame, event, arg):
            if event == "call" and rec.active:
                note(frame.f_code)

        return monitor, trace, profile

    def install(self):
        """Install the tracer (once, at the first test)."""
        if self.installed:
            return
        self.installed = True
        monitor, trace, profile = self._callbacks()
        if self.kind == "monitoring":
            mon = sys.monitoring
            # The ids CPython leaves unassigned (0 is debuggers', 1
            # coverage's, 2 profilers', 5 optimizers').
            for tool in (4, 3):
                if mon.get_tool(tool) is None:
                    mon.use_tool_id(tool, "herd")
                    self.tool = tool
                    break
            if self.tool is not None:
                mon.register_callback(self.tool, mon.events.PY_START, monitor)
                mon.set_events(self.tool, mon.events.PY_START)
                return
            if self.auto:
                self.off = True
                return
            # Both tool ids are taken: fall back to a trace function.
        if sys.gettrace() is None:
            threading.settrace(trace)
            self.trace = trace
        else:
            # A trace function is set (coverage, a debugger): leave it be.
            threading.setprofile(profile)
            sys.setprofile(profile)

    # -- windows -------------------------------------------------------------

    def begin(self):
        """Open a test's window: what runs and is read from now on is the
        test's."""
        self.install()
        if self.off:
            return
        self.test = Bucket()
        self.active = [self.test]
        if self.tool is not None:
            sys.monitoring.restart_events()
        elif self.trace is not None and sys.gettrace() is None:
            sys.settrace(self.trace)

    def end(self):
        """Close the test's window."""
        self.active = []
        if self.trace is not None and sys.gettrace() is self.trace:
            # Between tests (the run loop, the keys' computation) no call
            # pays for the trace function.
            sys.settrace(None)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        if not self.active or self.test is None or fixturedef.scope == "function":
            yield
            return
        # A fixture of wider scope: what its setup runs and reads counts
        # for every test that uses it, not only this one.
        bucket = Bucket()
        self.active = self.active + [bucket]
        if self.tool is not None:
            # Code this test already ran must be seen again.
            sys.monitoring.restart_events()
        try:
            yield
        finally:
            self.active = [b for b in self.active if b is not bucket]
            self.fixture_buckets[fixturedef] = bucket

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector):
        module = collector if isinstance(collector, pytest.Module) else collector.getparent(pytest.Module)
        if module is None or self.root is None:
            yield
            return
        # What a module's collection reads (data that parametrizes its
        # tests) counts for each of its tests.
        bucket = self.module_buckets.get(module)
        if bucket is None:
            bucket = self.module_buckets[module] = Bucket()
        saved = self.active
        self.active = saved + [bucket]
        try:
            yield
        finally:
            self.active = saved

    # -- files ---------------------------------------------------------------

    def _classify(self, path):
        """path's name relative to the rootdir with slashes, when it is a
        project file, else "" (cached)."""
        rel = self.rel_cache.get(path)
        if rel is None:
            rel = self._rel(path)
            self.rel_cache[path] = rel
        return rel

    def _rel(self, path):
        root = self.root
        if root is None or not path or path[0] == "<":
            return ""
        ab = os.path.abspath(path)
        if not ab.startswith(root):
            ab = os.path.realpath(ab)
            if not ab.startswith(root):
                return ""
        if ab.startswith(self.herd_dir) or not os.path.isfile(ab):
            return ""
        rel = ab[len(root) :]
        if os.sep != "/":
            rel = rel.replace(os.sep, "/")
        comps = rel.split("/")
        d = root[:-1]
        for c in comps[:-1]:
            if c in _SKIP_DIRS:
                return ""
            d = os.path.join(d, c)
            venv = self.venv_dirs.get(d)
            if venv is None:
                venv = self.venv_dirs[d] = os.path.isfile(os.path.join(d, "pyvenv.cfg"))
            if venv:
                return ""
        return rel

    def _abs(self, rel):
        return os.path.join(self.root, *rel.split("/"))

    def _fp(self, rel):
        """rel's fingerprint, computed once per process; its imports are
        noted beside it."""
        fp = self.fps.get(rel)
        if fp is not None:
            return fp
        try:
            with open(self._abs(rel), "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        fp = fpmod.fingerprint(rel, data)
        if rel.endswith(".py"):
            tree = fpmod.parse(rel, data)
            self.names[rel] = fpmod.import_names(tree, self._abs(rel)) if tree is not None else []
        self.fps[rel] = fp
        return fp

    def _keys_of_code(self, code):
        """The keys one code object stands for (cached)."""
        keys = self.code_keys.get(code)
        if keys is not None:
            return keys
        rel = self._classify(code.co_filename)
        if not rel:
            keys = ()
        elif not rel.endswith(".py"):
            keys = ((rel, ""),)
        else:
            parts = self._fp(rel).get("parts")
            if not parts:
                keys = ((rel, ""),)
            elif code.co_name == "<module>":
                keys = ((rel, MODULE),)
            else:
                qual = getattr(code, "co_qualname", None)
                if qual is not None:
                    keys = ((rel, fpmod.part_of(qual, parts)),)
                else:
                    # No qualified names before Python 3.11: every part
                    # of that name.
                    name = code.co_name
                    found = [q for q in parts if q.rsplit(".", 1)[-1] == name]
                    keys = tuple((rel, q) for q in found) or ((rel, MODULE),)
        self.code_keys[code] = keys
        return keys

    def _roots(self):
        """The import roots inside the rootdir: sys.path's entries there,
        the rootdir and its src/."""
        root = self.root
        out = []
        for p in sys.path:
            if not isinstance(p, str):
                continue
            ab = os.path.abspath(p) + os.sep
            if ab.startswith(root) and ab not in out:
                out.append(ab)
        for extra in (root, os.path.join(root, "src") + os.sep):
            if extra not in out:
                out.append(extra)
        return tuple(o[:-1] for o in out)

    def _closure(self, rel, roots):
        """The project Python files rel imports, directly or not, rel
        included (cached per file while the roots stay the same)."""
        got = self.closures.get(rel)
        if got is not None:
            return got
        seen = {rel}
        todo = [rel]
        while todo:
            cur = todo.pop()
            done = self.closures.get(cur)
            if done is not None and cur != rel:
                seen.update(done)
                continue
            self._fp(cur)
            for base, dotted in self.names.get(cur, ()):
                for path in fpmod.resolve(base, dotted, roots):
                    r = self._classify(path)
                    if r and r.endswith(".py") and r not in seen:
                        seen.add(r)
                        todo.append(r)
        got = frozenset(seen)
        self.closures[rel] = got
        return got

    def _conftests(self, rel):
        """The conftest.py files above rel, in the rootdir."""
        d = rel.rsplit("/", 1)[0] if "/" in rel else ""
        got = self.conftests.get(d)
        if got is None:
            out = []
            cur = d
            while True:
                name = cur + "/conftest.py" if cur else "conftest.py"
                if os.path.isfile(self._abs(name)):
                    out.append(name)
                if not cur:
                    break
                cur = cur.rsplit("/", 1)[0] if "/" in cur else ""
            got = self.conftests[d] = tuple(out)
        return got

    # -- a test's keys ---------------------------------------------------------

    def _fixture_codes(self, item):
        """The fixture definitions of item's closure."""
        info = getattr(item, "_fixtureinfo", None)
        name2defs = getattr(info, "name2fixturedefs", None) or {}
        for name in getattr(item, "fixturenames", ()):
            for fd in name2defs.get(name, ()) or ():
                yield fd

    def keys(self, item):
        """The sorted keys of the test item, whose window just closed."""
        test = self.test or Bucket()
        for _ in range(10):
            try:
                # A thread the test left running may still add to them.
                codes = set(test.codes)
                reads = set(test.reads)
                writes = set(test.writes)
                break
            except RuntimeError:
                continue
        else:
            codes, reads, writes = set(), set(), set()
        files = set()
        for fd in self._fixture_codes(item):
            func = getattr(fd, "func", None)
            for _ in range(20):
                inner = getattr(func, "__wrapped__", None) or getattr(func, "__func__", None)
                if inner is None:
                    break
                func = inner
            code = getattr(func, "__code__", None)
            if code is not None:
                codes.add(code)
            bucket = self.fixture_buckets.get(fd)
            if bucket is not None:
                codes |= bucket.codes
                reads |= bucket.reads
                writes |= bucket.writes
        module = item.getparent(pytest.Module)
        mb = self.module_buckets.get(module) if module is not None else None
        if mb is not None:
            reads |= mb.reads
            writes |= mb.writes
        out = set()
        for code in codes:
            for key in self._keys_of_code(code):
                out.add(key)
                files.add(key[0])
        for path in reads - writes:
            rel = self._classify(path)
            if rel:
                out.add((rel, MODULE if rel.endswith(".py") else ""))
        own = self._classify(str(getattr(item, "path", "") or getattr(item, "fspath", "")))
        if own:
            files.add(own)
            files.update(self._conftests(own))
        roots = self._roots()
        if roots != self.roots_key:
            self.roots_key = roots
            self.closures = {}
        for rel in list(files):
            if rel.endswith(".py"):
                for r in self._closure(rel, roots):
                    out.add((r, MODULE))
        return sorted(out)

    def post(self, nodeid, item):
        """Queue the test's deps message, after the fingerprints of the
        files it names that were not sent yet."""
        if self.off:
            return
        keys = self.keys(item)
        self.test = None
        ch = self.ch
        for rel in sorted({k[0] for k in keys}):
            if rel not in self.sent:
                self.sent.add(rel)
                ch.post({"t": "fp", "fp": self._fp(rel)})
        ch.post({"t": "deps", "id": nodeid, "keys": [{"p": p, "q": q} if q else {"p": p} for p, q in keys]})

    def configure(self, config):
        """Learn the rootdir and take part in pytest's hooks."""
        self.root = os.path.realpath(str(config.rootpath)) + os.sep
        config.pluginmanager.register(self, "herd_deps")


def recorder(channel):
    """The process's Recorder when HERD_DEPS asks for one on this
    interpreter, else None (and nothing installed)."""
    value = os.environ.pop("HERD_DEPS", "")
    kind = tracer_kind(value)
    if kind is None or not hasattr(sys, "addaudithook"):
        return None
    return Recorder(channel, kind, auto=value == "auto")
