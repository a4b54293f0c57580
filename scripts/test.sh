#!/usr/bin/env bash
# Runs the whole test suite: the set-up (system libraries, default model), the Python oracles the
# tests compare against (numpy, gguf, Jinja2), then `swift test` in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! python3 -c "import gguf, numpy, jinja2" >/dev/null 2>&1; then
  echo "test: installing the Python oracles (gguf, numpy, Jinja2)"
  python3 -m pip install --quiet --disable-pip-version-check gguf numpy jinja2
fi
swift test -c release "$@"
