"""xdist's helper functions and environment variables."""

import os

import pytest

xdist = pytest.importorskip("xdist")


def test_is_xdist_worker(request, mode):
    assert xdist.is_xdist_worker(request) == (mode == "worker")


def test_get_xdist_worker_id(request, worker_id):
    assert xdist.get_xdist_worker_id(request) == worker_id


def test_worker_env(worker_id, mode):
    if mode == "serial":
        assert "PYTEST_XDIST_WORKER" not in os.environ
    else:
        assert os.environ["PYTEST_XDIST_WORKER"] == worker_id


def test_worker_count_env(mode):
    if mode == "serial":
        assert "PYTEST_XDIST_WORKER_COUNT" not in os.environ
    else:
        assert int(os.environ["PYTEST_XDIST_WORKER_COUNT"]) == int(os.environ["COMPAT_WORKERS"])


def test_testrun_uid(testrun_uid, mode):
    assert testrun_uid
    if mode == "serial":
        assert "PYTEST_XDIST_TESTRUNUID" not in os.environ
    else:
        assert os.environ["PYTEST_XDIST_TESTRUNUID"] == testrun_uid


def test_is_xdist_controller(request):
    assert not xdist.is_xdist_controller(request)
