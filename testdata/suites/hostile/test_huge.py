"""Huge output and huge failure messages: herd's messages, its terminal
report and its JSON report must stay small, and no failure may be lost."""
import os

import pytest

MB = 1 << 20


def test_huge_stdout_fails():
    # 100 MB on stdout, then a small failure.
    chunk = (b"0123456789abcdef" * (MB // 16))[: MB - 1] + b"\n"
    for _ in range(100):
        os.write(1, chunk)
    assert False, "printed 100 MB"


def test_huge_message_fails():
    # pytest does not shorten a custom message: the report must.
    raise AssertionError("m" * (12 * MB))


def test_huge_unicode_message_fails():
    # 12 M non-ASCII characters: as JSON with \u escapes, over 64 MB.
    raise AssertionError("\u00e9" * (12 * MB))


def test_huge_skip_reason():
    # The reason of a skip is a message too.
    pytest.skip("\u00e9" * (12 * MB))


def test_small_after_huge():
    assert True
