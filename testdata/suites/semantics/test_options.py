"""Reads the custom --greeting option that conftest.py adds."""


def test_greeting_is_known(greeting):
    assert greeting in ("hello", "bonjour")


def test_greeting_is_default(greeting):
    # Fails when the run passes --greeting=bonjour.
    assert greeting == "hello"
