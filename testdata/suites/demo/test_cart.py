"""A shopping cart, tested against a module-scoped price list."""

import time

import pytest


@pytest.fixture(scope="module")
def prices():
    # Pretend loading the price list is slow: done once per module per worker.
    time.sleep(0.3)
    return {"apple": 0.5, "bread": 2.25, "milk": 1.1}


def total(prices, items):
    return round(sum(prices[name] * qty for name, qty in items.items()), 2)


def test_empty_cart(prices):
    assert total(prices, {}) == 0


def test_single_item(prices):
    assert total(prices, {"apple": 4}) == 2.0


@pytest.mark.parametrize(
    "items,expected",
    [
        ({"bread": 1}, 2.25),
        ({"milk": 2}, 2.2),
        ({"apple": 2, "bread": 2}, 5.5),
    ],
)
def test_totals(prices, items, expected):
    time.sleep(0.2)
    assert total(prices, items) == expected


def test_discount_rounding(prices):
    # Fails on purpose: the demo shows how herd reports a failure.
    discounted = total(prices, {"milk": 3}) * 0.9
    assert discounted == 2.97


def test_unknown_item(prices):
    with pytest.raises(KeyError):
        total(prices, {"caviar": 1})
