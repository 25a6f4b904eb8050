"""A second module with a module fixture, so module setups can be counted
per module."""

import pytest

import fixlog


@pytest.fixture(scope="module")
def other_module_resource(request):
    yield from fixlog.logged("module", "other_module_resource", request.module.__name__)


@pytest.mark.parametrize("n", range(6))
def test_param(other_module_resource, session_resource, n):
    assert other_module_resource == "test_scopes_other"
    assert n < 6


def test_plain(other_module_resource):
    assert other_module_resource
