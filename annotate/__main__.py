"""``python -m annotate``: see :mod:`annotate.cli`."""

import sys

from annotate.cli import main

sys.exit(main())
