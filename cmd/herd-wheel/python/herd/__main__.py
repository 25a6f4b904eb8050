"""python -m herd ARGS: run herd with this interpreter's pytest."""

import sys

from herd import main

if __name__ == "__main__":
    sys.exit(main())
