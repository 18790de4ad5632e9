"""``python -m evaluate``: see :mod:`evaluate.cli`."""

import sys

from evaluate.cli import main

sys.exit(main())
