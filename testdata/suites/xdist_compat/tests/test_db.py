"""Tests that share their worker's session database."""

import os

import pytest


@pytest.mark.parametrize("n", range(24))
def test_insert_and_read(db, request, n):
    before = db.count()
    rowid = db.insert(request.node.nodeid)
    assert db.count() == before + 1
    assert db.get(rowid) == (request.node.nodeid, os.getpid())


def test_database_named_after_worker(db, worker_id):
    assert os.path.basename(db.path) == worker_id + ".sqlite"
    assert os.path.dirname(db.path) == os.environ["COMPAT_DB_DIR"]


def test_rows_are_this_process(db):
    # One session database per worker process: every row this process can
    # see that it did not inherit was written by it.
    pids = {pid for (pid,) in db.conn.execute("SELECT pid FROM rows WHERE id > ?", (db.rows_at_open,))}
    assert pids <= {os.getpid()}


class TestTable:
    def test_schema(self, db):
        cols = [r[1] for r in db.conn.execute("PRAGMA table_info(rows)")]
        assert cols == ["id", "nodeid", "pid"]

    def test_missing_row(self, db):
        assert db.get(-1) is None
