#!/usr/bin/env bash
# Balancer benchmark: generation speed with a static equal split vs. the dynamic balancer, each on
# an idle machine and with a CPU-bound competing process pinned to one of the pool's cores.
#
#   scripts/bench-balance.sh [MODEL] [TOKENS]
#
# MODEL defaults to $EDGERT_MODEL, else the SmolLM2-135M Q8_0 in ../shared/models; TOKENS to 128.
# Environment: THREADS (default 2), ROUNDS (default 3), REPS (timed repetitions per run, default 3),
# HOG_CPU (default: the pool's second CPU, i.e. the second CPU this process may use).
#
# Each round runs all four configurations, in an order that alternates between rounds; each run is
# `edgert bench -p none -n TOKENS -t THREADS -r REPS --no-roofline --json --balance MODE` (one
# untimed warm-up, then REPS timed generations of TOKENS tokens; model load, tokenization and
# sampling excluded). A configuration's figure is the median over the rounds of each run's mean
# tok/s. The hog is `sh -c 'while :; do :; done'` pinned with taskset to HOG_CPU, started before
# and killed after each hog run (and by a trap on exit). Prints the four figures, the ratios, and
# the balancer's last state of each configuration; each run's stderr is kept in $OUT_DIR. Each round
# also runs one thread on the idle machine, for reference (the speed left if the shared core were
# given up entirely).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-${EDGERT_MODEL:-$root/../shared/models/SmolLM2-135M-Instruct.Q8_0.gguf}}
tokens=${2:-128}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
reps=${REPS:-3}
edgert=${EDGERT:-$root/.build/release/edgert}
out_dir=${OUT_DIR:-$(mktemp -d /tmp/edgert-bench-balance.XXXXXX)}
mkdir -p "$out_dir"

[[ -x $edgert ]] || { echo "error: $edgert is not built (swift build -c release)" >&2; exit 1; }
[[ -f $model ]] || { echo "error: no model at $model (give MODEL or set EDGERT_MODEL)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "error: needs taskset (util-linux)" >&2; exit 1; }

# The CPUs this process may use, in order; the pool pins thread i to the i-th (thread 0 = driver).
mapfile -t cpus < <(python3 -c 'import os; print("\n".join(str(c) for c in sorted(os.sched_getaffinity(0))))')
(( ${#cpus[@]} >= threads )) || { echo "error: $threads threads but this process may use ${#cpus[@]} CPUs" >&2; exit 1; }
hog_cpu=${HOG_CPU:-${cpus[1]:-${cpus[0]}}}

hog_pid=""
stop_hog() { if [[ -n $hog_pid ]]; then kill "$hog_pid" 2>/dev/null || true; wait "$hog_pid" 2>/dev/null || true; hog_pid=""; fi; }
trap stop_hog EXIT INT TERM
start_hog() { taskset -c "$hog_cpu" sh -c 'while :; do :; done' & hog_pid=$!; sleep 0.2; }

# One run: prints its mean tok/s; keeps stderr.
run_one() {
    local mode=$1 cond=$2 round=$3 t=${4:-$threads}
    local err="$out_dir/$mode-$cond-$round-t$t.err"
    local json
    json=$("$edgert" bench --model "$model" -p none -n "$tokens" -t "$t" -r "$reps" --no-roofline --json \
        --balance "$mode" 2>"$err")
    sed -n 's/.*"avg_ts" : \([0-9.eE+-]*\).*/\1/p' <<<"$json" | head -1
}

declare -A figures
configs=("static idle" "dynamic idle" "static hog" "dynamic hog")
echo "# balancer benchmark: $(basename "$model"), tg$tokens, $threads threads, $rounds rounds x $reps reps, hog on CPU $hog_cpu" >&2
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((r = 1; r <= rounds; r++)); do
    order=("${configs[@]}")
    if (( r % 2 == 0 )); then order=("dynamic hog" "static hog" "dynamic idle" "static idle"); fi
    for cfg in "${order[@]}"; do
        read -r mode cond <<<"$cfg"
        [[ $cond == hog ]] && start_hog
        v=$(run_one "$mode" "$cond" "$r")
        [[ $cond == hog ]] && stop_hog
        figures[$cfg]+="$v "
        printf '# round %d: %-12s %8.2f tok/s\n' "$r" "$cfg" "$v" >&2
    done
    # Reference: one thread on the idle machine, what the pool could reach by giving up the shared core.
    v=$(run_one dynamic idle "$r" 1)
    figures[one]+="$v "
    printf '# round %d: %-12s %8.2f tok/s\n' "$r" "1 thread" "$v" >&2
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
si=$(median "${figures[static idle]}"); di=$(median "${figures[dynamic idle]}")
sh=$(median "${figures[static hog]}"); dh=$(median "${figures[dynamic hog]}"); one=$(median "${figures[one]}")

echo "balancer benchmark: $(basename "$model"), tg$tokens, $threads threads, median of $rounds runs (each the mean of $reps generations)"
printf '  %-8s %12s %12s %14s\n' "" "idle tok/s" "hog tok/s" "hog / idle"
printf '  %-8s %12.2f %12.2f %13.0f%%\n' static "$si" "$sh" "$(awk -v a="$sh" -v b="$si" 'BEGIN{print 100*a/b}')"
printf '  %-8s %12.2f %12.2f %13.0f%%\n' dynamic "$di" "$dh" "$(awk -v a="$dh" -v b="$di" 'BEGIN{print 100*a/b}')"
printf '  dynamic / static: idle %.2fx, hog %.2fx; dynamic with the hog / static idle: %.0f%%\n' \
    "$(awk -v a="$di" -v b="$si" 'BEGIN{print a/b}')" "$(awk -v a="$dh" -v b="$sh" 'BEGIN{print a/b}')" \
    "$(awk -v a="$dh" -v b="$si" 'BEGIN{print 100*a/b}')"
printf '  reference: 1 thread, idle: %.2f tok/s (%.0f%% of dynamic idle)\n' "$one" "$(awk -v a="$one" -v b="$di" 'BEGIN{print 100*a/b}')"
for cfg in "${configs[@]}"; do
    read -r mode cond <<<"$cfg"
    line=$(grep -h 'balancer:' "$out_dir/$mode-$cond-$rounds-t$threads.err" | tail -1 | sed 's/.*balancer: //')
    echo "  last balancer state, $cfg: $line"
done
region=$(grep -h '^bench: one empty parallel region' "$out_dir"/dynamic-idle-*-t"$threads".err | sed 's/.*: //' | tr '\n' ' ')
echo "  one empty parallel region (dynamic, idle runs): $region"
echo "  runs' stderr: $out_dir"
