import os
import time

import pytest


@pytest.fixture(autouse=True)
def _machine_delay():
    # e2e/queue_test.go slows one machine down (QUEUE_SUITE_DELAY seconds
    # per test), so it is surely midway through a leased item when killed.
    delay = float(os.environ.get("QUEUE_SUITE_DELAY", "0"))
    if delay:
        time.sleep(delay)
    yield
