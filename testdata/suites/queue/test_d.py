import time
import warnings

import pytest


def test_d0():
    time.sleep(0.089)


@pytest.mark.xdist_group(name="db")
def test_d1():
    time.sleep(0.075)


def test_d2():
    time.sleep(0.061)


def test_d3():
    time.sleep(0.098)


@pytest.mark.xfail(reason="known bug", strict=True)
def test_d4():
    time.sleep(0.084)
    raise ValueError("known bug")


def test_d5():
    time.sleep(0.070)


def test_d6():
    time.sleep(0.056)


def test_d7():
    time.sleep(0.093)


def test_d8():
    time.sleep(0.079)


def test_d9():
    time.sleep(0.065)
