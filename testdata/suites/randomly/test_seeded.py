import random


def test_a():
    assert 0 <= random.random() < 1


def test_b():
    assert 0 <= random.random() < 1


def test_c():
    assert 0 <= random.random() < 1


def test_d():
    assert 0 <= random.random() < 1
