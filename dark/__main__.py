"""``python -m dark`` is the ``dark`` console script."""

import sys

from dark.cli import main

if __name__ == "__main__":
    sys.exit(main())
