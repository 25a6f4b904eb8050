"""What the crashing tests do to their worker (not a test module)."""

import ctypes
import os
import signal


def segfault():
    ctypes.string_at(0)


def abort():
    os.abort()


def exit3():
    os._exit(3)


def sigkill():
    os.kill(os.getpid(), signal.SIGKILL)


def oom():
    # What the OOM killer does to a process that asks for too much memory;
    # the machine is shared, so the suite does not really exhaust it.
    os.kill(os.getpid(), signal.SIGKILL)
