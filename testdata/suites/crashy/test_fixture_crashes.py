"""Crashes inside fixtures: setup of a function fixture, teardown of a
function fixture."""
import crashers
import pytest


@pytest.fixture
def segfaults_in_setup():
    crashers.segfault()
    yield


@pytest.fixture
def exits_in_setup():
    crashers.exit3()
    yield


@pytest.fixture
def aborts_in_teardown():
    yield
    crashers.abort()


@pytest.fixture
def fine():
    yield 42


def test_uses_fine_1(fine):
    assert fine == 42


def test_crash_fixture_setup_segfault(segfaults_in_setup):
    pass


def test_uses_fine_2(fine):
    assert fine == 42


def test_crash_fixture_setup_exit3(exits_in_setup):
    pass


def test_uses_fine_fails(fine):
    assert fine == 41


def test_crash_fixture_teardown_abort(aborts_in_teardown):
    pass


@pytest.mark.parametrize("n", [1, 2, 3])
def test_uses_fine_param(fine, n):
    assert fine + n > 42
