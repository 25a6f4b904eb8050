"""Ordinary tests: no crash here. Plain pytest runs this module as is."""
import pytest


@pytest.fixture
def numbers():
    return [3, 1, 2]


@pytest.fixture
def broken_fixture():
    raise RuntimeError("fixture setup fails")


@pytest.mark.parametrize("n", range(10))
def test_square(n):
    assert n * n == n ** 2


def test_sorted(numbers):
    assert sorted(numbers) == [1, 2, 3]


def test_fails(numbers):
    assert numbers == [1, 2, 3]


def test_setup_error(broken_fixture):
    pass


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0


@pytest.mark.xfail(reason="fixed already")
def test_xpass():
    pass


def test_exception():
    {}["missing"]


def test_prints(capsys):
    print("hello from test_prints")
    assert capsys.readouterr().out == "hello from test_prints\n"


def test_raises():
    with pytest.raises(ZeroDivisionError):
        1 / 0
