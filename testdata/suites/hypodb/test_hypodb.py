import json
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


def log(x):
    path = os.environ.get("HYPODB_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(x) + "\n")


# Fails for x >= 1000; Hypothesis shrinks that to x=1000 and saves it in
# .hypothesis/examples, unless a forced seed turned the database off.
@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=10**6))
def test_below_1000(x):
    log(x)
    assert x < 1000


@given(st.text(max_size=5))
def test_text_roundtrip(s):
    assert s.encode("utf-8").decode("utf-8") == s
