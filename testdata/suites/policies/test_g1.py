"""xdist_group g1: limit 1, so one at a time."""
import pytest

pytestmark = pytest.mark.xdist_group(name="g1")


def test_g1_a(nap):
    nap(0.3)


def test_g1_b(nap):
    nap(0.2)


@pytest.mark.slow
def test_g1_c(nap):
    nap(0.3)
