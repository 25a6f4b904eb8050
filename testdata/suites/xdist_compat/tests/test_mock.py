"""pytest-mock: mocker.patch, spies, and the patch undone after the test."""

import os
import time

import pytest

pytest.importorskip("pytest_mock")


class Clock:
    def now(self):
        return time.time()

    def stamp(self):
        return "t=%d" % self.now()


def test_patch_function(mocker):
    mocker.patch("time.time", return_value=1234.0)
    assert Clock().stamp() == "t=1234"


def test_patch_undone():
    # the patch above did not outlive its test
    assert time.time() > 1e9


def test_patch_object(mocker):
    m = mocker.patch.object(Clock, "now", return_value=7)
    assert Clock().stamp() == "t=7"
    m.assert_called_once_with()


def test_spy(mocker):
    spy = mocker.spy(os.path, "join")
    assert os.path.join("a", "b") == "a/b"
    spy.assert_called_once_with("a", "b")


def test_patch_env(mocker):
    mocker.patch.dict(os.environ, {"COMPAT_MOCKED": "1"})
    assert os.environ["COMPAT_MOCKED"] == "1"


def test_env_restored():
    assert "COMPAT_MOCKED" not in os.environ
