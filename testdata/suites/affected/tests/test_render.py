from shop.render import render


def test_render():
    assert render("page.txt", name="Ann") == "Hello Ann!\n"


def test_plain():
    assert "x" * 3 == "xxx"
