"""The run-test loop: after collection, the worker asks the controller for
tests and runs them one pytest_runtest_protocol at a time, each with the
nextitem pytest would give it, so fixtures of every scope are torn down
when pytest would tear them down."""

import os
import time

from .leaks import LeakTracker, SpawnFlag
from .messages import MAX_LINE, _cut, _entry, _last_line, collection


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


def _ini_timeout(config):
    """pytest-timeout's ini option "timeout", in seconds; 0 without one."""
    try:
        return float(config.getini("timeout") or 0)
    except (ValueError, TypeError):
        # pytest-timeout is not installed: read the raw ini value, so a
        # suite's "timeout = 300" still means what it says.
        try:
            return float(config.inicfg.get("timeout") or 0)
        except (ValueError, TypeError, AttributeError):
            return 0.0


def _file_entry(leaf):
    """What the controller learns of one file of a split collection."""
    size = 0
    try:
        size = os.path.getsize(str(leaf.path))
    except (OSError, AttributeError):
        pass
    return {"id": leaf.nodeid, "size": size}


class RunLoop:
    """One session's run-test loop. plugin is the WorkerPlugin: its
    collection state, its channel (ch), and what its report hooks note
    about the running test (current, failed, passed_phases, stale_setup)."""

    def __init__(self, plugin, session):
        self.plugin = plugin
        self.session = session
        self.ch = plugin.ch
        self.items = plugin.items
        self.queue = []
        self.seq = 0
        self.shutdown = False
        self.nomore = False
        self.ini_timeout = _ini_timeout(session.config)
        self.spawns = None
        self.leaks = None
        # The test the last one kept its fixtures for (its nextitem).
        self.kept_for = None

    def announce(self):
        """Tell the controller what the session collected: its files when
        collection is split, else its tests."""
        p = self.plugin
        if p.split and p.leaves is not None:
            files = [_file_entry(leaf) for leaf in p.leaves]
            kind = "files"
        else:
            for item in self.session.items:
                self.items.setdefault(item.nodeid, item)
            files = [_entry(item) for item in self.session.items]
            kind = "collected"
        self.ch.send(
            collection(kind, files, p.errors, p.collect_skips, p.deselected, self.ini_timeout, p.collect_lines)
        )

    def handle(self, cmd):
        """Apply one command; returns its type."""
        p = self.plugin
        queue = self.queue
        kind = cmd.get("t")
        if kind == "run":
            ids = cmd.get("ids") or []
            if p.leaves is not None:
                missing = p._collect_for(self.session, ids)
            else:
                missing = [i for i in ids if i not in self.items]
            if missing:
                # Another process runs them: this one's collection
                # has no such tests.
                self.ch.send({"t": "missing", "ids": missing})
                gone = set(missing)
                ids = [i for i in ids if i not in gone]
            queue.extend(ids)
            self.nomore = False
        elif kind == "collect":
            p.errors, p.collect_skips, p.deselected = [], [], 0
            got = p._collect(self.session, cmd.get("files") or [])
            self.ch.send(
                collection(
                    "collected", [_entry(item) for item in got], p.errors, p.collect_skips, p.deselected, self.ini_timeout
                )
            )
        elif kind == "none":
            self.nomore = True
        elif kind == "revoke":
            # Taken back for an idle worker (see Channel.claim).
            gone = set(cmd.get("ids") or [])
            queue[:] = [q for q in queue if q not in gone]
            self.ch.gen_seen = cmd.get("gen") or 0
        elif kind == "stop":
            if queue:
                self.ch.send({"t": "dropped", "ids": list(queue)})
                del queue[:]
            self.nomore = True
        elif kind == "shutdown":
            # As an xdist worker, which collected the whole suite, the
            # session counts the run's tests: a worker handed none of them
            # ends with 0 or 1 as its exit status, not 5.
            total = cmd.get("collected") or 0
            if total > self.session.testscollected:
                self.session.testscollected = total
            self.shutdown = True
            self.nomore = True
        return kind

    def wait_for(self, kinds):
        """Apply commands until one of kinds came."""
        while True:
            if self.handle(self.ch.recv()) in kinds:
                return

    def run(self):
        self.announce()
        self.spawns = SpawnFlag()
        self.leaks = self.plugin.leaks = LeakTracker(self.spawns)
        # With -x or --maxfail the controller must hear of a failure before
        # this worker starts another test: a failed test's done goes out at
        # once, and the worker waits for "go" (or "stop").
        maxfail = _maxfail(self.session.config)
        queue = self.queue
        while True:
            if not queue:
                if self.shutdown:
                    break
                self.nomore = False
                self.ch.send({"t": "want", "idle": True})
                self.handle(self.ch.recv())
                continue
            # Commands that came while the last test ran (a stop after
            # Ctrl-C or --maxfail, more work) apply before the next starts,
            # so a stop keeps every test not started yet.
            while True:
                cmd = self.ch.recv(block=False)
                if cmd is None:
                    break
                self.handle(cmd)
            if not queue:
                continue
            if len(queue) == 1 and not self.nomore:
                # The last test held: ask for more first, to know its
                # nextitem. The answer may be a stop that drops it.
                self.ch.send({"t": "want"})
                self.wait_for(("run", "none", "stop", "shutdown"))
                if not queue:
                    continue
            self.ch.claim(self.seq + 1, self.handle, queue)
            if not queue:
                continue
            nodeid = queue.pop(0)
            item = self.items.get(nodeid)
            if self.kept_for is not None and item is not self.kept_for:
                # The test the last one kept its fixtures for was taken
                # back: this one's setup tears down what it does not share.
                self.plugin.stale_setup = True
            self.kept_for = None
            if item is None:
                self.run_uncollected(nodeid)
                continue
            failed = self.run_one(nodeid, item)
            if maxfail and failed and queue:
                self.ch.send({"t": "ask"})
                self.wait_for(("go", "stop", "shutdown"))
        return True

    def run_uncollected(self, nodeid):
        """Its file failed to collect in this process: the test ends with
        that collection error, as its file would under pytest."""
        error = self.plugin.collect_failed.pop(nodeid, "")
        self.seq += 1
        self.ch.phase(self.seq, "setup")
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

    def run_one(self, nodeid, item):
        """Run one test; returns whether it failed as pytest's --maxfail
        counts failures."""
        p = self.plugin
        queue = self.queue
        if p.frozen is None:
            p._freeze_marks()
        nextitem = self.items.get(queue[0]) if queue else None
        self.kept_for = nextitem
        p.current = nodeid
        p.failed = False
        p.passed_phases, p.passed_durs = "", []
        self.seq += 1
        self.ch.phase(self.seq, "setup")
        p._mark(nodeid)
        self.ch.send({"t": "start", "id": nodeid})
        self.spawns.take()
        before = self.leaks.begin(self.session)
        rec = p.deps
        if rec is not None:
            rec.begin()
        start = time.perf_counter()
        try:
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        finally:
            if rec is not None:
                rec.end()
        dur = time.perf_counter() - start
        p._mark("")
        done = {"t": "done", "id": nodeid, "dur": dur}
        if p.passed_phases:
            done["pp"], done["pd"] = p.passed_phases, p.passed_durs
        props = getattr(item, "user_properties", None)
        if props:
            # record_property's pairs, for herd's JUnit report.
            done["props"] = [[_cut(str(k), MAX_LINE), _cut(str(v))] for k, v in props]
        found = self.leaks.check(self.session, before)
        if found:
            done["leaks"] = found
        if self.spawns.take():
            done["spawned"] = True
        if rec is not None:
            rec.post(nodeid, item)
        self.ch.post(done)
        p.current = None
        return p.failed
