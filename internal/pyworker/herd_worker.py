"""herd's pytest worker plugin, embedded in the herd binary.

The worker collects the suite with pytest's own machinery, tells the
controller what it collected, then runs the tests the controller sends, one
pytest_runtest_protocol at a time with the right ``nextitem`` so fixtures of
every scope are torn down when pytest would tear them down. Messages are JSON
lines on a dedicated pipe; commands arrive on another. Protocol version 1.
"""

import contextlib
import faulthandler
import fcntl
import json
import mmap
import os
import select
import signal
import struct
import sys
import time
import warnings

import pytest

PROTOCOL = 1

# BOARD_SIZE is the size of the phase board: a uint32 test sequence number
# and the phase's name, NUL-padded (16 bytes); then the revoke generation
# the controller wrote last and the sequence number of the test this worker
# claimed last, both uint32 (see Channel.claim).
BOARD_SIZE = 24

# A captured-output section or traceback longer than this is cut in the
# middle, so one test printing 100 MB cannot make a message unbounded.
MAX_TEXT = 512 * 1024

_stderr_fd = None


def install_faulthandler():
    """Dump every thread's stack to stderr on a fatal signal, and on SIGUSR1,
    which herd sends before it kills a test that ran too long."""
    global _stderr_fd
    try:
        _stderr_fd = os.dup(2)
        out = os.fdopen(_stderr_fd, "w", closefd=False)
        faulthandler.enable(file=out, all_threads=True)
        faulthandler.register(signal.SIGUSR1, file=out, all_threads=True)
        # Keep a reference: faulthandler holds only the fd.
        install_faulthandler.out = out
    except Exception:  # pragma: no cover - best effort on odd platforms
        pass


# A one-line field (the short summary message, the crash line) is meant for
# one terminal line; 4 KiB keeps any real message whole.
MAX_LINE = 4 * 1024


def _cut(text, limit=MAX_TEXT):
    if text is None:
        return ""
    if len(text) <= limit:
        return text
    half = limit // 2
    dropped = len(text) - 2 * half
    return (
        text[:half]
        + "\n[... herd truncated %d characters of output ...]\n" % dropped
        + text[-half:]
    )


class Channel:
    """The worker's end of the protocol: commands in, messages out."""

    def __init__(self, cmd_fd, msg_fd, board_fd=None):
        self.cmd_fd = cmd_fd
        self.msg_fd = msg_fd
        self.buf = b""
        self.out = []
        self.board = None
        self.board_fd = None
        self.gen_seen = 0
        if board_fd is not None:
            try:
                self.board = mmap.mmap(board_fd, BOARD_SIZE)
                # Kept open: its lock guards taking tests back.
                self.board_fd = board_fd
            except (OSError, ValueError):
                self.board = None
                os.close(board_fd)

    def post(self, msg):
        """Queue msg; it goes out with the next send, flush or recv. A test's
        reports and done wait for the next test's start, so a test costs
        one write, not five."""
        self.out.append(json.dumps(msg, ensure_ascii=True, separators=(",", ":")))

    def send(self, msg):
        """Write msg, after every message posted before it."""
        self.post(msg)
        self.flush()

    def flush(self):
        if not self.out:
            return
        data = ("\n".join(self.out) + "\n").encode()
        del self.out[:]
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.msg_fd, view)
            except InterruptedError:
                continue
            view = view[n:]

    def phase(self, seq, when):
        """Record on the board that test number seq (counting start
        messages) is in phase when. The board is a page of memory the
        controller reads after the process died: it says where a crash
        hit without a message per phase."""
        board = self.board
        if board is None:
            return
        if seq is None:
            board[4:16] = when.encode()[:12].ljust(12, b"\0")
        else:
            board[0:16] = struct.pack("<I12s", seq & 0xFFFFFFFF, when.encode()[:12])

    def claim(self, seq, handle, queue):
        """Claim the test about to start (queue[0]), number seq, on the
        board, under the board's lock. The controller takes queued tests
        back (revoke) only under the same lock and while the board shows no
        claim it has not seen start, writing the revoke's generation there:
        a generation not seen yet means a revoke is on its way, and it is
        handled first (its tests leave the queue). handle applies a
        command."""
        board = self.board
        if board is None or self.board_fd is None:
            return
        try:
            fcntl.lockf(self.board_fd, fcntl.LOCK_EX)
        except (OSError, ValueError):
            # A test closed the board's descriptor: never claim again, so
            # the controller never takes anything back from this worker.
            self.board_fd = None
            board[20:24] = b"\xff\xff\xff\xff"
            return
        try:
            gen = struct.unpack("<I", board[16:20])[0]
            while gen != self.gen_seen:
                if handle(self.recv()) == "shutdown":
                    break
            if queue:
                board[20:24] = struct.pack("<I", seq & 0xFFFFFFFF)
        finally:
            fcntl.lockf(self.board_fd, fcntl.LOCK_UN)

    def hello(self):
        self.send(
            {
                "t": "hello",
                "v": PROTOCOL,
                "pid": os.getpid(),
                "python": sys.version.split()[0],
            }
        )

    def _line(self):
        i = self.buf.find(b"\n")
        if i < 0:
            return None
        line, self.buf = self.buf[:i], self.buf[i + 1 :]
        return json.loads(line)

    def recv(self, block=True):
        """Return the next command, or None when block is False and none is
        waiting. A closed command pipe means the controller is gone."""
        if block:
            # Whatever waits in the buffer goes out before we wait: the
            # controller may need it to answer.
            self.flush()
        while True:
            cmd = self._line()
            if cmd is not None:
                return cmd
            if not block:
                r, _, _ = select.select([self.cmd_fd], [], [], 0)
                if not r:
                    return None
            try:
                chunk = os.read(self.cmd_fd, 1 << 16)
            except InterruptedError:
                continue
            if not chunk:
                return {"t": "shutdown", "eof": True}
            self.buf += chunk


def _timeout_of(item):
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        value = marker.args[0] if marker.args else marker.kwargs.get("timeout")
        try:
            return float(value or 0)
        except (TypeError, ValueError):
            return 0.0
    return 0.0


def _options(config):
    opt = config.option

    def num(name, default=0):
        v = getattr(opt, name, default)
        try:
            return float(v) if v is not None else default
        except (TypeError, ValueError):
            return default

    durations = getattr(opt, "durations", None)
    return {
        "verbose": int(getattr(opt, "verbose", 0) or 0),
        "reportchars": getattr(opt, "reportchars", "") or "",
        "tbstyle": getattr(opt, "tbstyle", "auto") or "auto",
        "showcapture": getattr(opt, "showcapture", "all") or "all",
        "maxfail": int(getattr(opt, "maxfail", 0) or 0),
        "durations": durations,
        "durations_min": num("durations_min", 0.005),
        "junitxml": getattr(opt, "xmlpath", None) or "",
        "junit": _junit_options(config),
        "continue_on_collection_errors": bool(getattr(opt, "continue_on_collection_errors", False)),
        "timeout": num("timeout", 0),
        "capture": getattr(opt, "capture", "fd") or "fd",
        "failedfirst": bool(getattr(opt, "failedfirst", False)),
    }


