"""Ordinary tests with a little work in them, so their bars can be seen."""
import time

import pytest


@pytest.mark.parametrize("n", range(6))
def test_compute(n):
    time.sleep(0.15 + 0.05 * n)
    assert sum(range(n + 1)) == n * (n + 1) // 2


def test_parse_fails():
    time.sleep(0.2)
    assert int("41") == 42


@pytest.mark.skip(reason="not on this platform")
def test_skipped():
    pass


@pytest.mark.xfail(reason="known bug")
def test_known_bug():
    time.sleep(0.1)
    assert False
