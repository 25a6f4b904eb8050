"""Finding the processes and threads a test left running (and killing the
processes)."""

import os
import signal
import time


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