def _maxfail(config):
    """The run's --maxfail: herd's own -x or --maxfail (HERD_MAXFAIL), else
    pytest's (ini addopts); 0 means none."""
    try:
        n = int(os.environ.get("HERD_MAXFAIL") or 0)
    except ValueError:
        n = 0
    if n > 0:
        return n
    try:
        return int(getattr(config.option, "maxfail", 0) or 0)
    except (TypeError, ValueError):
        return 0


def _junit_options(config):
    """pytest's junitxml settings as this session reads them (ini options,
    -o overrides, --junit-prefix): herd writes the JUnit report pytest's
    junitxml plugin would have written."""

    def ini(name, default):
        try:
            return config.getini(name)
        except (ValueError, KeyError):
            # The junitxml plugin is off (-p no:junitxml).
            return default

    return {
        "suite_name": str(ini("junit_suite_name", "pytest")),
        "logging": str(ini("junit_logging", "no")),
        "log_passing_tests": bool(ini("junit_log_passing_tests", True)),
        "duration_report": str(ini("junit_duration_report", "total")),
        "family": str(ini("junit_family", "xunit2")),
        "prefix": getattr(config.option, "junitprefix", None) or "",
    }


def _reruns_of(item):
    """N of @pytest.mark.flaky(reruns=N), as pytest-rerunfailures spells it."""
    marker = item.get_closest_marker("flaky")
    if marker is None:
        return 0
    value = marker.kwargs.get("reruns", marker.args[0] if marker.args else 1)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _group_of(item):
    marker = item.get_closest_marker("xdist_group")
    if marker is None:
        return ""
    if marker.args:
        return str(marker.args[0])
    return str(marker.kwargs.get("name", "default"))


def _sections(config, rep):
    showcapture = getattr(config.option, "showcapture", "all")
    if showcapture == "no":
        return []
    out = []
    for title, content in rep.sections:
        if showcapture != "all" and showcapture not in title:
            continue
        out.append({"title": title, "content": _cut(content)})
    return out


def _message(rep):
    try:
        return rep.longrepr.reprcrash.message
    except AttributeError:
        pass
    if rep.skipped and isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
        reason = rep.longrepr[2]
        if reason.startswith("Skipped: "):
            reason = reason[len("Skipped: ") :]
        return reason
    return ""


def _longrepr(rep, config=None):
    if rep.skipped and isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
        # The form of pytest's folded skip lines: "path:lineno: reason", the
        # path relative to the invocation directory.
        path, lineno, reason = rep.longrepr
        if config is not None:
            try:
                from _pytest.pathlib import bestrelpath
                from pathlib import Path

                path = bestrelpath(config.invocation_params.dir, Path(path))
            except Exception:
                pass
        if reason.startswith("Skipped: "):
            reason = reason[len("Skipped: ") :]
        if lineno is None:
            return _cut("%s: %s" % (path, reason))
        return _cut("%s:%d: %s" % (path, lineno, reason))
    if rep.longrepr is None:
        return ""
    return _cut(_render(rep))


def _render(rep):
    """Render a report's longrepr as pytest's terminal does, without colour;
    unlike longreprtext it keeps the leading blank line pytest prints."""
    try:
        from io import StringIO

        from _pytest._io import TerminalWriter

        out = StringIO()
        tw = TerminalWriter(file=out)
        tw.hasmarkup = False
        rep.toterminal(tw)
        return out.getvalue().rstrip("\n")
    except Exception:
        return rep.longreprtext


def _last_line(text):
    """The last non-blank line of text, without pytest's "E   " prefix: the
    one-line message of a collection error."""
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line:
            if line.startswith("E "):
                line = line[1:].strip()
            return line
    return ""


def _crashline(rep):
    try:
        return str(rep.longrepr.reprcrash)
    except AttributeError:
        try:
            return str(rep.longrepr)[:50]
        except Exception:
            return ""


def _children(pid):
    """Direct children of pid, from /proc/PID/task/*/children."""
    out = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            pass
    return out


def _descendants(pid):
    seen = []
    todo = _children(pid)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(_children(p))
    return seen


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except OSError:
        raw = b""
    if not raw:
        # Between fork and exec the command line is empty for a moment.
        time.sleep(0.005)
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                raw = f.read()
        except OSError:
            raw = b""
    text = raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()[:200]
    if not text:
        # A zombie, or a process between fork and exec: its name at least.
        try:
            with open("/proc/%d/comm" % pid) as f:
                text = f.read().strip()
        except OSError:
            text = "?"
    return text or "?"


class SpawnFlag:
    """Notes whether the worker started a process, by wrapping the few
    functions every way of starting one goes through. When a test started
    one, the controller looks at once for orphans it may have left (a
    shell's background job is reparented to herd, out of the worker's
    sight)."""

    def __init__(self):
        self.spawned = False
        try:
            import _posixsubprocess

            _posixsubprocess.fork_exec = self._wrap(_posixsubprocess.fork_exec)
        except Exception:
            pass
        # subprocess binds fork_exec at import time (Python >= 3.11).
        import subprocess

        if getattr(subprocess, "_fork_exec", None) is not None:
            subprocess._fork_exec = self._wrap(subprocess._fork_exec)
        for name in ("posix_spawn", "posix_spawnp", "fork", "forkpty", "system", "execv", "execve"):
            fn = getattr(os, name, None)
            if fn is not None:
                setattr(os, name, self._wrap(fn))

    def _wrap(self, fn):
        flag = self

        def wrapper(*args, **kwargs):
            flag.spawned = True
            return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper

    def take(self):
        spawned, self.spawned = self.spawned, False
        return spawned


