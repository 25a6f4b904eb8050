import herd_no_such_module_for_tests  # noqa: F401


def test_never_collected():
    assert True
