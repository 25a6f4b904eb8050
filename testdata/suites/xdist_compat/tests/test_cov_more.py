"""More of compatpkg, from another module (another worker, likely)."""

from compatpkg import shapes, text


def test_perimeter_square():
    assert shapes.perimeter("square", 2) == 8


def test_wrap():
    assert text.wrap("aa bb cc dd", 5) == ["aa bb", "cc dd"]


def test_box_area():
    assert shapes.Box(2, 3).area() == 6
