"""One test for each way a test can end, as pytest's summary names it."""

import logging
import sys
import warnings

import pytest

import fixlog

log = logging.getLogger(__name__)


def test_passes():
    assert 1 + 1 == 2


@pytest.mark.skip(reason="skipped by marker")
def test_skip_marker():
    raise AssertionError("never runs")


@pytest.mark.skipif(sys.platform != "nonexistent-os", reason="skipif condition true")
def test_skipif_true():
    raise AssertionError("never runs")


@pytest.mark.skipif(sys.platform == "nonexistent-os", reason="skipif condition false")
def test_skipif_false():
    assert True


def test_skip_imperative():
    pytest.skip("skipped inside the test")


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0, "expected failure"


@pytest.mark.xfail(reason="known bug", strict=True)
def test_xfail_strict_passes():
    # An unexpected pass under strict=True is a failure.
    assert True


@pytest.mark.xfail(reason="maybe fixed")
def test_xpass_non_strict():
    assert True


@pytest.mark.xfail(raises=ZeroDivisionError, reason="wrong exception fails")
def test_xfail_wrong_exception():
    raise KeyError("not a ZeroDivisionError")


@pytest.mark.xfail(run=False, reason="not even run")
def test_xfail_not_run():
    raise SystemExit("never runs")


def test_xfail_imperative():
    pytest.xfail("xfailed inside the test")


@pytest.fixture
def broken_setup():
    fixlog.record("setup_error", "function", "broken_setup", "raises")
    raise RuntimeError("fixture setup blew up")


def test_error_in_setup(broken_setup):
    raise AssertionError("never runs")


@pytest.fixture
def broken_teardown():
    fixlog.record("setup", "function", "broken_teardown", "teardown_raises")
    yield
    fixlog.record("teardown", "function", "broken_teardown", "teardown_raises")
    raise RuntimeError("fixture teardown blew up")


def test_error_in_teardown(broken_teardown):
    # The call passes; pytest counts this test as "1 passed, 1 error".
    assert True


def test_fails_then_teardown_error(broken_teardown):
    # The call fails and teardown errors too: "1 failed, 1 error".
    assert [1, 2, 3] == [1, 2, 4]


def test_assert_with_diff():
    expected = {"name": "herd", "workers": 2, "tags": ["fast", "parallel"]}
    actual = {"name": "herd", "workers": 3, "tags": ["fast", "serial"]}
    assert actual == expected


def test_long_string_diff():
    a = "\n".join("line %d" % i for i in range(20))
    b = a.replace("line 13", "line thirteen")
    assert a == b


def test_captured_output_on_failure():
    print("this goes to captured stdout")
    print("this goes to captured stderr", file=sys.stderr)
    log.warning("this goes to captured log")
    assert False, "failing so the captured output is shown"


def test_raises_exception():
    {}["missing-key"]


def test_warning():
    warnings.warn(UserWarning("semantics suite warning"))
    assert True


@pytest.mark.parametrize(
    "a,b,total",
    [
        (1, 2, 3),
        (2, 2, 4),
        pytest.param(2, 2, 5, id="wrong-sum"),
        pytest.param(0, 0, 0, marks=pytest.mark.skip(reason="param skipped")),
        pytest.param(1, 1, 3, marks=pytest.mark.xfail(reason="param xfail")),
    ],
)
def test_parametrized(a, b, total):
    assert a + b == total


@pytest.mark.parametrize("text", ["x", "with space", "ünïcode", "a/b::c", "[bracket]"])
def test_odd_ids(text):
    assert text
