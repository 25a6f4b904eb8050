import time

import pytest


@pytest.fixture(scope="module")
def connection():
    yield {"open": True}


@pytest.mark.timeout(30)
def test_with_timeout_marker(connection):
    time.sleep(0.05)
    assert connection["open"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("n", range(4))
def test_param_with_timeout(n, connection):
    assert n * n >= 0


def test_ini_timeout_applies(request):
    # The ini timeout of 300 s applies: the test has a timeout but no marker.
    assert request.config.getini("timeout") == "300"


class TestGrouped:
    # --dist loadscope keeps a class together under xdist.
    def test_a(self):
        assert True

    def test_b(self):
        assert True

    def test_fails(self):
        assert "loadscope" == "load"
