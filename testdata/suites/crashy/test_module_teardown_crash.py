"""A module-scoped fixture whose teardown kills the worker. The module has
one test, so the crash always falls in that test's teardown."""
import crashers
import pytest


@pytest.fixture(scope="module")
def exits_on_teardown():
    yield "resource"
    crashers.exit3()


def test_crash_module_teardown(exits_on_teardown):
    assert exits_on_teardown == "resource"
