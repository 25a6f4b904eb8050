"""Exclusive tests: nothing else may run beside them."""
import pytest


@pytest.mark.serial
def test_serial_a(nap):
    nap(0.2)


@pytest.mark.serial
@pytest.mark.db
def test_serial_db(nap):
    # serial (exclusive) is stronger than db (group).
    nap(0.2)


@pytest.mark.parallel_unsafe
def test_unsafe(nap):
    nap(0.3)


def test_global_state(nap):
    # Exclusive through [tool.herd.nodeids] in pyproject.toml.
    nap(0.2)
