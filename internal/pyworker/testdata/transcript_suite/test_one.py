import warnings

import pytest


def test_pass(record_property):
    record_property("answer", 42)


def test_fail():
    print("some output")
    assert 1 == 2


@pytest.mark.xfail(reason="known")
def test_xfail():
    assert 0


def test_skip():
    pytest.skip("not here")


def test_warn():
    warnings.warn("a warning")


def test_fail_again():
    assert 0


@pytest.mark.slow
@pytest.mark.timeout(7)
@pytest.mark.xdist_group("g")
@pytest.mark.flaky(reruns=2)
def test_marked():
    pass