class LeakTracker:
    """Finds the processes and non-daemon threads a test left running.

    A process or thread that appears during a test and outlives its teardown
    belongs to the test, unless the test also set up a fixture of a wider
    scope (class, module, package, session): then it belongs to that fixture's
    node and is a leak only if it outlives that node's teardown.
    """

    def __init__(self, spawns):
        self.pid = os.getpid()
        self.pending = []  # (node, kind, key, description)
        self.spawns = spawns
        # known is the worker's descendants at the last look. While it is
        # empty and nothing was started since, there is nothing to look
        # for: most tests start no process, and reading /proc for each
        # would cost more than the test.
        self.known = set()

    def _procs(self):
        if self.known or self.spawns.spawned:
            self.known = set(_descendants(self.pid))
        return set(self.known)

    def snapshot(self):
        import threading

        threads = {t for t in threading.enumerate() if not t.daemon}
        return self._procs(), threads

    def check(self, session, before):
        import threading

        procs_before, threads_before = before
        stack = list(getattr(session._setupstate, "stack", ()))
        alive_threads = {t for t in threading.enumerate() if not t.daemon and t.is_alive()}
        procs_now = self._procs()
        new_procs = procs_now - procs_before
        new_threads = alive_threads - threads_before
        if new_threads:
            # A pool shut down without waiting (asyncio's default executor
            # at loop close) ends its threads a moment later: give them
            # that moment before calling them leaked.
            deadline = time.monotonic() + 0.2
            for t in list(new_threads):
                t.join(max(0.0, deadline - time.monotonic()))
            new_threads = {t for t in new_threads if t.is_alive()}
        # The owner is the deepest node that gained finalizers during the
        # test: a wider-scoped fixture set up with it. A node pushed without
        # new fixtures (the test's module, say) owns nothing.
        after = _finalizer_counts(session)
        owner = None
        for node in stack:
            if after.get(node, 0) > self._counts_before.get(node, 1):
                owner = node
        leaks = []
        keep = []
        for node, kind, key, desc in self.pending:
            if node in stack:
                keep.append((node, kind, key, desc))
                continue
            if kind == "process" and key in procs_now:
                leaks.append({"kind": kind, "pid": key, "what": desc, "scope": node.nodeid})
            elif kind == "thread" and key.is_alive():
                leaks.append({"kind": kind, "what": desc, "scope": node.nodeid})
        self.pending = keep
        # Things started during setup beside a wider-scoped fixture wait for
        # its teardown; things the call or teardown started are the test's.
        setup_procs, setup_threads = self._setup_snap or (set(), set())
        for pid in sorted(new_procs):
            desc = _cmdline(pid)
            if owner is not None and pid in setup_procs:
                self.pending.append((owner, "process", pid, desc))
            else:
                leaks.append({"kind": "process", "pid": pid, "what": desc})
        for t in new_threads:
            desc = "thread %r" % t.name
            if owner is not None and t in setup_threads:
                self.pending.append((owner, "thread", t, desc))
            else:
                leaks.append({"kind": "thread", "what": desc})
        for leak in leaks:
            if leak["kind"] == "process":
                _kill_tree(leak["pid"])
                self.known.discard(leak["pid"])
        return leaks

    def begin(self, session):
        self._counts_before = _finalizer_counts(session)
        self._setup_snap = None
        return self.snapshot()

    def setup_done(self):
        """Remember what runs once setup is over: what appears later belongs
        to the test, whatever fixtures its setup created."""
        self._setup_snap = self.snapshot()


def _finalizer_counts(session):
    """How many finalizers each node set up so far has (pytest >= 7 keeps
    them in SetupState.stack: node -> (finalizers, exception))."""
    out = {}
    for node, value in getattr(session._setupstate, "stack", {}).items():
        try:
            out[node] = len(value[0])
        except Exception:
            out[node] = 0
    return out


def _kill_tree(pid):
    for p in [pid] + _descendants(pid):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    # Reap it if it is our child, so it leaves no zombie behind.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except OSError:
            return
        if done:
            return
        time.sleep(0.005)


# xdist's controller-side hooks. A plugin or conftest that implements one,
# as the worker's pytest_configure starts, makes herd run its xdist
# controller (herd_ctl.py), which calls them where and when xdist's
# controller calls them.
_CONTROLLER_HOOKS = (
    "pytest_configure_node",
    "pytest_testnodeready",
    "pytest_testnodedown",
    "pytest_xdist_setupnodes",
    "pytest_xdist_newgateway",
)

# Plugins whose controller part herd does itself: pytest-cov's (herd
# combines coverage; its pytest_configure_node runs in each worker, as
# before) and pytest-rerunfailures' (herd reruns; it is never loaded).
_HERD_DOES = ("_cov", "rerunfailures", "pytest_rerunfailures")

# Names by which a conftest's pytest_sessionfinish or pytest_unconfigure
# tells the controller from a worker.
_CONTROLLER_TELLS = ("workerinput", "is_xdist_controller", "is_xdist_master", "is_xdist_worker", "get_xdist_worker_id")


def _own(impl):
    """Whether a hook implementation is herd's, xdist's or one herd plays
    the controller of itself."""
    if impl.plugin_name in _HERD_DOES or isinstance(impl.plugin, WorkerPlugin):
        return True
    mod = getattr(impl.function, "__module__", "") or ""
    return mod == "xdist" or mod.startswith("xdist.")


def _code_names(code):
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, str):
            names.add(c)
        elif hasattr(c, "co_names"):
            names |= _code_names(c)
    return names


def _needs_controller(config):
    """Whether this suite needs herd's xdist controller: a plugin or
    conftest implements one of xdist's controller-side hooks, or a
    conftest's pytest_sessionfinish or pytest_unconfigure reads workerinput
    (or calls xdist's is_xdist_controller and the like) itself, so it has a
    part to play in the controller only."""
    if os.environ.get("HERD_XDIST_CONTROLLER") == "1":
        return True
    for name in _CONTROLLER_HOOKS:
        caller = getattr(config.hook, name, None)
        if caller is None:
            continue
        for impl in caller.get_hookimpls():
            if not _own(impl):
                return True
    for name in ("pytest_sessionfinish", "pytest_unconfigure"):
        for impl in getattr(config.hook, name).get_hookimpls():
            if _own(impl):
                continue
            path = getattr(impl.plugin, "__file__", None) or ""
            if os.path.basename(path) != "conftest.py":
                continue
            code = getattr(impl.function, "__code__", None)
            if code is not None and _code_names(code) & set(_CONTROLLER_TELLS):
                return True
    return False


def _encode(value):
    """workerinput and workeroutput as xdist's execnet channel carries
    them: marshal keeps None, bool, int, float, complex, str, bytes, list,
    tuple, dict, set and frozenset apart."""
    import base64
    import marshal

    return base64.b64encode(marshal.dumps(value)).decode("ascii")


def _decode(text):
    import base64
    import marshal

    return marshal.loads(base64.b64decode(text))


def _entry(item):
    """What the controller learns of one collected test."""
    path, lineno, _ = item.location
    entry = {"id": item.nodeid, "file": path}
    if lineno is not None:
        entry["line"] = lineno + 1
    markers = sorted({m.name for m in item.iter_markers()})
    if markers:
        entry["markers"] = markers
    t = _timeout_of(item)
    if t:
        entry["timeout"] = t
    g = _group_of(item)
    if g:
        entry["group"] = g
    r = _reruns_of(item)
    if r:
        entry["reruns"] = r
    return entry


