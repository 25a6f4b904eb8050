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


def take_pipes(name):
    """Take the protocol pipes herd passed (HERD_CMD_FD, HERD_MSG_FD and,
    for a worker, HERD_BOARD_FD), moved to high close-on-exec fds so that
    what a test spawns or closes cannot touch them. It returns (cmd, msg,
    board or None), or None after a line on stderr when herd did not start
    this process (name is the script's)."""
    if os.environ.get("HERD_WORKER_MAGIC") != "herd-worker-b5c1":
        sys.stderr.write("%s is started by herd, not by hand\n" % name)
        return None
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
    return cmd_fd, msg_fd, board_fd


def _main():
    # pytest's usage messages name sys.argv[0]; the user ran herd.
    sys.argv[0] = "herd"
    if os.environ.pop("HERD_PLAIN", None) == "1":
        return _plain()
    pipes = take_pipes("herd_boot.py")
    if pipes is None:
        return 4
    cmd_fd, msg_fd, board_fd = pipes

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
