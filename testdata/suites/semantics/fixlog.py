"""Fixture log shared by the semantics suite.

Every fixture's setup and teardown calls record(), which appends one line to
the file named by $HERD_FIXTURE_LOG (nothing is written when it is unset):

    <pid> <setup|teardown|setup_error> <scope> <fixture> <key>

A fixture that raises in its setup logs setup_error, which has no teardown.

Each line is written with a single os.write on an O_APPEND descriptor, so
lines from concurrent worker processes never interleave.
"""

import os

ENV = "HERD_FIXTURE_LOG"


def record(event, scope, name, key):
    path = os.environ.get(ENV)
    if not path:
        return
    line = "%d %s %s %s %s\n" % (os.getpid(), event, scope, name, key)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def logged(scope, name, key):
    """Generator body for a logged fixture: yield from logged(...)."""
    record("setup", scope, name, key)
    yield key
    record("teardown", scope, name, key)