def _collect_warnings(config):
    """Record the warnings raised while test files are imported, as pytest
    does around its collection: a file collected later, out of pytest's
    own collection, must not lose them."""
    try:
        from _pytest.warnings import catch_warnings_for_item

        return catch_warnings_for_item(config, ihook=config.hook, when="collect", item=None)
    except Exception:
        return contextlib.nullcontext()


def _is_dir(node):
    """Whether node is a directory collector (a package), whose collection
    walks the file system but imports no test module."""
    directory = getattr(pytest, "Directory", None)
    if directory is not None and isinstance(node, directory):
        return True
    return isinstance(node, pytest.Package)


def _splittable(config):
    """Whether the session's collection may be split across workers:
    --lf and --sw decide over the whole collection at once."""
    for name in ("lf", "stepwise", "stepwise_skip"):
        try:
            if config.getoption(name):
                return False
        except (ValueError, AttributeError):
            pass
    return True


class _Gateway:
    def __init__(self, workerid):
        self.id = workerid


class _NodeManager:
    roots = []


class _Node:
    """What pytest_configure_node hooks get: the parts of xdist's
    WorkerController they use (workerinput, gateway.id, config,
    nodemanager.roots)."""

    def __init__(self, config, workerid, workerinput):
        self.config = config
        self.gateway = _Gateway(workerid)
        self.workerinput = workerinput
        self.nodemanager = _NodeManager()


