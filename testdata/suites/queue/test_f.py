import time
import warnings

import pytest


def test_f0():
    time.sleep(0.064)


def test_f1():
    time.sleep(0.050)


@pytest.mark.xdist_group(name="db")
def test_f2():
    time.sleep(0.087)


def test_f3():
    time.sleep(0.073)


def test_f4():
    time.sleep(0.059)


def test_f5():
    time.sleep(0.096)


def test_f6():
    time.sleep(0.082)


def test_f7():
    time.sleep(0.068)


def test_f8():
    time.sleep(0.054)


def test_f9():
    time.sleep(0.091)
    pytest.skip("skipped at run time")
