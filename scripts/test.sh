#!/usr/bin/env bash
# Runs the whole test suite: the set-up (system libraries, default model), the Python oracles the
# tests compare against (numpy, gguf, Jinja2) and the `openai` client, then `swift test` in release
# mode, then the server tests: `edgert serve` on loopback driven by the `openai` client. No test uses
# @testable, so `--disable-testable-imports` lets the test build reuse the set-up's release build
# of every module instead of compiling them all again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! python3 -c "import gguf, numpy, jinja2, openai" >/dev/null 2>&1; then
  echo "test: installing the Python oracles (gguf, numpy, Jinja2) and the openai client"
  python3 -m pip install --quiet --disable-pip-version-check gguf numpy jinja2 openai
fi
swift test -c release --disable-testable-imports "$@"
swift build -c release --product edgert
echo "test: edgert serve over loopback with the openai client"
python3 Tests/server/test_openai_server.py
