"""Tests that kill their worker: a segfault, an abort and os._exit."""
import ctypes
import os
import time


def test_segfault():
    time.sleep(0.3)
    ctypes.string_at(0)


def test_abort():
    time.sleep(0.2)
    os.abort()


def test_exit_code():
    time.sleep(0.2)
    os._exit(3)


def test_after_crashes():
    time.sleep(0.2)
