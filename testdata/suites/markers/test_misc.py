import pytest


@pytest.mark.fast
@pytest.mark.parametrize("word", ["login", "admin", "guest"])
def test_words(word):
    assert word.isalpha()


@pytest.mark.slow
def test_sleepy_but_quick():
    assert True


def test_failing_unmarked():
    # One failure so selections that include it exit 1 and others exit 0.
    assert 2 + 2 == 5
