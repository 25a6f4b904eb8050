import pytest


def test_memo_restored(pytestconfig):
    from conftest import SETTING

    memo = pytestconfig._memo
    assert memo == SETTING
    assert type(memo["blob"]) is bytes
    assert type(memo["pair"]) is tuple
    assert type(memo["tags"]) is frozenset
    assert type(memo["z"]) is complex


def test_db_per_worker(pytestconfig, worker_id):
    assert pytestconfig.workerinput["db_name"] == "db_" + worker_id


@pytest.mark.parametrize("n", range(6))
def test_many(n):
    assert n >= 0


def test_fails():
    assert 1 == 2
