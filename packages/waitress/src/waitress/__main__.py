"""``python -m waitress``: the same command line as ``waitress-serve``, same exit status."""

import sys

from waitress.runner import run

if __name__ == "__main__":
    sys.exit(run())
