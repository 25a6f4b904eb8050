import subprocess

import pytest


@pytest.fixture(scope="module")
def server():
    # Started beside a module's fixture and never stopped: a leak of the
    # module's, found once the module is torn down.
    subprocess.Popen(["sleep", "60"])
    yield


def test_leak(server):
    pass


def test_after():
    pass