class WorkerPlugin:
    """pytest plugin that turns a pytest session into a herd worker."""

    def __init__(self, channel):
        self.ch = channel
        self.config = None
        self.errors = []
        self.collect_skips = []
        self.deselected = 0
        self.collect_lines = []
        # Under -s herd reads the worker's stdout and stderr live; the
        # markers written at each test's start and end tell it, exactly,
        # which test wrote what. They are written only once the
        # configuration says capture is off (see pytest_configure).
        self.live_token = os.environ.pop("HERD_LIVE", None)
        self.live_mark = None
        self.current = None
        self.leaks = None
        self.passed_phases, self.passed_durs = "", []
        self.failed = False
        self.stale_setup = False
        # Split collection (HERD_SPLIT=1): the session's walk stops at files
        # (modules, doctest files, plugin files); each file is collected,
        # which imports it, only by the worker the controller gives it to,
        # or later by one that is handed its tests.
        self.split = os.environ.get("HERD_SPLIT") == "1"
        self.leaves = None
        self.leaf_by_id = {}
        self.expanded = set()
        self.items = {}
        # frozen holds the marks of the collectors above the files as they
        # stood before the first test ran (see _freeze_marks); late
        # collections see these.
        self.frozen = None
        # While a late collection runs, the items it deselects, so those
        # the controller handed over can still run.
        self._deselected_now = None
        # Tests handed over whose file failed to collect here: nodeid ->
        # the collection error, which becomes their outcome.
        self.collect_failed = {}

    # -- configuration -------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_load_initial_conftests(self, early_config, parser, args):
        # pytest-cov decides here how it runs. Under herd it must run as
        # under xdist: the worker records and saves its own data file, and
        # herd combines and reports them all at the end. herd erased old
        # data before the run, so no worker erases anything.
        ns = early_config.known_args_namespace
        self.cov_append = None
        if getattr(ns, "cov_source", None) is not None and not getattr(ns, "no_cov", False):
            self.cov_append = bool(getattr(ns, "cov_append", False))
            ns.dist = "load"
            if not isinstance(getattr(ns, "rsyncdir", None), list):
                ns.rsyncdir = []
            ns.cov_append = True
        yield

    @staticmethod
    def _neutralise_xdist(config):
        # herd is the distributor: xdist must never start workers inside a
        # herd worker, whatever -n or --dist the ini addopts hold.
        opt = config.option
        if hasattr(opt, "dist"):
            opt.dist = "no"
        if hasattr(opt, "tx"):
            opt.tx = []
        if hasattr(opt, "numprocesses"):
            opt.numprocesses = 0
        if hasattr(opt, "distload"):
            opt.distload = False

    def pytest_cmdline_main(self, config):
        self._neutralise_xdist(config)

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        self.config = config
        self._neutralise_xdist(config)
        if self.live_token and _capture_off(config):
            # -s, on herd's command line or in ini addopts: herd passes
            # what the tests print through as it comes, once it has this
            # worker's first marker.
            self.live_mark = ("\0herd:%s:" % self.live_token).encode()
            try:
                sys.stdout.reconfigure(line_buffering=True)
            except Exception:
                pass
            self._mark("")
        workerid = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        workerinput = {
            "workerid": workerid,
            "workercount": int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")),
            "testrunuid": os.environ.get("PYTEST_XDIST_TESTRUNUID", ""),
            "mainargv": list(sys.argv),
        }
        self.seed_note = _share_seed(config, workerinput)
        # herd --timeout N stands for pytest-timeout's --timeout N: the
        # plugin reads it as it would (its header says "timeout: N s"),
        # and herd, not the plugin, enforces it.
        herd_timeout = os.environ.pop("HERD_TIMEOUT", None)
        if herd_timeout and hasattr(config.option, "timeout"):
            try:
                config.option.timeout = float(herd_timeout)
            except ValueError:
                pass
        _worker_basetemp(config, workerid)
        # xdist's controller calls pytest_configure_node(node) once per
        # worker before the worker starts, and the worker finds what the hook
        # put in node.workerinput in config.workerinput. When a plugin or
        # conftest has a part in xdist's controller, herd's controller
        # plays it: it calls the hook and this worker waits for the result.
        self.controlled = _needs_controller(config)
        if self.controlled:
            workerinput.update(self._workerinput_from_controller())
        # pytest-cov's controller part is herd's: its hook fills in, here,
        # what its worker part reads.
        hook = getattr(config.hook, "pytest_configure_node", None)
        if hook is not None:
            node = _Node(config, workerid, workerinput)
            for impl in reversed(hook.get_hookimpls()):
                if impl.plugin_name == "_cov":
                    impl.function(node=node)
        # pytest and its plugins check for workerinput to know they run in a
        # worker: the cache and junitxml plugins then leave writing to herd.
        config.workerinput = workerinput
        # Where xdist workers leave results for the controller
        # (pytest-cov's DistWorker writes here).
        config.workeroutput = {}
        # herd's policy markers work whether or not the suite registered
        # them (--strict-markers included).
        for line in (
            "serial: run this test with nothing else running (herd: exclusive)",
            "parallel_unsafe: run this test with nothing else running (herd: exclusive)",
            "isolated: run this test in a fresh worker process of its own (herd)",
            "xdist_group(name): run at most the group's limit of these tests at once (herd)",
            "flaky(reruns=N): rerun this test up to N times when it fails (herd)",
        ):
            config.addinivalue_line("markers", line)

    def _workerinput_from_controller(self):
        """Ask herd for this worker's workerinput, made by herd's xdist
        controller, and wait for it. Commands that come first wait their
        turn."""
        self.ch.send({"t": "nodein"})
        held = []
        try:
            while True:
                cmd = self.ch.recv()
                kind = cmd.get("t")
                if kind == "workerinput":
                    if cmd.get("error") or not cmd.get("data"):
                        pytest.exit("herd: no workerinput: %s" % cmd.get("error", "none"), returncode=3)
                    return _decode(cmd["data"])
                if kind == "shutdown":
                    pytest.exit("herd: the run ended before this worker started", returncode=2)
                held.append(cmd)
        finally:
            if held:
                self.ch.buf = b"".join(
                    (json.dumps(c, separators=(",", ":")) + "\n").encode() for c in held
                ) + self.ch.buf

    @pytest.hookimpl(hookwrapper=True)
    def pytest_sessionfinish(self, session, exitstatus):
        # As xdist's worker: config.workeroutput, with the exit status, goes
        # to the controller once every other plugin has written to it.
        yield
        if not getattr(self, "controlled", False):
            return
        out = getattr(self.config, "workeroutput", None)
        if not isinstance(out, dict):
            return
        try:
            out["exitstatus"] = int(exitstatus)
            data = _encode(out)
        except (ValueError, TypeError) as exc:
            os.write(2, ("herd: config.workeroutput holds a value xdist could not send: %s\n" % exc).encode())
            data = _encode({"exitstatus": int(exitstatus)})
        self.ch.send({"t": "workeroutput", "data": data})

    @pytest.hookimpl(tryfirst=True)
    def _cov_options(self, config):
        """pytest-cov's options, for herd to combine and report coverage."""
        plugin = config.pluginmanager.get_plugin("_cov")
        if plugin is None or getattr(plugin, "_disabled", False) or self.cov_append is None:
            return None
        o = plugin.options
        out = {}
        for name in ("cov_source", "cov_report", "cov_config", "cov_branch", "cov_fail_under"):
            value = getattr(o, name, None)
            if isinstance(value, (list, tuple)):
                value = list(value)
            out[name] = value
        out["cov_append"] = self.cov_append
        return out

    def pytest_sessionstart(self, session):
        config = session.config
        _silence_terminal(config)
        # The header as pytest prints it, pytest-timeout's lines included,
        # before that plugin goes.
        header = _header_lines(config)
        # pytest-timeout's thread method calls os._exit, which would kill the
        # worker; herd owns timeouts, so its hooks go.
        plugin = config.pluginmanager.get_plugin("timeout")
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
        # herd reruns failed tests itself (--retries, the flaky marker), so
        # no try is lost; pytest-rerunfailures' reruns inside a worker
        # would hide them.
        self.rerun_note = None
        try:
            import importlib.util

            if importlib.util.find_spec("pytest_rerunfailures") is not None:
                self.rerun_note = (
                    "rerunfailures: reruns are done by herd (--retries, @pytest.mark.flaky(reruns=N))"
                )
        except Exception:
            pass
        self.ch.send(
            {
                "t": "session",
                "pytest": _pytest_version(),
                "rootdir": str(config.rootpath),
                "cachedir": _cachedir(config),
                "invocation_dir": str(config.invocation_params.dir),
                "header": header + [n for n in (self.rerun_note, self.seed_note) if n],
                "options": _options(config),
                "cov": self._cov_options(config),
            }
        )

    def pytest_internalerror(self, excrepr, excinfo):
        # pytest prints internal errors through the terminal writer, which
        # herd silences in workers: write them to stderr, which herd keeps
        # and shows when the worker ends before running tests.
        try:
            text = "".join("INTERNALERROR> %s\n" % line for line in str(excrepr).split("\n"))
            os.write(2, text.encode("utf-8", "replace"))
        except Exception:
            pass

    # -- xdist's fixtures, for suites that run without xdist installed ---

    @pytest.fixture(scope="session")
    def worker_id(self, request):
        """The worker's id, "gw0", "gw1"... as under pytest-xdist."""
        return request.config.workerinput["workerid"]

    @pytest.fixture(scope="session")
    def testrun_uid(self, request):
        """One id shared by every worker of the run, as under pytest-xdist."""
        return request.config.workerinput["testrunuid"]

    # -- collection ----------------------------------------------------

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(
                {"path": report.nodeid or str(report.fspath), "message": _cut(report.longreprtext)}
            )
        elif report.skipped:
            self.collect_skips.append(
                {"path": report.nodeid or str(report.fspath), "message": _cut(_longrepr(report, self.config), MAX_LINE)}
            )
        if report.nodeid == "" and self.split and self.leaves is None and report.passed:
            if not _splittable(self.config):
                self.split = False
                return
            # The session's report lists the top-level nodes, and pytest
            # expands them right after this hook: keep them, expand the
            # directories (which imports no test module), and leave pytest
            # nothing to expand. The files wait for the controller.
            # Collectors of one file share its node id (a module and its
            # doctests under --doctest-modules): they go together.
            self.leaves = []
            for leaf in self._expand_dirs(list(report.result)):
                if leaf.nodeid not in self.leaf_by_id:
                    self.leaf_by_id[leaf.nodeid] = []
                    self.leaves.append(leaf)
                self.leaf_by_id[leaf.nodeid].append(leaf)
            del report.result[:]

    def _expand_dirs(self, nodes):
        from _pytest.runner import collect_one_node

        out = []
        for node in nodes:
            if _is_dir(node):
                rep = collect_one_node(node)
                node.ihook.pytest_collectreport(report=rep)
                if rep.passed:
                    out.extend(self._expand_dirs(list(rep.result)))
            else:
                out.append(node)
        return out

    def _collect(self, session, ids, handed=None):
        """Collect the files named by ids (those not collected yet), as
        pytest's genitems and modifyitems would, and return their items
        that are left. handed, for a late collection, holds the nodeids
        the controller handed over: they were selected when their file was
        first collected, so they stay selected here too."""
        items = []
        with self._as_first_collected(), _collect_warnings(session.config):
            for leaf_id in ids:
                if leaf_id not in self.leaf_by_id or leaf_id in self.expanded:
                    continue
                self.expanded.add(leaf_id)
                for leaf in self.leaf_by_id[leaf_id]:
                    if isinstance(leaf, pytest.Item):
                        items.append(leaf)
                    else:
                        items.extend(session.genitems(leaf))
            if items:
                self._deselected_now = [] if handed else None
                try:
                    session.config.hook.pytest_collection_modifyitems(
                        session=session, config=session.config, items=items
                    )
                    if handed:
                        items.extend(it for it in self._deselected_now if it.nodeid in handed)
                finally:
                    self._deselected_now = None
        if items:
            session.items.extend(items)
            session.testscollected = len(session.items)
            for item in items:
                self.items.setdefault(item.nodeid, item)
        return items

    def _freeze_marks(self):
        """Remember the marks of the collectors above the files (the
        session, its directories and packages) as they stand before the
        first test runs. Running a test changes them: setting up a package
        imports its __init__.py, and pytest then adds the package's
        pytestmark to it. Under pytest that happens after the whole
        collection; a file this worker collects later must not see it, or
        -m and -k would select its tests differently."""
        if self.frozen is not None or self.leaves is None:
            return
        seen = {}
        for leaves in self.leaf_by_id.values():
            for leaf in leaves:
                node = leaf.parent
                while node is not None and id(node) not in seen:
                    kw = getattr(node.keywords, "_markers", None)
                    seen[id(node)] = (node, list(node.own_markers), dict(kw) if kw is not None else None)
                    node = node.parent
        self.frozen = list(seen.values())

    @contextlib.contextmanager
    def _as_first_collected(self):
        """Give the collectors above the files their marks of before the
        first test (see _freeze_marks) while a file is collected late,
        and their marks of now again afterwards."""
        swapped = []
        for node, marks, kw in self.frozen or ():
            keywords = node.keywords
            now_kw = getattr(keywords, "_markers", None)
            swapped.append((node, node.own_markers, keywords, now_kw, len(marks)))
            node.own_markers = list(marks)
            if kw is not None and now_kw is not None:
                keywords._markers = dict(kw)
        try:
            yield
        finally:
            for node, marks, keywords, kw, n in swapped:
                # Marks the collection itself added (a package whose
                # module it imported) stay.
                marks.extend(node.own_markers[n:])
                node.own_markers = marks
                if kw is not None:
                    kw.update((m.name, m) for m in node.own_markers[n:] if m.name not in kw)
                    keywords._markers = kw

    def _leaf_of(self, nodeid):
        """The id of the file (collection leaf) nodeid belongs to, or None."""
        parts = nodeid.split("::")
        for k in range(1, len(parts) + 1):
            leaf_id = "::".join(parts[:k])
            if leaf_id in self.leaf_by_id:
                return leaf_id
        return None

    def _collect_for(self, session, nodeids):
        """Collect, before they run, the files of tests handed to this
        worker that it has not collected (work moved to it). Returns the
        nodeids it still lacks: those whose file failed to collect here
        are in self.collect_failed with the error, to end as it; the
        others go back to the controller."""
        want = []
        for nodeid in nodeids:
            if nodeid in self.items:
                continue
            leaf_id = self._leaf_of(nodeid)
            if leaf_id is not None and leaf_id not in self.expanded and leaf_id not in want:
                want.append(leaf_id)
        errors = []
        if want:
            # Importing a file can take long: the controller must not take
            # the silence for a stuck worker.
            self.ch.send({"t": "collecting", "files": [{"id": f} for f in want]})
            saved = self.errors, self.collect_skips, self.deselected
            self.errors = []
            try:
                self._collect(session, want, handed=set(nodeids))
                errors = self.errors
            finally:
                # Their errors and counts were reported by the worker that
                # collected them first.
                self.errors, self.collect_skips, self.deselected = saved
        missing = []
        for nodeid in nodeids:
            if nodeid in self.items or nodeid in self.collect_failed:
                continue
            for e in errors:
                path = e["path"]
                if nodeid == path or nodeid.startswith(path + "::") or self._leaf_of(nodeid) == path:
                    self.collect_failed[nodeid] = e["message"]
                    break
            else:
                missing.append(nodeid)
        return missing

    def pytest_collection_finish(self, session):
        self.collect_lines = _collection_lines(session.config, session.items)

    def pytest_deselected(self, items):
        self.deselected += len(items)
        if self._deselected_now is not None:
            self._deselected_now.extend(items)

    def pytest_warning_recorded(self, warning_message, when, nodeid, location):
        try:
            from _pytest.warnings import warning_record_to_str

            text = warning_record_to_str(warning_message)
        except Exception:
            text = str(warning_message.message)
        where = nodeid
        if not where:
            # A warning outside any test (a module's import, pytest's
            # configuration) is shown where it was raised, as pytest's
            # warnings summary does: "test_x.py:2".
            try:
                from _pytest.pathlib import absolutepath, bestrelpath

                path = bestrelpath(self.config.invocation_params.dir, absolutepath(warning_message.filename))
                where = "%s:%s" % (path, warning_message.lineno)
            except Exception:
                where = ""
        self.ch.post({"t": "warning", "warning": {"nodeid": where, "message": text, "when": when}})

    # -- the run loop --------------------------------------------------

    def pytest_runtestloop(self, session):
        config = session.config
        ini_timeout = 0.0
        try:
            ini_timeout = float(config.getini("timeout") or 0)
        except (ValueError, TypeError):
            # pytest-timeout is not installed: read the raw ini value, so a
            # suite's "timeout = 300" still means what it says.
            try:
                ini_timeout = float(config.inicfg.get("timeout") or 0)
            except (ValueError, TypeError, AttributeError):
                ini_timeout = 0.0
        if self.split and self.leaves is not None:
            files = []
            for leaf in self.leaves:
                size = 0
                try:
                    size = os.path.getsize(str(leaf.path))
                except (OSError, AttributeError):
                    pass
                files.append({"id": leaf.nodeid, "size": size})
            self.ch.send(
                {
                    "t": "files",
                    "files": files,
                    "errors": self.errors,
                    "skips": self.collect_skips,
                    "deselected": self.deselected,
                    "ini_timeout": ini_timeout,
                    "report_lines": self.collect_lines,
                }
            )
        else:
            for item in session.items:
                self.items.setdefault(item.nodeid, item)
            self.ch.send(
                {
                    "t": "collected",
                    "tests": [_entry(item) for item in session.items],
                    "errors": self.errors,
                    "skips": self.collect_skips,
                    "deselected": self.deselected,
                    "ini_timeout": ini_timeout,
                    "report_lines": self.collect_lines,
                }
            )
        items = self.items
        queue = []
        seq = 0
        state = {"shutdown": False, "nomore": False}
        spawns = SpawnFlag()
        leaks = self.leaks = LeakTracker(spawns)

        def handle(cmd):
            kind = cmd.get("t")
            if kind == "run":
                ids = cmd.get("ids") or []
                if self.leaves is not None:
                    missing = self._collect_for(session, ids)
                else:
                    missing = [i for i in ids if i not in items]
                if missing:
                    # Another process runs them: this one's collection
                    # has no such tests.
                    self.ch.send({"t": "missing", "ids": missing})
                    gone = set(missing)
                    ids = [i for i in ids if i not in gone]
                queue.extend(ids)
                state["nomore"] = False
            elif kind == "collect":
                self.errors, self.collect_skips, self.deselected = [], [], 0
                got = self._collect(session, cmd.get("files") or [])
                self.ch.send(
                    {
                        "t": "collected",
                        "tests": [_entry(item) for item in got],
                        "errors": self.errors,
                        "skips": self.collect_skips,
                        "deselected": self.deselected,
                        "ini_timeout": ini_timeout,
                    }
                )
            elif kind == "none":
                state["nomore"] = True
            elif kind == "revoke":
                # Taken back for an idle worker (see Channel.claim).
                gone = set(cmd.get("ids") or [])
                queue[:] = [q for q in queue if q not in gone]
                self.ch.gen_seen = cmd.get("gen") or 0
            elif kind == "stop":
                if queue:
                    self.ch.send({"t": "dropped", "ids": list(queue)})
                    del queue[:]
                state["nomore"] = True
            elif kind == "shutdown":
                state["shutdown"] = True
                state["nomore"] = True
            return kind

        # With -x or --maxfail the controller must hear of a failure before
        # this worker starts another test: a failed test's done goes out at
        # once, and the worker waits for "go" (or "stop").
        maxfail = _maxfail(config)
        kept_for = [None]
        while True:
            if not queue:
                if state["shutdown"]:
                    break
                state["nomore"] = False
                self.ch.send({"t": "want", "idle": True})
                handle(self.ch.recv())
                continue
            # Commands that came while the last test ran (a stop after
            # Ctrl-C or --maxfail, more work) apply before the next starts,
            # so a stop keeps every test not started yet.
            while True:
                cmd = self.ch.recv(block=False)
                if cmd is None:
                    break
                handle(cmd)
            if not queue:
                continue
            if len(queue) == 1 and not state["nomore"]:
                # The last test held: ask for more first, to know its
                # nextitem. The answer may be a stop that drops it.
                self.ch.send({"t": "want"})
                while True:
                    kind = handle(self.ch.recv())
                    if kind in ("run", "none", "stop", "shutdown"):
                        break
                if not queue:
                    continue
            self.ch.claim(seq + 1, handle, queue)
            if not queue:
                continue
            nodeid = queue.pop(0)
            item = items.get(nodeid)
            if kept_for[0] is not None and item is not kept_for[0]:
                # The test the last one kept its fixtures for was taken
                # back: this one's setup tears down what it does not share.
                self.stale_setup = True
            kept_for[0] = None
            if item is None:
                # Its file failed to collect in this process: the test
                # ends with that collection error, as its file would
                # under pytest.
                error = self.collect_failed.pop(nodeid, "")
                seq += 1
                self.ch.phase(seq, "setup")
                self.ch.send({"t": "start", "id": nodeid})
                self.ch.post(
                    {
                        "t": "report",
                        "id": nodeid,
                        "report": {
                            "when": "setup",
                            "outcome": "failed",
                            "category": "error",
                            "dur": 0,
                            "longrepr": error or "herd: this worker did not collect %s" % nodeid,
                            "message": _last_line(error) or "not collected by this worker",
                        },
                    }
                )
                self.ch.post({"t": "done", "id": nodeid, "dur": 0})
                continue
            if self.frozen is None:
                self._freeze_marks()
            nextitem = items.get(queue[0]) if queue else None
            kept_for[0] = nextitem
            self.current = nodeid
            self.failed = False
            self.passed_phases, self.passed_durs = "", []
            seq += 1
            self.ch.phase(seq, "setup")
            self._mark(nodeid)
            self.ch.send({"t": "start", "id": nodeid})
            spawns.take()
            before = leaks.begin(session)
            start = time.perf_counter()
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            dur = time.perf_counter() - start
            self._mark("")
            done = {"t": "done", "id": nodeid, "dur": dur}
            if self.passed_phases:
                done["pp"], done["pd"] = self.passed_phases, self.passed_durs
            props = getattr(item, "user_properties", None)
            if props:
                # record_property's pairs, for herd's JUnit report.
                done["props"] = [[_cut(str(k), MAX_LINE), _cut(str(v))] for k, v in props]
            found = leaks.check(session, before)
            if found:
                done["leaks"] = found
            if spawns.take():
                done["spawned"] = True
            self.ch.post(done)
            self.current = None
            if maxfail and self.failed and queue:
                self.ch.send({"t": "ask"})
                while True:
                    kind = handle(self.ch.recv())
                    if kind in ("go", "stop", "shutdown"):
                        break
        return True

    def _mark(self, nodeid):
        """Under -s, mark in fds 1 and 2 that what follows is nodeid's
        output ("": no test's), after what Python still buffers for them."""
        if self.live_mark is None:
            return
        mark = self.live_mark + nodeid.encode("utf-8", "replace") + b"\0"
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:
                pass
        for fd in (1, 2):
            try:
                os.write(fd, mark)
            except OSError:
                pass

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        if self.stale_setup:
            # The last test ran with a nextitem that was then taken back
            # (revoke), so it kept fixtures (a module's, a class's) this
            # test may not share: tear them down first, as pytest would
            # have after the last test. A finalizer's error is this
            # setup's error.
            self.stale_setup = False
            item.session._setupstate.teardown_exact(item)

    def pytest_runtest_logreport(self, report):
        config = self.config
        if report.when == "setup" and self.leaks is not None:
            self.leaks.setup_done()
        if report.failed and not hasattr(report, "wasxfail"):
            # What pytest's session counts towards --maxfail.
            self.failed = True
        res = config.hook.pytest_report_teststatus(report=report, config=config)
        category = res[0] if res else report.outcome
        msg = {
            "when": report.when,
            "outcome": report.outcome,
            "category": category,
            "dur": report.duration,
        }
        if report.failed or report.skipped:
            msg["longrepr"] = _longrepr(report, config)
            msg["message"] = _cut(_message(report), MAX_LINE)
            msg["crashline"] = _cut(_crashline(report), MAX_LINE)
            msg["head"] = _cut(report.head_line or "", MAX_LINE)
        if hasattr(report, "wasxfail"):
            msg["wasxfail"] = _cut(str(report.wasxfail), MAX_LINE)
            msg["head"] = report.head_line or ""
        sections = _sections(config, report)
        if sections and (report.failed or report.when == "call" or report.when == "teardown"):
            msg["sections"] = sections
        if (
            report.passed
            and report.nodeid == self.current
            and category == ("passed" if report.when == "call" else "")
            and len(msg) == 4
        ):
            # A phase that passed plainly rides on the test's done message:
            # one letter and its duration, not a message of its own.
            self.passed_phases += report.when[0]
            self.passed_durs.append(report.duration)
        else:
            self.ch.post({"t": "report", "id": report.nodeid, "report": msg})
        if report.when == "setup":
            self.ch.phase(None, "call")
        elif report.when == "call":
            self.ch.phase(None, "teardown")


