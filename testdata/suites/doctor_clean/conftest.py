import os

import pytest


@pytest.fixture
def scratch_env(monkeypatch):
    monkeypatch.setenv("HERD_DOCTOR_CLEAN", "1")
    yield os.environ["HERD_DOCTOR_CLEAN"]
