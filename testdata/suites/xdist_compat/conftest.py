"""Fixtures and hooks as suites written for pytest-xdist have them.

- db: a session sqlite database per worker, named after the worker_id
  fixture, as xdist's docs suggest for per-worker resources.
- pytest_configure_node: the controller hands each worker a value in
  node.workerinput; the worker reads it from config.workerinput.
- pytest_configure: code that checks hasattr(config, "workerinput") to know
  whether it runs in a worker.
- an autouse fixture logs, for every test, what the test found: worker id,
  PYTEST_XDIST_* environment, the database file, the pid.
"""

import json
import os
import sqlite3

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    # xdist's controller calls this once per worker before it starts.
    node.workerinput["shard_secret"] = "s-" + node.gateway.id


def pytest_configure(config):
    config.compat_configured_as = "worker" if hasattr(config, "workerinput") else "controller"


def _tries(name):
    """Counts tries of name in COMPAT_STATE_DIR; returns this one's number
    (1 for the first)."""
    path = os.path.join(os.environ["COMPAT_STATE_DIR"], name)
    n = 1
    if os.path.exists(path):
        with open(path) as f:
            n = int(f.read()) + 1
    with open(path, "w") as f:
        f.write(str(n))
    return n


class WorkerDB:
    """A worker's database: the connection, its file, and the rows the file
    held when this process opened it (a replacement worker reopens its
    slot's database)."""

    def __init__(self, path):
        self.path = path
        self.conn = sqlite3.connect(path)
        self.conn.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, nodeid TEXT, pid INTEGER)")
        self.conn.commit()
        self.rows_at_open = self.count()

    def insert(self, nodeid):
        cur = self.conn.execute("INSERT INTO rows (nodeid, pid) VALUES (?, ?)", (nodeid, os.getpid()))
        self.conn.commit()
        return cur.lastrowid

    def get(self, rowid):
        return self.conn.execute("SELECT nodeid, pid FROM rows WHERE id = ?", (rowid,)).fetchone()

    def count(self):
        return self.conn.execute("SELECT COUNT(*) FROM rows").fetchone()[0]


@pytest.fixture(scope="session")
def db(worker_id):
    """A sqlite database of this worker's own: <COMPAT_DB_DIR>/<worker_id>.sqlite."""
    d = WorkerDB(os.path.join(os.environ["COMPAT_DB_DIR"], worker_id + ".sqlite"))
    yield d
    d.conn.close()


@pytest.fixture(autouse=True)
def compat_record(request, worker_id, testrun_uid, db):
    """Appends one JSON line per test to COMPAT_LOG, before the test runs
    (a test that kills its worker is logged too)."""
    rec = {
        "nodeid": request.node.nodeid,
        "worker_id": worker_id,
        "env_worker": os.environ.get("PYTEST_XDIST_WORKER"),
        "env_count": os.environ.get("PYTEST_XDIST_WORKER_COUNT"),
        "env_uid": os.environ.get("PYTEST_XDIST_TESTRUNUID"),
        "testrun_uid": testrun_uid,
        "db": db.path,
        "rows_at_open": db.rows_at_open,
        "pid": os.getpid(),
    }
    line = json.dumps(rec, sort_keys=True) + "\n"
    fd = os.open(os.environ["COMPAT_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    yield rec


@pytest.fixture
def tries():
    """tries(name) counts the tries of name across processes and returns
    this one's number (1 for the first)."""
    return _tries


@pytest.fixture
def mode():
    """"worker" or "serial": what COMPAT_MODE says the tests run as."""
    m = os.environ.get("COMPAT_MODE", "")
    assert m in ("worker", "serial"), "COMPAT_MODE must be worker or serial, got %r" % m
    return m
