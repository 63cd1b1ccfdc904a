#!/usr/bin/env bash
# Install uv if it is missing, then the locked Python environment (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "Installing uv with pip..."
  pip=(python3 -m pip install --quiet --disable-pip-version-check)
  # A Debian-managed Python refuses system-wide installs: fall back to the user's site.
  "${pip[@]}" uv || "${pip[@]}" --user uv || "${pip[@]}" --user --break-system-packages uv
fi
# Compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on CI machines), nothing is
# ever cached, and every process (each test worker, each command) would compile every module
# it imports from source again: seconds of CPU for each.
python3 -m uv sync --frozen --quiet --compile-bytecode
.venv/bin/python -m compileall -q -j 0 src
