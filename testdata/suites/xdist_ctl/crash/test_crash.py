import os


def test_dies_once():
    # Dies the first time only ($CRASH_FLAG does not exist yet), in
    # whichever worker runs it.
    flag = os.environ["CRASH_FLAG"]
    if not os.path.exists(flag):
        open(flag, "w").close()
        os._exit(3)


def test_after():
    pass
