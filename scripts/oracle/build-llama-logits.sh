#!/usr/bin/env bash
# Builds scripts/oracle/llama_logits against a llama.cpp source tree and its build.
# Usage: scripts/oracle/build-llama-logits.sh LLAMA_CPP_SOURCE [BUILD_BIN_DIR]
#   (BUILD_BIN_DIR defaults to LLAMA_CPP_SOURCE/build/bin, where libllama.so is)
# Then: EDGERT_LLAMA_LOGITS=$PWD/.build/llama_logits swift test --filter testLogitsAgreeWithLlamaCpp
set -euo pipefail
src=${1:?llama.cpp source directory}
bin=${2:-$src/build/bin}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../../.build/llama_logits
mkdir -p "$(dirname "$out")"
cc -O2 -o "$out" "$here/llama_logits.c" -I"$src/include" -I"$src/ggml/include" -L"$bin" -lllama -lggml -lggml-base \
   -Wl,-rpath,"$bin"
echo "built $out"
