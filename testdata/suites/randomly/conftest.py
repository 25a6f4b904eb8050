"""A stand-in for pytest-randomly's seed handling, which herd must leave as
pytest and xdist leave it.

Like pytest-randomly: --randomly-seed takes an integer, "default" (draw one)
or "last"; every process draws its own default seed at import; under xdist
the controller hands its seed to the workers in workerinput["randomly_seed"]
from a pytest_configure_node hook it registers when xdist is loaded, and a
worker whose option is "default" takes that one; the header says
"Using --randomly-seed=N". Each process appends [its worker id or "main",
its seed] to $RANDOMLY_LOG.
"""

import json
import os
import random

_default_seed = random.Random().getrandbits(32)


def _seed_type(value):
    if value in ("default", "last"):
        return value
    return int(value)


def pytest_addoption(parser):
    group = parser.getgroup("randomly", "stand-in for pytest-randomly")
    group.addoption("--randomly-seed", action="store", dest="randomly_seed", default="default", type=_seed_type)


class _XdistHooks:
    def pytest_configure_node(self, node):
        node.workerinput["randomly_seed"] = node.config.getoption("randomly_seed")


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks())
    value = config.getoption("randomly_seed")
    if value == "last":
        seed = config.cache.get("randomly_seed", _default_seed)
    elif value == "default":
        if hasattr(config, "workerinput"):
            seed = config.workerinput["randomly_seed"]
        else:
            seed = _default_seed
    else:
        seed = value
    config.option.randomly_seed = seed
    path = os.environ.get("RANDOMLY_LOG")
    if path:
        who = config.workerinput["workerid"] if hasattr(config, "workerinput") else "main"
        with open(path, "a") as f:
            f.write(json.dumps([who, seed]) + "\n")


def pytest_report_header(config):
    return "Using --randomly-seed=%s" % config.getoption("randomly_seed")


def pytest_runtest_call(item):
    random.seed(item.config.getoption("randomly_seed"))
