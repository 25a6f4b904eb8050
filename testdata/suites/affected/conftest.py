import json
import pathlib

import pytest


@pytest.fixture(scope="session")
def catalog():
    """A session fixture that reads a data file: every test using it
    depends on that file, not only the first one that set it up."""
    return json.loads((pathlib.Path(__file__).parent / "shop" / "catalog.json").read_text())
