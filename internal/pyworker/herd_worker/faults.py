"""Stack dumps when the worker crashes or is about to be killed."""

import faulthandler
import os
import signal

_stderr_fd = None


def install_faulthandler():
    """Dump every thread's stack to stderr on a fatal signal, and on SIGUSR1,
    which herd sends before it kills a test that ran too long."""
    global _stderr_fd
    try:
        _stderr_fd = os.dup(2)
        out = os.fdopen(_stderr_fd, "w", closefd=False)
        faulthandler.enable(file=out, all_threads=True)
        faulthandler.register(signal.SIGUSR1, file=out, all_threads=True)
        # Keep a reference: faulthandler holds only the fd.
        install_faulthandler.out = out
    except Exception:  # pragma: no cover - best effort on odd platforms
        pass