def _capture_off(config):
    """Whether pytest's capture is off: -s, --capture=no, or the capture
    plugin blocked (-p no:capture)."""
    if config.pluginmanager.getplugin("capturemanager") is None:
        return True
    return getattr(config.option, "capture", "fd") == "no"


def _worker_basetemp(config, workerid):
    """Give this worker the base temporary directory pytest-xdist gives its
    workers: popen-<workerid> in the run's numbered directory, which herd
    made and locked (HERD_BASETEMP), or in the --basetemp the user gave.
    Then no worker makes a numbered directory of its own, so none deletes
    older ones (another worker's among them) at exit: herd does that once,
    when the run is over."""
    given = getattr(config.option, "basetemp", None)
    run_dir = os.environ.get("HERD_BASETEMP")
    if given:
        run_dir = os.path.abspath(str(given))
        try:
            os.makedirs(run_dir, mode=0o700, exist_ok=True)
        except OSError:
            return
    if not run_dir:
        return
    config.option.basetemp = os.path.join(run_dir, "popen-" + workerid)


def _share_seed(config, workerinput):
    """Seed pytest-randomly and hypothesis as pytest and xdist would, unless
    the user asked herd for a seed (herd --seed N, in HERD_SEED).

    Without --seed their options stay as given. pytest-randomly under xdist
    takes the seed its controller drew from workerinput["randomly_seed"]
    (its pytest_configure_node hook puts it there); herd is the controller
    here and puts the run's seed (HERD_RUN_SEED) there, so every worker
    shares one seed, which pytest-randomly prints itself. Hypothesis gets no
    seed: a forced seed would turn its example database off.

    With --seed N each plugin whose own seed option was not given gets N,
    and the returned header line says so."""
    opt = config.option
    try:
        seed = int(os.environ.get("HERD_SEED", ""))
    except ValueError:
        seed = None
    used = []
    if hasattr(opt, "randomly_seed"):
        if seed is not None and opt.randomly_seed == "default":
            opt.randomly_seed = seed
            used.append("pytest-randomly")
        shared = opt.randomly_seed
        if not isinstance(shared, int):
            try:
                shared = int(os.environ.get("HERD_RUN_SEED", ""))
            except ValueError:
                shared = None
        if shared is not None:
            workerinput["randomly_seed"] = shared
    if seed is not None and hasattr(opt, "hypothesis_seed") and opt.hypothesis_seed is None:
        opt.hypothesis_seed = seed
        used.append("hypothesis")
    if not used:
        return None
    return "herd seed: %d for %s (herd --seed %d reproduces it)" % (seed, ", ".join(used), seed)


