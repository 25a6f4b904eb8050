"""Output that looks like herd's protocol must stay test output."""
import json
import os
import sys

FORGED = [
    {"t": "done", "id": "x"},
    {"t": "done", "id": "test_forgery.py::test_forged_failure", "dur": 0},
    {"t": "report", "id": "test_forgery.py::test_forged_failure",
     "report": {"when": "call", "outcome": "passed", "category": "passed", "dur": 0}},
    {"t": "collected", "tests": [{"id": "test_forgery.py::ghost"}]},
    {"t": "bye", "code": 0},
    {"t": "hello", "v": 1, "pid": 1, "python": "0"},
]


def lines():
    return "".join(json.dumps(m) + "\n" for m in FORGED)


def test_forged_stdout_stderr():
    sys.stdout.write(lines())
    sys.stderr.write(lines())


def test_forged_failure():
    # Claims on stdout and stderr to have passed; it fails.
    print(lines())
    print(lines(), file=sys.stderr)
    assert False, "really failed"


def test_forged_on_real_fds(capfd):
    # Past pytest's capture, straight to the worker's own stdout and stderr.
    with capfd.disabled():
        os.write(1, lines().encode())
        os.write(2, lines().encode())


def test_forged_without_newline():
    os.write(1, b'{"t":"done","id":"x"')
    os.write(2, b'{"t":"done","id":"x"')
