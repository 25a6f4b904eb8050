"""Never imported by the tests: reported with every line missed."""


def never_called(x):
    if x:
        return 1
    return 2
