import math


def area(kind, size):
    if kind == "square":
        return size * size
    elif kind == "circle":
        return math.pi * size * size
    elif kind == "triangle":
        # equilateral
        return math.sqrt(3) / 4 * size * size
    raise ValueError("unknown shape: %s" % kind)


def perimeter(kind, size):
    if kind == "square":
        return 4 * size
    if kind == "circle":
        return 2 * math.pi * size
    raise ValueError("unknown shape: %s" % kind)


class Box:
    def __init__(self, w, h):
        if w < 0 or h < 0:
            raise ValueError("negative side")
        self.w = w
        self.h = h

    def area(self):
        return self.w * self.h

    def fits(self, other):
        if self.w <= other.w and self.h <= other.h:
            return True
        if self.h <= other.w and self.w <= other.h:
            return True
        return False
