def test_addition():
    assert 2 + 2 == 4


def test_strings():
    assert "herd".upper() == "HERD"
