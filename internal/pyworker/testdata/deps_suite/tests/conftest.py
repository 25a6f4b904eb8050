import json
import os

import pytest


def _read_session_data():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "data", "session.json")) as fh:
        return json.load(fh)


@pytest.fixture(scope="session")
def session_data():
    return _read_session_data()


@pytest.fixture
def plain():
    return 1
