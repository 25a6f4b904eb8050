"""What pytest-xdist's workers have that herd's worker plays: workerinput
and workeroutput, the node pytest_configure_node gets, the shared seed,
the per-worker basetemp, and the exchange with herd's xdist controller."""

import json
import os
import sys

import pytest

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
    from .plugin import WorkerPlugin

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


def neutralise_xdist(config):
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


def workerinput_of(workerid):
    """The workerinput xdist's controller gives every worker, from the
    environment herd sets as xdist sets it."""
    return {
        "workerid": workerid,
        "workercount": int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")),
        "testrunuid": os.environ.get("PYTEST_XDIST_TESTRUNUID", ""),
        "mainargv": list(sys.argv),
    }


def configure_worker(config, ch, workerid, workerinput):
    """Make config what an xdist worker's is: config.workerinput, filled
    in by the controller's pytest_configure_node, and config.workeroutput.
    Returns whether herd's xdist controller has a part (the worker then
    sends workeroutput at the end)."""
    # xdist's controller calls pytest_configure_node(node) once per
    # worker before the worker starts, and the worker finds what the hook
    # put in node.workerinput in config.workerinput. When a plugin or
    # conftest has a part in xdist's controller, herd's controller
    # plays it: it calls the hook and this worker waits for the result.
    controlled = _needs_controller(config)
    if controlled:
        workerinput.update(_workerinput_from_controller(ch))
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
    return controlled


def _workerinput_from_controller(ch):
    """Ask herd for this worker's workerinput, made by herd's xdist
    controller, and wait for it. Commands that come first wait their
    turn."""
    ch.send({"t": "nodein"})
    held = []
    try:
        while True:
            cmd = ch.recv()
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
            ch.buf = b"".join((json.dumps(c, separators=(",", ":")) + "\n").encode() for c in held) + ch.buf


def workeroutput_message(config, exitstatus):
    """As xdist's worker: config.workeroutput, with the exit status, for
    the controller; None when there is none."""
    out = getattr(config, "workeroutput", None)
    if not isinstance(out, dict):
        return None
    try:
        out["exitstatus"] = int(exitstatus)
        data = _encode(out)
    except (ValueError, TypeError) as exc:
        os.write(2, ("herd: config.workeroutput holds a value xdist could not send: %s\n" % exc).encode())
        data = _encode({"exitstatus": int(exitstatus)})
    return {"t": "workeroutput", "data": data}


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
