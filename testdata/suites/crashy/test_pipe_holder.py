"""A worker that dies while a child it forked, in a session of its own,
holds every pipe of the worker open: the run must not wait for the child,
and the child must not outlive the run."""
import os
import time

import crashers


def test_ok_before_escape():
    assert True


def test_crash_segfault_setsid_child_holds_pipes():
    if os.fork() == 0:
        os.setsid()
        try:
            time.sleep(300)
        finally:
            os._exit(0)
    crashers.segfault()
