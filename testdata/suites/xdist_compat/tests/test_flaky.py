"""A flaky test as pytest-rerunfailures spells it: fails its first try."""

import pytest


@pytest.mark.flaky(reruns=2)
def test_fails_first_try(tries):
    assert tries("flaky") > 1, "first try fails"
