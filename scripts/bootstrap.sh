#!/usr/bin/env bash
# Install uv if it is missing, then the locked Python environment (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "Installing uv with pip..."
  python3 -m pip install --quiet --disable-pip-version-check uv \
    || python3 -m pip install --quiet --disable-pip-version-check --user uv
fi
python3 -m uv sync --frozen --quiet
