"""Module with doctests; pytest.ini's --doctest-modules collects them.

>>> double(21)
42
"""


def double(x):
    """Return twice x.

    >>> double(2)
    4
    >>> double("ab")
    'abab'
    """
    return 2 * x


def broken_doc():
    """A doctest that fails.

    >>> broken_doc()
    'expected'
    """
    return "actual"
