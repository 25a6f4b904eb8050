"""Children that outlive their test: a fork that inherits every fd, a fork
that goes on running pytest, and processes in a new session, out of the
worker's process group."""
import os
import subprocess
import time


def test_escape_fork_sleeps():
    pid = os.fork()
    if pid == 0:
        # The child holds every fd the worker holds, the protocol pipes
        # included.
        try:
            time.sleep(30)
        finally:
            os._exit(0)


def test_escape_setsid_grandchild():
    # setsid -f forks: the intermediate process exits at once, so the sleeper
    # is orphaned and leaves the worker's process tree and group.
    subprocess.Popen(["setsid", "-f", "sleep", "300"]).wait()


def test_escape_new_session_child():
    subprocess.Popen(["sleep", "300"], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_plain_child_waited():
    assert subprocess.run(["true"]).returncode == 0


def test_escape_fork_without_exit():
    # The child forgets to exit: it returns from the test and goes on running
    # the session, on the worker's pipes, until herd's leak check kills it.
    if os.fork() != 0:
        time.sleep(0.5)
