"""The pytest plugin that turns one pytest session into a herd worker: its
hooks, and the state they share with split collection and the run loop."""

import os
import sys

import pytest

from . import deps, xdistcompat
from .collect import SplitCollection, _splittable
from .hold import Hold
from .loop import RunLoop
from .messages import MAX_LINE, _cut, _longrepr, _options, report_body
from .terminal import _cachedir, _capture_off, _collection_lines, _header_lines, _pytest_version, _silence_terminal


class WorkerPlugin(SplitCollection):
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
        # herd watch's warm pool: hold before collection (see hold.py).
        self.hold = Hold() if os.environ.pop("HERD_HOLD", None) == "1" else None
        # What each test depends on, when HERD_DEPS asks for it (see
        # deps.py); None installs nothing.
        self.deps = deps.recorder(channel)

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

    def pytest_cmdline_main(self, config):
        xdistcompat.neutralise_xdist(config)

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        self.config = config
        xdistcompat.neutralise_xdist(config)
        if self.deps is not None:
            self.deps.configure(config)
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
        workerinput = xdistcompat.workerinput_of(workerid)
        self.seed_note = xdistcompat._share_seed(config, workerinput)
        # herd --timeout N stands for pytest-timeout's --timeout N: the
        # plugin reads it as it would (its header says "timeout: N s"),
        # and herd, not the plugin, enforces it.
        herd_timeout = os.environ.pop("HERD_TIMEOUT", None)
        if herd_timeout and hasattr(config.option, "timeout"):
            try:
                config.option.timeout = float(herd_timeout)
            except ValueError:
                pass
        xdistcompat._worker_basetemp(config, workerid)
        self.controlled = xdistcompat.configure_worker(config, self.ch, workerid, workerinput)
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

    @pytest.hookimpl(hookwrapper=True)
    def pytest_sessionfinish(self, session, exitstatus):
        # As xdist's worker: config.workeroutput, with the exit status, goes
        # to the controller once every other plugin has written to it.
        yield
        if not getattr(self, "controlled", False):
            return
        msg = xdistcompat.workeroutput_message(self.config, exitstatus)
        if msg is not None:
            self.ch.send(msg)

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
        if self.hold is not None:
            self.hold.wait(self.ch, config)

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
        return RunLoop(self, session).run()


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
        msg = report_body(config, report, category)
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
