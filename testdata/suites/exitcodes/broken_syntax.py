# Not named test_*.py, so it is collected (and fails) only when named on the
# command line.
def test_broken(:
    pass
