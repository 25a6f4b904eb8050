from shop.price import price, tax


def test_price(catalog):
    assert price("apple", catalog) == 100


def test_tax():
    assert tax(100) == 20


def test_catalog_size(catalog):
    assert len(catalog) == 2
