import time
import warnings

import pytest


def test_c0():
    time.sleep(0.076)


def test_c1():
    time.sleep(0.062)


@pytest.mark.skip(reason="not on this platform")
def test_c2():
    time.sleep(0.099)


def test_c3():
    time.sleep(0.085)


def test_c4():
    time.sleep(0.071)


@pytest.mark.skip(reason="not on this platform")
def test_c5():
    time.sleep(0.057)


def test_c6():
    time.sleep(0.094)


def test_c7():
    time.sleep(0.080)


def test_c8():
    time.sleep(0.066)


def test_c9():
    time.sleep(0.052)
