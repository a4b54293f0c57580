#!/usr/bin/env bash
# Streaming benchmark: generation speed of a model larger than its memory budget, each run held
# by a cgroup-v1 memory limit that also counts the page cache (needs root).
#
#   scripts/bench-stream.sh MODEL BUDGET [TOKENS] [THREADS]
#
# Runs, each from a cold page cache, in a memory cgroup of BUDGET + OVERHEAD (default 30 MiB, the
# runtime's fixed overhead allowance; set OVERHEAD=... to change it):
#   1. edgert run --memory-budget BUDGET (streamed weights)
#   2. edgert run without a budget (weights memory-mapped, as llama.cpp does by default)
#   3. llama.cpp's llama-bench (mmap, its default) when LLAMA_BENCH points to a binary
# and prints tokens/s, peak memory, whether the kernel killed anything, and the ratios.
# Figures go to stdout; each run's full output is kept in $OUT_DIR (default: a temporary folder).
set -euo pipefail

model=${1:?usage: scripts/bench-stream.sh MODEL BUDGET [TOKENS] [THREADS]}
budget=${2:?budget, e.g. 512M}
tokens=${3:-16}
threads=${4:-2}
overhead=${OVERHEAD:-30M}
root=$(cd "$(dirname "$0")/.." && pwd)
edgert=${EDGERT:-$root/.build/release/edgert}
out_dir=${OUT_DIR:-$(mktemp -d /tmp/edgert-bench-stream.XXXXXX)}
mkdir -p "$out_dir"
cg_root=/sys/fs/cgroup/memory
prompt="Once upon a time"

[[ $(id -u) == 0 ]] || { echo "error: needs root (cgroup memory limits, dropping the page cache)" >&2; exit 1; }
[[ -d $cg_root ]] || { echo "error: no cgroup-v1 memory controller at $cg_root" >&2; exit 1; }
[[ -x $edgert ]] || { echo "error: $edgert is not built (swift build -c release)" >&2; exit 1; }
[[ -f $model ]] || { echo "error: no model file $model" >&2; exit 1; }

to_bytes() {  # 512M, 1.5G, 30M -> bytes (binary units)
    python3 -c "import sys,re; m=re.fullmatch(r'([0-9.]+)([KMGT]?)(i?B)?', sys.argv[1].upper()); assert m, sys.argv[1]; print(int(float(m[1]) * 1024 ** ' KMGT'.index(m[2] or ' ')))" "$1"
}
limit=$(( $(to_bytes "$budget") + $(to_bytes "$overhead") ))

# run NAME TIMEOUT CMD...: runs CMD in a fresh memory cgroup from a cold cache; leaves
# $out_dir/NAME.log and prints "peak_bytes oom_kills status".
run_limited() {
    local name=$1 limit_s=$2; shift 2
    local cg=$cg_root/edgert-bench-$$-$name
    mkdir "$cg"
    echo "$limit" > "$cg/memory.limit_in_bytes"
    sync; echo 3 > /proc/sys/vm/drop_caches
    local status=0
    timeout "$limit_s" bash -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$cg" "$@" > "$out_dir/$name.log" 2>&1 || status=$?
    local peak kills
    peak=$(cat "$cg/memory.max_usage_in_bytes")
    kills=$(awk '/^oom_kill /{print $2}' "$cg/memory.oom_control"); kills=${kills:-0}
    rmdir "$cg" 2>/dev/null || true
    echo "$peak $kills $status"
}

mib() { python3 -c "print(f'{int(\"$1\")/1048576:.1f} MiB')"; }

echo "model: $model ($(mib "$(stat -c %s "$model")")), budget $budget, cgroup limit $(mib "$limit") (budget + $overhead), $tokens tokens, $threads threads"
echo "outputs: $out_dir"
echo

read -r s_peak s_kills s_status < <(run_limited streamed 1800 "$edgert" run --model "$model" --memory-budget "$budget" \
    -n "$tokens" --temp 0 -t "$threads" "$prompt")
s_tps=$(sed -n 's/^generation: [0-9]* tokens, \([0-9.]*\) tokens\/s.*/\1/p' "$out_dir/streamed.log")
echo "edgert, streamed (--memory-budget $budget): ${s_tps:-failed} tokens/s; cgroup peak $(mib "$s_peak"); OOM kills $s_kills; exit $s_status"
grep -E '^(memory budget|peak memory|runtime overhead|streaming:|roofline:)' "$out_dir/streamed.log" | sed 's/^/    /'

read -r m_peak m_kills m_status < <(run_limited mapped 1800 "$edgert" run --model "$model" \
    -n "$tokens" --temp 0 -t "$threads" "$prompt")
m_tps=$(sed -n 's/^generation: [0-9]* tokens, \([0-9.]*\) tokens\/s.*/\1/p' "$out_dir/mapped.log")
echo "edgert, memory-mapped (no budget):  ${m_tps:-failed} tokens/s; cgroup peak $(mib "$m_peak"); OOM kills $m_kills; exit $m_status"

if [[ -n ${LLAMA_BENCH:-} ]]; then
    read -r l_peak l_kills l_status < <(run_limited llama 1800 "$LLAMA_BENCH" -m "$model" -p 0 -n "$tokens" -r 1 \
        -t "$threads" -o json)
    l_tps=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(round(d[0]['avg_ts'], 3))" "$out_dir/llama.log" 2>/dev/null || true)
    echo "llama.cpp llama-bench tg$tokens, mmap:  ${l_tps:-failed} tokens/s; cgroup peak $(mib "$l_peak"); OOM kills $l_kills; exit $l_status"
fi

echo
python3 - "$s_tps" "$m_tps" "${l_tps:-}" <<'PY'
import sys
s, m, l = (float(x) if x else None for x in sys.argv[1:4])
if s and m: print(f"streamed / memory-mapped edgert: {s / m:.1f}x")
if s and l: print(f"streamed / llama.cpp mmap: {s / l:.1f}x")
PY
