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

The tracer is sys.monitoring (Python 3.12 and newer): a local PY_START
event on each code object of a project file, and on no other, so code
outside the project (pytest's, the libraries') never calls back. A code
object's event is disabled once seen and restarted at each test's start,
so a test costs one callback per distinct project code object it runs. The
events are set as the code comes into being: the audit hook's "exec" event
hands over each module's code object before its body runs (every import by
a standard loader, pytest's assertion rewriting, importlib.reload, exec of
a compiled file), and the events go on it and on every code object nested
in it (functions, methods, class bodies, lambdas, comprehensions), so a
project module imported inside a test records its "<module>" and what it
calls. Modules that were imported before the hook, or are in sys.modules
without having been exec'd, are found by comparing sys.modules at each
window's start and end: their functions, classes, methods, properties,
static and class methods and __wrapped__ chains get the events then, and
one that appeared during a window counts as a read of its file ("<module>")
for that window, since its body ran unseen. Code built otherwise (a code
object made by code.replace or types.CodeType and never exec'd) is not
seen. Older interpreters use a global sys.settrace function that returns
None (no line events), or sys.setprofile when a trace function is already
set (coverage, a debugger). Threads are covered; subprocesses are not.
With HERD_DEPS off nothing is installed: no tracer, no audit hook.
"""

import functools
import os
import sys
import threading
import types

import pytest

from . import fingerprint as fpmod

MODULE = fpmod.MODULE

# Directories whose files are never a test's dependencies.
_SKIP_DIRS = frozenset((".pytest_cache", "__pycache__", ".git", ".hg", ".svn", "site-packages", "dist-packages", ".tox", ".nox"))

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

# The dicts of a module, of a class, and a class's MRO, read by the
# descriptors of the built-in types: no subclass, metaclass or lazy module
# (apipkg's __dict__ property imports) runs code when they are read.
_module_dict = types.ModuleType.__dict__["__dict__"].__get__
_class_dict = type.__dict__["__dict__"].__get__
_class_mro = type.__dict__["__mro__"].__get__


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
        # sys.monitoring: the project code objects whose PY_START is on
        # (code objects compare equal by value: one equal to a watched one
        # but not it, from a module imported twice, gets its events too),
        # and the code objects exec'd before the tool and the rootdir were
        # known.
        self.watched = {}
        self.pending = [] if kind == "monitoring" else None
        # The modules of sys.modules already looked at, and its length then.
        self.mods_seen = {}
        self.nmods = -1
        self.monitor = self.trace_fn = self.profile_fn = None
        here = os.path.dirname(os.path.abspath(__file__))
        # herd's own files (the install directory) are never dependencies.
        self.herd_dir = os.path.dirname(here) + os.sep
        self.rel_cache = {}
        self.venv_dirs = {}
        self.real_dirs = {}
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
        # Called for every audit event of the process: the event's name
        # first.
        if event == "exec":
            if self.tool is not None or self.pending is not None:
                code = args[0] if args else None
                if type(code) is types.CodeType:
                    try:
                        if self.tool is not None:
                            self._watch(code)
                        elif self.pending is not None and not code.co_filename.startswith("<"):
                            self.pending.append(code)
                    except Exception:
                        # An audit hook's exception would fail the exec.
                        pass
            return
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

    # -- sys.monitoring: which code objects call back ---------------------------

    def _take_tool(self):
        """Take a sys.monitoring tool id (once the rootdir is known) and
        turn PY_START on for the project code seen so far."""
        if self.kind != "monitoring" or self.tool is not None or self.installed:
            return
        pending, self.pending = self.pending, None
        mon = sys.monitoring
        # The ids CPython leaves unassigned (0 is debuggers', 1
        # coverage's, 2 profilers', 5 optimizers').
        for tool in (4, 3):
            if mon.get_tool(tool) is None:
                mon.use_tool_id(tool, "herd")
                mon.register_callback(tool, mon.events.PY_START, self.monitor)
                self.tool = tool
                break
        else:
            return
        for code in pending or ():
            self._watch(code)
        self._scan()

    def _watch(self, code):
        """Turn PY_START on for code and the code objects nested in it, when
        it is a project file's."""
        rel = self.rel_cache.get(code.co_filename)
        if rel is None:
            rel = self._classify(code.co_filename)
        if not rel:
            return
        # Not id(): it is an audit event of its own.
        watched = self.watched
        if watched.get(code) is code:
            return
        mon = sys.monitoring
        tool, event = self.tool, mon.events.PY_START
        todo = [code]
        while todo:
            c = todo.pop()
            w = watched.get(c)
            if w is c:
                continue
            if w is None:
                watched[c] = c
            try:
                mon.set_local_events(tool, c, event)
            except Exception:
                pass
            for k in c.co_consts:
                if type(k) is types.CodeType:
                    todo.append(k)

    def _scan(self, buckets=None):
        """Look at the modules that came into sys.modules since the last
        look: turn PY_START on for their project code, and count a project
        module as read by buckets (those of the window that is closing),
        since its body may have run there unseen."""
        mods = sys.modules
        if len(mods) == self.nmods:
            return
        self.nmods = len(mods)
        seen = self.mods_seen
        try:
            items = list(mods.items())
        except RuntimeError:
            # Another thread imports: the next look will do.
            self.nmods = -1
            return
        for name, m in items:
            if seen.get(name) is m:
                continue
            seen[name] = m
            if not issubclass(type(m), types.ModuleType):
                continue
            try:
                d = _module_dict(m)
                path = d.get("__file__")
            except Exception:
                continue
            if not isinstance(path, str) or not self._classify(path):
                continue
            if buckets:
                ab = os.path.abspath(path)
                for b in buckets:
                    b.reads.add(ab)
            try:
                self._walk_module(d, name)
            except Exception:
                pass

    def _walk_module(self, d, modname):
        """Turn PY_START on for the code of the functions a module's dict
        holds: module-level functions, classes defined there and their
        methods, properties, static and class methods, nested classes, and
        what they wrap (__wrapped__, partials)."""
        todo = list(d.values())
        done = set()
        while todo:
            obj = todo.pop()
            if obj is None or id(obj) in done:
                continue
            done.add(id(obj))
            t = type(obj)
            if t is types.FunctionType:
                self._watch(obj.__code__)
                inner = obj.__dict__.get("__wrapped__")
                if inner is not None:
                    todo.append(inner)
            elif t is staticmethod or t is classmethod:
                todo.append(obj.__func__)
            elif t is property:
                todo.extend((obj.fget, obj.fset, obj.fdel))
            elif t is types.MethodType:
                todo.append(obj.__func__)
            elif t is functools.partial:
                todo.append(obj.func)
            elif issubclass(t, type):
                # Not isinstance: a proxy's __class__ could run code.
                cd = _class_dict(obj)
                if cd.get("__module__") == modname:
                    todo.extend(cd.values())
            else:
                # A wrapper object (functools.lru_cache, a decorator's
                # class): what its own dict says it wraps, when that dict
                # is the built-in slot's (not a property's, which could
                # run code).
                desc = None
                for k in _class_mro(t):
                    desc = _class_dict(k).get("__dict__")
                    if desc is not None:
                        break
                if type(desc) is not types.GetSetDescriptorType:
                    continue
                try:
                    od = desc.__get__(obj)
                except Exception:
                    continue
                if type(od) is dict:
                    for k in ("__wrapped__", "__func__"):
                        inner = od.get(k)
                        if inner is not None:
                            todo.append(inner)

    def install(self):
        """Install the tracer (once, at the first test)."""
        if self.installed:
            return
        if self.trace_fn is None:
            self.monitor, self.trace_fn, self.profile_fn = self._callbacks()
        if self.kind == "monitoring":
            self._take_tool()
        self.installed = True
        if self.tool is not None:
            return
        if self.kind == "monitoring" and self.auto:
            self.off = True
            return
        # No monitoring, or both tool ids taken: a trace function.
        trace, profile = self.trace_fn, self.profile_fn
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
        if self.tool is not None:
            if len(sys.modules) != self.nmods:
                self._scan()
            self.active = [self.test]
            sys.monitoring.restart_events()
            return
        self.active = [self.test]
        if self.trace is not None and sys.gettrace() is None:
            sys.settrace(self.trace)

    def end(self):
        """Close the test's window."""
        if self.tool is not None and self.active and len(sys.modules) != self.nmods:
            self._scan(self.active)
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
            if self.tool is not None and len(sys.modules) != self.nmods:
                self._scan(self.active)
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
        if self.tool is not None and len(sys.modules) != self.nmods:
            self._scan()
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
            # realpath, a directory's once: most files outside the
            # project share a few directories.
            d, base = os.path.split(ab)
            rd = self.real_dirs.get(d)
            if rd is None:
                rd = self.real_dirs[d] = os.path.realpath(d)
            ab = os.path.join(rd, base)
            if os.path.islink(ab):
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
        self.monitor, self.trace_fn, self.profile_fn = self._callbacks()
        self._take_tool()
        config.pluginmanager.register(self, "herd_deps")


def recorder(channel):
    """The process's Recorder when HERD_DEPS asks for one on this
    interpreter, else None (and nothing installed)."""
    value = os.environ.pop("HERD_DEPS", "")
    kind = tracer_kind(value)
    if kind is None or not hasattr(sys, "addaudithook"):
        return None
    return Recorder(channel, kind, auto=value == "auto")
