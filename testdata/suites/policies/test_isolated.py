"""Isolated tests: each in a fresh worker process no other test uses."""
import pytest


@pytest.mark.isolated
def test_isolated_a(nap):
    nap(0.2)


@pytest.mark.isolated
def test_isolated_b(nap):
    nap(0.3)


@pytest.mark.sandboxed
def test_sandboxed(nap):
    # Isolated through the sandboxed marker, mapped in pyproject.toml.
    nap(0.2)
