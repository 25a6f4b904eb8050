"""A test that never ends; herd kills its worker after 1 s."""
import time

import pytest


@pytest.mark.timeout(1)
def test_hangs():
    time.sleep(3600)
