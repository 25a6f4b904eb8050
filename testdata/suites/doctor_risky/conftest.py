import signal

import pytest


def _on_usr1(signum, frame):
    pass


@pytest.fixture
def usr1_handler():
    old = signal.signal(signal.SIGUSR1, _on_usr1)  # doctor: conftest-fixture-signal
    yield
    signal.signal(signal.SIGUSR1, old)  # doctor: conftest-fixture-signal-restore
