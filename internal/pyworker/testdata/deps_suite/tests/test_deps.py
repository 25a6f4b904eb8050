import importlib
import json
import os
import sys
import threading

import pytest

from pkg import mod

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "data", "params.json")) as fh:
    PARAMS = json.load(fh)


def test_calls_f():
    assert mod.f(1) == 4


def test_reads_json():
    assert mod.load("x.json") == {"a": 1}


def test_session_first(session_data):
    assert session_data["shared"]


def test_session_later(session_data):
    assert session_data["shared"]


def test_writes(plain):
    path = os.path.join(HERE, "..", "data", "out.txt")
    with open(path, "w") as fh:
        fh.write("x")
    with open(path) as fh:
        assert fh.read() == "x"


def test_thread():
    out = []
    t = threading.Thread(target=lambda: out.append(mod.g(2)))
    t.start()
    t.join()
    assert out == [[0, 2]]


@pytest.mark.parametrize("p", PARAMS)
def test_param(p):
    assert p


def test_late_import():
    # Imported here, not at collection, and by a name no import statement
    # spells: only what ran says the test depends on pkg/late.py.
    late = importlib.import_module("pkg." + "late")
    assert late.h(2) == 20


def test_tracers():
    assert sys.gettrace() is None and sys.getprofile() is None
