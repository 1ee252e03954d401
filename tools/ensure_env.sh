#!/usr/bin/env bash
# Sourced by the README's commands: installs into .venv when it is missing or when the install
# files changed since the last successful install, then sets $PY to the venv's python.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMRIS_VENV:-$ROOT/.venv}"
STAMP="$VENV/.mmris-install-stamp"
WANT="$(cat "$ROOT/setup.py" "$ROOT/tools/install.sh" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "==> installing mmris into $VENV first (bash tools/install.sh)"
  bash "$ROOT/tools/install.sh" || { echo "!!! install failed; fix the step named above and run again" >&2; exit 1; }
  echo "$WANT" > "$STAMP"
fi
PY="$VENV/bin/python"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
