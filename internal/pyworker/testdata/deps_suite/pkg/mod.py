"""A project module the tests call."""

import json
import os

from . import consts

LIMIT = consts.LIMIT


def f(x):
    return x + LIMIT


def g(x):
    return [y * 2 for y in range(x)]


def load(name):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "data", name)) as fh:
        return json.load(fh)
