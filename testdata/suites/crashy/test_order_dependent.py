"""A parallel-unsafe pair: test_crash_if_poisoned kills its worker only when
test_poison_global ran before it in the same process. Alone it passes."""
import os

_state = {"poisoned": False}


def test_poison_global():
    _state["poisoned"] = True


def test_crash_if_poisoned():
    if _state["poisoned"]:
        os._exit(7)
