"""Tests that kill their worker, among ordinary ones."""
import crashers
import pytest


def test_before_crashes():
    assert 1 + 1 == 2


def test_crash_segfault_1():
    crashers.segfault()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_between(n):
    assert n > 0


def test_crash_abort_1():
    crashers.abort()


def test_fails_between():
    assert "a" == "b"


def test_crash_exit3_1():
    crashers.exit3()


def test_crash_sigkill_1():
    crashers.sigkill()


@pytest.mark.skip(reason="skipped between crashes")
def test_skipped_between():
    pass


def test_crash_oom_1():
    # Stands for the OOM killer: SIGKILL, no Python traceback.
    crashers.oom()


def test_after_crashes():
    assert [] == []
