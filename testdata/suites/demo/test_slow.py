"""Tests that take a while, so running them in parallel shows."""

import time

import pytest


@pytest.mark.parametrize("step", range(6))
def test_pipeline_step(step):
    time.sleep(0.25 + 0.05 * step)
    assert step < 6


def test_warm_cache():
    time.sleep(0.4)
    assert True
