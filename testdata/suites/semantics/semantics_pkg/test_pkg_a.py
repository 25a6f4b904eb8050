import pytest

import fixlog


@pytest.fixture(scope="module")
def pkg_module_resource(request):
    yield from fixlog.logged("module", "pkg_module_resource", request.module.__name__)


def test_pkg_a1(package_resource, pkg_module_resource):
    assert package_resource == "semantics_pkg"
    assert pkg_module_resource == "semantics_pkg.test_pkg_a"


def test_pkg_a2(package_resource, session_resource):
    assert package_resource == "semantics_pkg"
