import pytest

import fixlog


def pytest_addoption(parser):
    parser.addoption(
        "--greeting",
        action="store",
        default="hello",
        help="custom option of the semantics suite (test_options.py reads it)",
    )


@pytest.fixture
def greeting(request):
    return request.config.getoption("--greeting")


@pytest.fixture(scope="session")
def session_resource():
    yield from fixlog.logged("session", "session_resource", "session")


# Every test in the suite gets this; test_scopes.py checks it ran.
@pytest.fixture(autouse=True)
def autouse_marker(request):
    request.node.autouse_ran = True
    yield
