#!/usr/bin/env bash
# Debian's Chromium for the console's browser test (console/browser_test.go,
# driven by playwright-core). Installed with apt-get when it is missing and
# this runs as root (CI on a bare machine); otherwise it says how. Nothing
# here downloads a browser of its own (npx playwright install would).
set -euo pipefail
bin=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$bin" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the console's browser test ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "note: $bin is missing, so the console's browser test skips (and fails under CI=true); install it with: sudo apt-get install -y chromium" >&2
