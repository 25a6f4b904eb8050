"""A module fixture that raises: every test using it errors (pytest caches the
exception for the module), on every worker that runs one of them."""

import pytest

import fixlog


@pytest.fixture(scope="module")
def failing_module_resource(request):
    fixlog.record("setup_error", "module", "failing_module_resource", request.module.__name__)
    raise RuntimeError("module fixture setup failed")


def test_first(failing_module_resource):
    pass


def test_second(failing_module_resource):
    pass


def test_not_using_it():
    assert True
