"""The first test of this module sets up a module fixture that owns a
process, and leaks a process of its own: the fixture's is no leak, the
test's is, and it is the test's, not the module's."""
import subprocess

import pytest


@pytest.fixture(scope="module")
def pool():
    proc = subprocess.Popen(["sleep", "121"])
    yield proc
    proc.terminate()
    proc.wait()


def test_leaks_beside_module_fixture(pool):
    subprocess.Popen(["sleep", "119"])


def test_uses_pool(pool):
    assert pool.poll() is None


def test_clean_after_pool():
    pass
