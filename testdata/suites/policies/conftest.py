import json
import os
import time

import pytest


@pytest.fixture(autouse=True)
def _policy_record(request):
    """Append {nodeid, pid, start, stop} to $POLICY_RECORDS, one JSON line
    written with a single os.write so lines from parallel workers never mix."""
    path = os.environ.get("POLICY_RECORDS")
    start = time.time()
    yield
    stop = time.time()
    if not path:
        return
    line = json.dumps({
        "nodeid": request.node.nodeid,
        "pid": os.getpid(),
        "start": start,
        "stop": stop,
    }) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@pytest.fixture
def nap():
    """Sleep the given seconds, times $POLICY_NAP_SCALE (default 1): the
    plain-pytest run that only compares outcomes need not wait as long."""
    scale = float(os.environ.get("POLICY_NAP_SCALE", "1"))

    def sleep(seconds):
        time.sleep(seconds * scale)

    return sleep
