"""Exclusive tests: herd runs them at the end, alone."""
import time

import pytest


@pytest.mark.serial
def test_migrate_database():
    time.sleep(0.3)


@pytest.mark.serial
def test_global_config():
    time.sleep(0.2)
