"""KeyboardInterrupt raised by a test (not a Ctrl-C): plain pytest stops the
whole session; in herd it ends the worker, and only that test."""
import pytest


def test_ok_before_interrupt():
    assert True


def test_crash_keyboard_interrupt():
    raise KeyboardInterrupt


def test_ok_after_interrupt():
    assert True


@pytest.mark.parametrize("n", [1, 2])
def test_ok_param(n):
    assert n
