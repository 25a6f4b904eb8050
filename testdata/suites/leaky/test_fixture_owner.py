"""A module fixture that owns a process for all of its module's tests and
stops it at teardown: nothing leaks."""
import subprocess

import pytest


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen(["sleep", "120"])
    yield proc
    proc.terminate()
    proc.wait()


def test_server_up(server):
    assert server.poll() is None


def test_server_still_up(server):
    assert server.poll() is None


def test_server_pid(server):
    assert server.pid > 0
