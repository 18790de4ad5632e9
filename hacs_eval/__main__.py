"""``python -m hacs_eval``: see :mod:`hacs_eval.cli`."""

import sys

from hacs_eval.cli import main

sys.exit(main())
