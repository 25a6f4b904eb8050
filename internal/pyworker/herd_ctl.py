"""herd's xdist controller: the part of pytest-xdist's controller process that
plugins and conftests hook into, without xdist's scheduling.

herd starts it (at most once per run, and only when a worker finds a plugin
or conftest that implements one of xdist's controller-side hooks) as
``python herd_ctl.py [pytest args]``, with the same interpreter, directory,
environment and pytest arguments as the workers. It configures pytest as
xdist's controller does (xdist loaded, -n N, no workerinput; xdist's
distributed session blocked, so it starts nothing), runs pytest_configure,
pytest_sessionstart and pytest_xdist_setupnodes, then obeys herd's commands,
one JSON line each on fd 3, answering each with one JSON line on fd 4:

- node: pytest_xdist_newgateway and pytest_configure_node for one worker
  process; the answer carries its workerinput (marshal, then base64).
- ready: pytest_testnodeready, once the worker's session started.
- down: pytest_testnodedown(node, error), with node.workeroutput when the
  worker sent it.
- finish: pytest_sessionfinish(session, exitstatus), pytest_unconfigure.

A hook that raises answers {"t": "error"} with its traceback. Its own output
goes to stdout and stderr, which herd keeps and shows only when it fails.
"""

import base64
import json
import marshal
import os
import sys
import traceback

PROTOCOL = 1


def encode(value):
    """Encode value as xdist's execnet channel would carry it: marshal keeps
    None, bool, int, float, complex, str, bytes, list, tuple, dict, set and
    frozenset apart, as execnet's serializer does."""
    return base64.b64encode(marshal.dumps(value)).decode("ascii")


def decode(text):
    return marshal.loads(base64.b64decode(text))


class _Spec:
    """The parts of execnet's XSpec that plugins read."""

    def __init__(self, workerid):
        self.id = workerid
        self.popen = True
        self.chdir = None
        self.python = None
        self.env = {}

    def __repr__(self):
        return "<XSpec 'popen' id=%r>" % self.id


class _RInfo:
    def __init__(self):
        self.executable = sys.executable
        self.version_info = tuple(sys.version_info)
        self.platform = sys.platform
        self.cwd = os.getcwd()


class _Gateway:
    """The parts of an execnet gateway that xdist hooks use."""

    def __init__(self, workerid):
        self.id = workerid
        self.spec = _Spec(workerid)

    def _rinfo(self, update=False):
        return _RInfo()

    def __repr__(self):
        return "<Gateway id=%r>" % self.id


class _NodeManager:
    def __init__(self, specs, testrunuid):
        self.specs = specs
        self.testrunuid = testrunuid
        self.roots = []


class _Node:
    """What xdist's node hooks get: the parts of xdist's WorkerController
    plugins use (workerinput, gateway, config, nodemanager, workeroutput
    once the worker finished, workerinfo once it is ready)."""

    def __init__(self, nodemanager, gateway, config, workercount):
        self.nodemanager = nodemanager
        self.gateway = gateway
        self.config = config
        self.workerinput = {
            "workerid": gateway.id,
            "workercount": workercount,
            "testrunuid": nodemanager.testrunuid,
            "mainargv": list(sys.argv),
        }

    def __repr__(self):
        return "<WorkerController %s>" % self.gateway.id


def _user_trace(exc):
    """The traceback of exc without the frames of herd, pluggy and pytest
    that called the user's hook."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if os.path.basename(f.filename) != "herd_ctl.py"
        and "/pluggy/" not in f.filename
        and "/_pytest/" not in f.filename
    ]
    out = ["Traceback (most recent call last):\n"] if frames else []
    out += traceback.format_list(frames)
    out += traceback.format_exception_only(type(exc), exc)
    return "".join(out)


class _Failed(Exception):
    def __init__(self, hook, trace):
        Exception.__init__(self, hook)
        self.hook = hook
        self.trace = trace


def _call(hook, name, **kwargs):
    caller = getattr(hook, name, None)
    if caller is None:
        return None
    try:
        return caller(**kwargs)
    except Exception as exc:  # the user's hook: report it, go on
        raise _Failed(name, _user_trace(exc))


def _configure(args, workers):
    """Configure pytest as xdist's controller does; returns the config."""
    import pytest  # noqa: F401
    from _pytest.config import get_config

    config = get_config(args)
    pm = config.pluginmanager
    # xdist's distributed session would start workers of its own; herd's
    # workers are the nodes. pytest-cov's controller part is herd's own
    # coverage finisher.
    pm.set_blocked("dsession")
    pm.set_blocked("_cov")
    try:
        config = pm.hook.pytest_cmdline_parse(pluginmanager=pm, args=args)
    except BaseException:
        config._ensure_unconfigure()
        raise
    opt = config.option
    # As xdist's pytest_cmdline_main leaves them for -n N.
    if hasattr(opt, "numprocesses"):
        opt.numprocesses = workers
        if getattr(opt, "dist", "no") == "no":
            opt.dist = "load"
        opt.tx = ["popen"] * workers
    import herd_worker

    # Seeds as in the workers (herd --seed), and pytest-randomly's
    # default seed is the run's, which workers without this controller get.
    herd_worker._share_seed(config, {})
    if getattr(opt, "randomly_seed", None) == "default":
        try:
            opt.randomly_seed = int(os.environ.get("HERD_RUN_SEED", ""))
        except ValueError:
            pass
    return config


