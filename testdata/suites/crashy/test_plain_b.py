"""Ordinary tests, and a few that end the way plain pytest survives:
sys.exit() in a test is a failure, not a dead worker."""
import sys

import pytest


@pytest.fixture(scope="module")
def table():
    yield {"a": 1, "b": 2}


class TestTable:
    def test_a(self, table):
        assert table["a"] == 1

    def test_b(self, table):
        assert table["b"] == 2

    def test_missing(self, table):
        assert "c" in table


@pytest.mark.parametrize("word", ["alpha", "beta", "gamma", "delta", "epsilon"])
def test_word(word):
    assert word.isalpha()


def test_sys_exit_1():
    # pytest catches SystemExit from a test: the test fails, the run goes on.
    sys.exit(1)


def test_sys_exit_0():
    sys.exit(0)


def test_skip_inside():
    pytest.skip("skipped at run time")


@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown fails")


def test_teardown_error(bad_teardown):
    pass


def test_last():
    assert True
