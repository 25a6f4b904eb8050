"""A small package for coverage: tests cover part of it."""

VERSION = "1.0"


def describe(x):
    if isinstance(x, str):
        return "text"
    if isinstance(x, (int, float)):
        if x < 0:
            return "negative"
        return "number"
    return "other"
