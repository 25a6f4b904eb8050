"""Tests that never end; their timeout marker lets herd kill them."""
import signal
import threading
import time

import pytest


def test_quick_before_hang():
    assert True


@pytest.mark.timeout(2)
def test_hang_sleep_1():
    time.sleep(3600)


@pytest.mark.timeout(2)
def test_hang_sleep_2():
    time.sleep(3600)


def test_quick_between_hangs():
    assert True


@pytest.mark.timeout(2)
def test_hang_thread_join():
    t = threading.Thread(target=time.sleep, args=(3600,), name="sleeper")
    t.start()
    t.join()


@pytest.mark.timeout(2)
def test_hang_ignores_sigterm():
    # herd's SIGTERM does nothing: its SIGKILL, 2 s later, ends the worker.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(3600)


def test_quick_after_hang():
    assert True
