import time
import warnings

import pytest


def test_b0():
    time.sleep(0.063)


def test_b1():
    time.sleep(0.100)


def test_b2():
    time.sleep(0.086)


def test_b3():
    time.sleep(0.072)
    assert 1 + 1 == 3


def test_b4():
    time.sleep(0.058)


def test_b5():
    time.sleep(0.095)


def test_b6():
    time.sleep(0.081)


def test_b7():
    time.sleep(0.067)


def test_b8():
    time.sleep(0.053)


def test_b9():
    time.sleep(0.090)
