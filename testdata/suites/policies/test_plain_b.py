"""Plain tests: they run anywhere, beside anything."""
import pytest

DURATIONS = [0.1, 0.2, 0.3, 0.4, 0.15, 0.25, 0.35, 0.1]


@pytest.mark.parametrize("k", range(len(DURATIONS)))
def test_plain(k, nap):
    nap(DURATIONS[k])


@pytest.mark.slow
def test_plain_slow(nap):
    nap(0.4)
