"""Start one herd worker: a pytest session driven by herd's controller.

herd runs this file with the suite's interpreter as
``python herd_boot.py [pytest args]``. Running a file (not ``-m pytest`` or
``-c``) keeps the current directory off ``sys.path``, as the ``pytest``
console script does. The protocol pipes arrive as fds 3 and 4; they are moved
to high, close-on-exec fds at once so that tests that spawn programs or close
low fds do not disturb them.
"""

import os
import sys


def _plain():
    # herd hands options that do not run tests (--collect-only, --fixtures,
    # --markers) or need a terminal (--pdb) to one plain pytest process.
    import pytest

    return pytest.main(sys.argv[1:])


def _main():
    # pytest's usage messages name sys.argv[0]; the user ran herd.
    sys.argv[0] = "herd"
    if os.environ.pop("HERD_PLAIN", None) == "1":
        return _plain()
    if os.environ.get("HERD_WORKER_MAGIC") != "herd-worker-b5c1":
        sys.stderr.write("herd_boot.py is started by herd, not by hand\n")
        return 4
    import fcntl

    def move(fd):
        new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 700)
        os.close(fd)
        return new

    cmd_fd = move(int(os.environ.pop("HERD_CMD_FD", "3")))
    msg_fd = move(int(os.environ.pop("HERD_MSG_FD", "4")))
    board_fd = os.environ.pop("HERD_BOARD_FD", None)
    if board_fd is not None:
        board_fd = move(int(board_fd))
    os.environ.pop("HERD_WORKER_MAGIC", None)

    try:
        import pytest
    except ImportError as exc:
        sys.stderr.write("herd: cannot import pytest: %s\n" % exc)
        return 3
    import herd_worker

    channel = herd_worker.Channel(cmd_fd, msg_fd, board_fd)
    herd_worker.install_faulthandler()
    channel.hello()
    plugin = herd_worker.WorkerPlugin(channel)
    # herd reruns failed tests itself (--retries, the flaky marker), so no
    # try is lost; pytest-rerunfailures would rerun inside the worker, and
    # as an xdist-style worker it waits for a controller herd does not run.
    args = ["-p", "no:rerunfailures"] + sys.argv[1:]
    code = pytest.main(args, plugins=[plugin])
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = 3
    channel.send({"t": "bye", "code": code})
    return code


if __name__ == "__main__":
    sys.exit(_main())
