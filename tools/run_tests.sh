#!/usr/bin/env bash
# The README's test command: install when needed, then run the whole CPU test suite.
#   bash tools/run_tests.sh [pytest options]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ensure_env.sh"
cd "$ROOT"
exec "$PY" -m pytest tests "$@"
