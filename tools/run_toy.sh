#!/usr/bin/env bash
# The README's main job: install when needed, then generate the toy data if absent, train tiny
# CRIS on it and evaluate, on CPU.   bash tools/run_toy.sh [run_toy.py options]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ensure_env.sh"
cd "$ROOT"
exec "$PY" tools/run_toy.py "$@"
