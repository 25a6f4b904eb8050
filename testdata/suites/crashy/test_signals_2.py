"""More crashes: in a class, in a thread, parametrized."""
import threading

import crashers
import pytest


class TestCrashes:
    def test_ok_first(self):
        assert True

    def test_crash_segfault_2(self):
        crashers.segfault()

    def test_ok_second(self):
        assert True

    def test_crash_abort_2(self):
        crashers.abort()


def test_crash_segfault_in_thread():
    t = threading.Thread(target=crashers.segfault)
    t.start()
    t.join()


@pytest.mark.parametrize("kind", ["segfault", "abort", "exit3", "sigkill"])
def test_crash_param(kind):
    getattr(crashers, kind)()


def test_crash_sigkill_2():
    crashers.sigkill()


def test_crash_exit3_2():
    crashers.exit3()


@pytest.mark.xfail(reason="expected", strict=False)
def test_xfail_here():
    raise ValueError("expected")


def test_fails_here():
    raise AssertionError("plain failure among crashes")


@pytest.mark.parametrize("n", [10, 20, 30])
def test_param_ok(n):
    assert n % 10 == 0
