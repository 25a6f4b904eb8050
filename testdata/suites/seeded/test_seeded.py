import json
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


def log(name, x):
    with open(os.environ["SEEDED_LOG"], "a") as f:
        f.write(json.dumps([name, x]) + "\n")


@settings(max_examples=20, database=None)
@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_a(x):
    log("a", x)


@settings(max_examples=20, database=None)
@given(st.text(max_size=8))
def test_b(x):
    log("b", x)


@settings(max_examples=20, database=None)
@given(st.floats(allow_nan=False))
def test_c(x):
    log("c", x)
