import os

import pytest


def tries(name):
    """Counts this test's tries in FLAKY_STATE_DIR and returns the number of
    this one (1 for the first)."""
    path = os.path.join(os.environ["FLAKY_STATE_DIR"], name)
    n = 1
    if os.path.exists(path):
        with open(path) as f:
            n = int(f.read()) + 1
    with open(path, "w") as f:
        f.write(str(n))
    return n


def test_fails_once_then_passes():
    assert tries("once") > 1, "first try fails"


def test_always_fails():
    tries("always")
    assert False, "fails every try"


@pytest.mark.flaky(reruns=2)
def test_crashes_twice_then_passes():
    if tries("crash") <= 2:
        os._exit(7)


def test_passes():
    pass
