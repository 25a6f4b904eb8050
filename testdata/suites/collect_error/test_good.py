import pytest


def test_good_one():
    assert True


def test_good_two():
    assert "herd".upper() == "HERD"


@pytest.mark.parametrize("n", [1, 2, 3])
def test_good_param(n):
    assert n > 0
