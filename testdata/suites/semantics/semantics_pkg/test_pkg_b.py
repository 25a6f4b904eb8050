import pytest

import fixlog


@pytest.fixture(scope="module")
def pkg_module_resource(request):
    yield from fixlog.logged("module", "pkg_module_resource", request.module.__name__)


@pytest.mark.parametrize("word", ["alpha", "beta", "gamma"])
def test_pkg_b(package_resource, pkg_module_resource, word):
    assert package_resource == "semantics_pkg"
    assert pkg_module_resource == "semantics_pkg.test_pkg_b"
    assert word.isalpha()
