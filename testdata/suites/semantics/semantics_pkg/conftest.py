import pytest

import fixlog


@pytest.fixture(scope="package")
def package_resource():
    yield from fixlog.logged("package", "package_resource", "semantics_pkg")
