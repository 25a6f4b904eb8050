"""100 MB of output from a failing test: herd's messages, terminal report
and JSON report must stay small."""
import os

MB = 1 << 20


def test_huge_stdout_fails():
    chunk = (b"0123456789abcdef" * (MB // 16))[: MB - 1] + b"\n"
    for _ in range(100):
        os.write(1, chunk)
    assert False, "printed 100 MB"


def test_huge_message_fails():
    # pytest does not shorten a custom message: the report must.
    raise AssertionError("m" * (12 * MB))


def test_small_after_huge():
    assert True
