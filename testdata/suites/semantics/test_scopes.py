"""Fixtures of every scope; each setup and teardown goes to the fixture log."""

import pytest

import fixlog


@pytest.fixture(scope="module")
def module_resource(request):
    yield from fixlog.logged("module", "module_resource", request.module.__name__)


@pytest.fixture(scope="class")
def class_resource(request):
    yield from fixlog.logged("class", "class_resource", request.cls.__name__)


@pytest.fixture
def function_resource(request):
    yield from fixlog.logged("function", "function_resource", request.node.name)


def test_uses_every_scope(session_resource, module_resource, function_resource):
    assert session_resource == "session"
    assert module_resource == "test_scopes"
    assert function_resource == "test_uses_every_scope"


def test_module_again(module_resource):
    assert module_resource == "test_scopes"


def test_autouse_fixture_ran(request):
    assert getattr(request.node, "autouse_ran", False)


class TestWithClassFixture:
    def test_one(self, class_resource, module_resource):
        assert class_resource == "TestWithClassFixture"

    def test_two(self, class_resource, session_resource):
        assert class_resource == "TestWithClassFixture"

    def test_three(self, class_resource):
        assert class_resource == "TestWithClassFixture"


@pytest.mark.usefixtures("class_resource")
class TestSecondClass:
    state = []

    def test_a(self, module_resource):
        self.state.append("a")

    def test_b(self, module_resource):
        assert module_resource == "test_scopes"