class Controller:
    def __init__(self, cmd_fd, msg_fd):
        self.cmd = os.fdopen(cmd_fd, "rb")
        self.msg_fd = msg_fd
        self.config = None
        self.session = None
        self.nodes = {}
        self.workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        self.testrunuid = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")
        self.specs = []
        self.nodemanager = None
        self.args = []

    def send(self, msg):
        data = (json.dumps(msg, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            n = os.write(self.msg_fd, view)
            view = view[n:]

    def start(self, cmd):
        from _pytest.main import Session
        import herd_worker

        try:
            self.config = config = _configure(self.args, self.workers)
            config._do_configure()
        except Exception as exc:
            raise _Failed("pytest_configure", _user_trace(exc))
        # The header and summary are herd's to print.
        herd_worker._silence_terminal(config)
        self.session = Session.from_config(config)
        self.session.exitstatus = 0
        _call(config.hook, "pytest_sessionstart", session=self.session)
        self.specs = [_Spec("gw%d" % i) for i in range(self.workers)]
        self.nodemanager = _NodeManager(self.specs, self.testrunuid)
        _call(config.hook, "pytest_xdist_setupnodes", config=config, specs=self.specs)
        return {}

    def node(self, cmd):
        workerid = cmd["id"]
        gateway = _Gateway(workerid)
        _call(self.config.hook, "pytest_xdist_newgateway", gateway=gateway)
        node = _Node(self.nodemanager, gateway, self.config, self.workers)
        self.nodes[workerid] = node
        _call(self.config.hook, "pytest_configure_node", node=node)
        try:
            data = encode(node.workerinput)
        except ValueError as exc:
            raise _Failed(
                "pytest_configure_node",
                "node.workerinput holds a value xdist could not send to a worker "
                "(only None, bool, int, float, complex, str, bytes and lists, tuples, "
                "dicts and sets of them): %s\n" % exc,
            )
        return {"data": data}

    def ready(self, cmd):
        node = self.nodes.get(cmd["id"])
        if node is None:
            return {}
        node.workerinfo = {
            "version": sys.version,
            "version_info": tuple(sys.version_info),
            "sysplatform": sys.platform,
            "platform": sys.platform,
            "executable": sys.executable,
            "cwd": os.getcwd(),
            "pid": cmd.get("pid", 0),
            "id": node.gateway.id,
            "spec": node.gateway.spec,
        }
        _call(self.config.hook, "pytest_testnodeready", node=node)
        return {}

    def down(self, cmd):
        node = self.nodes.pop(cmd["id"], None)
        if node is None:
            return {}
        if cmd.get("output"):
            node.workeroutput = decode(cmd["output"])
        _call(self.config.hook, "pytest_testnodedown", node=node, error=cmd.get("error"))
        return {}

    def finish(self, cmd):
        status = int(cmd.get("exitstatus", 0))
        try:
            import pytest

            status = pytest.ExitCode(status)
        except (ValueError, AttributeError):
            pass
        self.session.exitstatus = status
        try:
            _call(self.config.hook, "pytest_sessionfinish", session=self.session, exitstatus=status)
        finally:
            try:
                self.config._ensure_unconfigure()
            except BaseException as exc:
                raise _Failed("pytest_unconfigure", _user_trace(exc))
        return {}

    def serve(self):
        for line in self.cmd:
            cmd = json.loads(line)
            kind = cmd.get("t")
            try:
                out = getattr(self, kind)(cmd)
            except _Failed as f:
                self.send({"t": "error", "hook": f.hook, "trace": f.trace})
                continue
            except Exception as exc:  # herd's own bug: say so, go on
                trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                self.send({"t": "error", "hook": "herd's controller (%s)" % kind, "trace": trace})
                continue
            out["t"] = "ok"
            self.send(out)
            if kind == "finish":
                return 0
        return 0


def main():
    sys.argv[0] = "herd"
    from herd_boot import take_pipes

    pipes = take_pipes("herd_ctl.py")
    if pipes is None:
        return 4
    cmd_fd, msg_fd, _ = pipes
    ctl = Controller(cmd_fd, msg_fd)
    ctl.send({"t": "hello", "v": PROTOCOL, "pid": os.getpid()})
    ctl.args = ["-p", "no:rerunfailures"] + sys.argv[1:]
    return ctl.serve()


if __name__ == "__main__":
    sys.exit(main())
