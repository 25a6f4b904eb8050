"""Binary garbage on stdout and stderr."""
import os

GARBAGE = bytes(range(256)) * 100


def test_garbage_stdout():
    os.write(1, GARBAGE)


def test_garbage_stderr():
    os.write(2, GARBAGE)


def test_garbage_then_fail():
    os.write(1, GARBAGE)
    os.write(2, GARBAGE)
    assert False


def test_garbage_on_real_fds(capfd):
    with capfd.disabled():
        os.write(1, GARBAGE)
        os.write(2, GARBAGE)


def test_close_stdout():
    os.close(1)


def test_after_close_stdout():
    print("stdout works again")


def test_close_stdout_then_fail():
    os.close(1)
    assert 1 == 2
