"""A project module no file imports by name: a test imports it in its body."""

SCALE = 10


def h(x):
    return Late().m(x)


class Late:
    def m(self, x):
        return x * SCALE
