#!/usr/bin/env bash
# Create .venv and install the project with its test tools; a no-op when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed
want=$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -d' ' -f1)

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# Pinned on purpose: an unpinned torch pulls a multi-GB CUDA build; 2.13.0 is the CPU wheel.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
echo "$want" > "$STAMP"
echo "environment ready in $VENV"
