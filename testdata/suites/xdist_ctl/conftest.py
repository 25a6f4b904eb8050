"""xdist's controller-side hooks, as plugins use them to memoize their
configuration for workers and to make and drop one resource per worker.

- pytest_configure without workerinput (the controller) memoizes a setting;
  pytest_configure_node hands it to each worker in node.workerinput (with
  bytes, a tuple, a frozenset and a complex, which JSON would lose); the
  worker's pytest_configure restores it from config.workerinput and fails
  with KeyError if it is absent.
- pytest_testnodedown logs "gwN error=..." and what the worker left in
  config.workeroutput; the controller's pytest_sessionfinish logs its exit
  status. The log is the file $CTL_LOG.
"""

import os

SETTING = {
    "db": "testdb",
    "blob": b"\x00\xffraw",
    "pair": (1, "two"),
    "tags": frozenset({"a", "b"}),
    "z": 1 + 2j,
    "none": None,
    "ratio": 0.5,
}


def _log(line):
    path = os.environ.get("CTL_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        # The controller: memoize what the workers will need.
        config._memo = dict(SETTING)
        _log("controller configure numprocesses=%s" % getattr(config.option, "numprocesses", None))
        return
    # A worker: restore what the controller memoized.
    config._memo = config.workerinput["memo"]


def pytest_configure_node(node):
    node.workerinput["memo"] = node.config._memo
    node.workerinput["db_name"] = "db_" + node.gateway.id
    _log("configure_node %s" % node.gateway.id)


def pytest_testnodedown(node, error):
    out = getattr(node, "workeroutput", {})
    _log("testnodedown %s error=%s ran=%s exitstatus=%s" % (node.gateway.id, error, out.get("ran"), out.get("exitstatus")))


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if hasattr(config, "workerinput"):
        config.workeroutput["ran"] = "yes"
        return
    _log("controller sessionfinish exitstatus=%d" % int(exitstatus))