def _cachedir(config):
    cache = getattr(config, "cache", None)
    if cache is None:
        return ""
    return str(getattr(cache, "_cachedir", ""))


def _pytest_version():
    return pytest.__version__


def _silence_terminal(config):
    """Send the worker's own terminal output (progress, summaries) nowhere:
    the controller prints the run's report. Test output under -s still
    reaches the real stdout, which herd streams."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is None:
        return
    try:
        from _pytest._io import TerminalWriter

        devnull = open(os.devnull, "w")
        _silence_terminal.devnull = devnull
        tr._tw = TerminalWriter(file=devnull)
    except Exception:
        pass


def _header_lines(config):
    """The lines pytest prints under "test session starts", as its terminal
    reporter builds them: the platform line, then what every plugin's
    pytest_report_header returns (pytest's own rootdir, testpaths and
    plugins, pytest-timeout's timeout lines, cachedir...), in pytest's
    order. --no-header leaves them out."""
    import platform

    import pluggy

    if getattr(config.option, "no_header", False):
        return []
    verinfo = platform.python_version()
    msg = "platform %s -- Python %s" % (sys.platform, verinfo)
    pypy_version_info = getattr(sys, "pypy_version_info", None)
    if pypy_version_info:
        verinfo = ".".join(map(str, pypy_version_info[:3]))
        msg += "[pypy-%s-%s]" % (verinfo, pypy_version_info[3])
    msg += ", pytest-%s, pluggy-%s" % (pytest.__version__, pluggy.__version__)
    opt = config.option
    if (getattr(opt, "verbose", 0) or 0) > 0 or getattr(opt, "debug", False) or getattr(opt, "pastebin", None):
        msg += " -- " + str(sys.executable)
    lines = [msg]
    try:
        extra = config.hook.pytest_report_header(config=config, start_path=config.invocation_params.dir)
    except Exception:
        extra = []
    for group in reversed(extra or []):
        if isinstance(group, str):
            group = [group]
        for text in group:
            for line in str(text).split("\n"):
                if line.startswith("plugins: "):
                    line = _plugins_line(config, line)
                lines.append(line)
    return lines


def _collection_lines(config, items):
    """What plugins print right after pytest's "collected N items" line
    (pytest_report_collectionfinish): --lf's "run-last-failure: ...",
    --sw's "stepwise: ...". The worker's terminal is silent, so herd's
    controller prints them."""
    try:
        got = config.hook.pytest_report_collectionfinish(
            config=config, start_path=config.invocation_params.dir, items=items
        )
    except Exception:
        return []
    lines = []
    for group in reversed(got or []):
        if isinstance(group, str):
            group = [group]
        for text in group:
            lines.extend(str(text).split("\n"))
    return lines


def _rerun_blocked_by_herd(config):
    """Whether pytest-rerunfailures is installed and kept out of the worker
    by herd alone (herd_boot.py passes -p no:rerunfailures first), so that
    pytest would have loaded it."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    if config.pluginmanager.get_plugin("rerunfailures") is not None:
        return False
    user = list(config.invocation_params.args[2:])
    try:
        user += list(config.getini("addopts"))
    except (ValueError, TypeError):
        pass
    user += os.environ.get("PYTEST_ADDOPTS", "").split()
    return not any(a.endswith("no:rerunfailures") for a in user)


def _plugins_line(config, line):
    """pytest's "plugins:" line, with pytest-rerunfailures where pytest lists
    it: herd keeps it out of its workers, but pytest would have loaded it.
    The order is the one pluggy loads entry points in."""
    if not _rerun_blocked_by_herd(config):
        return line
    try:
        from importlib import metadata

        loaded = {dist.project_name for _, dist in config.pluginmanager.list_plugin_distinfo()}
        names = []
        added = False
        for dist in metadata.distributions():
            project = dist.metadata["name"]
            for ep in dist.entry_points:
                if ep.group != "pytest11":
                    continue
                if ep.name == "rerunfailures":
                    added = True
                elif project not in loaded:
                    continue
                name = "%s-%s" % (project, dist.version)
                if name.startswith("pytest-"):
                    name = name[7:]
                if name not in names:
                    names.append(name)
        if not added:
            return line
        return "plugins: " + ", ".join(names)
    except Exception:
        return line
