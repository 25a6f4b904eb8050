import os

import pytest


@pytest.mark.parametrize("i", range(8))
def test_many(i):
    assert i >= 0


@pytest.mark.skip(reason="skipped in an xdist suite")
def test_skipped():
    pass


def test_worker_env_is_a_string():
    # Under xdist PYTEST_XDIST_WORKER is set ("gw0"); plain pytest leaves it
    # unset. Either way the suite does not depend on it.
    assert isinstance(os.environ.get("PYTEST_XDIST_WORKER", ""), str)
