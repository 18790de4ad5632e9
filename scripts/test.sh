#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-browser.sh  # Debian Chromium for the annotation tools' browser tests
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest -q "$@"
