#!/usr/bin/env bash
# Install Debian's Chromium for the annotation tools' browser tests (run as root; the tests
# drive /usr/bin/chromium with Playwright and skip themselves when it is missing).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
