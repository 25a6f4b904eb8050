import time
import warnings

import pytest


def test_e0():
    time.sleep(0.051)


def test_e1():
    time.sleep(0.088)


def test_e2():
    time.sleep(0.074)


def test_e3():
    time.sleep(0.060)


def test_e4():
    time.sleep(0.097)


def test_e5():
    time.sleep(0.083)


def test_e6():
    time.sleep(0.069)


def test_e7():
    time.sleep(0.055)
    assert "queue" == "stack"


def test_e8():
    time.sleep(0.092)


def test_e9():
    time.sleep(0.078)
