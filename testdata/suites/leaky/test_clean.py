def test_clean():
    assert sum([1, 2, 3]) == 6
