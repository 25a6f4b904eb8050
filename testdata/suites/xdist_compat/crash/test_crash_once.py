"""A test that kills its worker on its first try (os._exit(3)), and tests
that keep using their worker's database: the replacement worker keeps the
slot's worker id, so it reopens the same database file. Run only when named
(herd -n 1 --no-diagnose crash/)."""

import os

import pytest


def test_crash_once(db, tries):
    db.insert("before-crash")
    if tries("crash") == 1:
        os._exit(3)


@pytest.mark.parametrize("n", range(8))
def test_after(db, request, n):
    rowid = db.insert(request.node.nodeid)
    assert db.get(rowid) == (request.node.nodeid, os.getpid())
