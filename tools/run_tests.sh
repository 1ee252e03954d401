#!/usr/bin/env bash
# The README's test command: install when needed, then run the whole CPU test suite.
#   bash tools/run_tests.sh [pytest options]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ensure_env.sh"
cd "$ROOT"
# the web demo's browser test (tests/test_apis/test_web_demo.py) drives a system Chromium
BROWSER="$(command -v chromium || command -v chromium-browser || true)"
if [ -n "$BROWSER" ] && command -v chromedriver >/dev/null 2>&1; then
  echo "==> Chromium found ($BROWSER): the browser test of the web demo will run"
else
  echo "==> Chromium not found (needs chromium + chromedriver, Debian: apt-get install" \
       "chromium chromium-driver): the browser test of the web demo will be skipped"
fi
exec "$PY" -m pytest tests "$@"
