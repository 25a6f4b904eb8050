import time
import warnings

import pytest


def test_a0():
    time.sleep(0.050)


def test_a1():
    time.sleep(0.087)


def test_a2():
    time.sleep(0.073)


def test_a3():
    time.sleep(0.059)


def test_a4():
    time.sleep(0.096)


def test_a5():
    time.sleep(0.082)


def test_a6():
    time.sleep(0.068)
    warnings.warn("queue suite warning", UserWarning)


def test_a7():
    time.sleep(0.054)


@pytest.mark.xdist_group(name="db")
def test_a8():
    time.sleep(0.091)


def test_a9():
    time.sleep(0.077)
