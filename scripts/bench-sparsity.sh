#!/bin/bash
# Dense against sparse generation, side by side: for each model, `edgert bench` tgN with
# --sparsity off and at each level, in interleaved rounds (2 threads, 3 repetitions each), then the
# median tokens/s per level and its ratio to dense. Needs each model's neuron statistics
# (`edgert calibrate --model M` writes M.neurons.gguf).
#
#   scripts/bench-sparsity.sh [-n 128] [-r ROUNDS] [-l "0.1 0.2 0.3 0.5 0.7"] MODEL...
set -euo pipefail
cd "$(dirname "$0")/.."
E=.build/release/edgert
n=128; rounds=3; levels="0.1 0.2 0.3 0.5 0.7"
while getopts "n:r:l:" o; do
  case $o in n) n=$OPTARG ;; r) rounds=$OPTARG ;; l) levels=$OPTARG ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n N] [-r ROUNDS] [-l LEVELS] MODEL..." >&2; exit 2; }
[ -x $E ] || swift build -c release --product edgert
out=$(mktemp)
for round in $(seq "$rounds"); do
  for m in "$@"; do
    for lv in off $levels; do
      args=(bench --model "$m" -p none -n "$n" -t 2 -r 3 --no-roofline --json)
      [ "$lv" = off ] || args+=(--sparsity "$lv")
      ts=$($E "${args[@]}" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['avg_ts'])")
      echo "round $round $(basename "$m") $lv $ts" | tee -a "$out" >&2
    done
  done
done
python3 - "$out" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    _, _, model, level, ts = line.split()
    runs[(model, level)].append(float(ts))
models = sorted({m for m, _ in runs})
for m in models:
    dense = statistics.median(runs[(m, "off")])
    print(f"| {m} | level | tg tokens/s (median) | vs dense |")
    for (mm, level), v in runs.items():
        if mm == m:
            print(f"| | {level} | {statistics.median(v):.1f} | {statistics.median(v) / dense:.2f} |")
PY
rm -f "$out"
