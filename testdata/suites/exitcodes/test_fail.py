def test_fail_one():
    assert 1 == 2


def test_pass_in_fail_module():
    assert True
