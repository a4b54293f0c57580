#!/usr/bin/env python3
"""Predicted against measured: runs `edgert run --stats-json` on the models and budgets of the
planner's accuracy table and prints, per row, the medians of predicted and measured generation
tokens/s, peak memory and time to first token, with their errors.

The rows: SmolLM2-135M Q4_1, Q8_0 and Q4_K_M on 1 and 2 threads; a Llama-3.2-1B-shaped synthetic
Q8_0 held resident; the 1B and a Llama-3.2-3B-shaped synthetic streamed under budgets of 512 MiB
and 1 GiB. Synthetic files are written with `edgert synth` into --synth-dir when absent.

    scripts/predictions.py [--repeats 3] [--profile FILE] [--rows small,resident,streamed]

Uses .build/release/edgert (build it first: swift build -c release). The host's own profile in
Profiles/ is used unless --profile is given. Prints a Markdown table; --json FILE also writes the
raw runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDGERT = os.path.join(ROOT, ".build", "release", "edgert")
PROMPT = ("The history of the city begins with a small settlement on the river, where farmers and "
          "traders met every season to exchange grain, wool and salt. Over the centuries")
TOLERANCE = {"gen": 15, "peak": 5, "ttft": 25}


def find_model(name):
    for d in (os.path.join(ROOT, "models"), os.path.join(ROOT, "..", "shared", "models")):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    return None


def synth(path, shape):
    if not os.path.exists(path):
        print(f"predictions: writing {path} ({shape}, Q8_0)", file=sys.stderr)
        subprocess.run([EDGERT, "synth", "--shape", shape, "--type", "Q8_0", "--out", path], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def rows(args):
    out = []
    if "small" in args.rows:
        for name in ("SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q8_0.gguf",
                     "SmolLM2-135M-Instruct.Q4_K_M.gguf"):
            path = find_model(name)
            if path is None:
                print(f"predictions: {name} not found in models/ or ../shared/models: row skipped", file=sys.stderr)
                continue
            for t in (1, 2):
                out.append((f"{name.split('.', 1)[1].removesuffix('.gguf')}, {t} thread{'s' if t > 1 else ''}",
                            ["--model", path, "-t", str(t), "-n", "64"]))
    one_b = os.path.join(args.synth_dir, "llama-3.2-1b-Q8_0.gguf")
    three_b = os.path.join(args.synth_dir, "llama-3.2-3b-Q8_0.gguf")
    if "resident" in args.rows:
        out.append(("1B synthetic Q8_0, resident, 2 threads", ["--model", synth(one_b, "llama-3.2-1b"), "-n", "16"]))
    if "streamed" in args.rows:
        for path, shape, label in ((one_b, "llama-3.2-1b", "1B"), (three_b, "llama-3.2-3b", "3B")):
            for budget in ("512M", "1G"):
                out.append((f"{label} synthetic Q8_0, budget {budget.replace('M', ' MiB').replace('1G', '1 GiB')}",
                            ["--model", synth(path, shape), "--memory-budget", budget, "-n", "6"]))
    return out


def run_once(argv, profile):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        stats = f.name
    cmd = [EDGERT, "run", *argv, "--temp", "0", "--stats-json", stats]
    if profile:
        cmd += ["--profile", profile]
    cmd.append(PROMPT)
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    with open(stats) as f:
        s = json.load(f)
    os.unlink(stats)
    if "predicted" not in s:
        raise RuntimeError(f"{' '.join(cmd)}: the run printed no prediction (no host profile?)")
    return s


def err(pred, meas):
    return 100.0 * (pred - meas) / meas


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile")
    ap.add_argument("--rows", default="small,resident,streamed")
    ap.add_argument("--synth-dir", default=os.environ.get("EDGERT_SYNTH_DIR", "/tmp/edgert-synth"))
    ap.add_argument("--json")
    args = ap.parse_args()
    if not os.path.exists(EDGERT):
        sys.exit("predictions: build edgert first: swift build -c release")
    os.makedirs(args.synth_dir, exist_ok=True)
    table, raw, misses = [], [], 0
    host = None
    for label, argv in rows(args):
        runs = [run_once(argv, args.profile) for _ in range(args.repeats)]
        raw.append({"row": label, "runs": runs})
        host = runs[0].get("host", host)
        med = lambda f: statistics.median(f(r) for r in runs)
        g = (med(lambda r: r["predicted"]["gen_tokens_per_s"]), med(lambda r: r["gen_tokens_per_s"]))
        m = (med(lambda r: r["predicted"]["peak_memory_bytes"]) / 2**20, med(lambda r: r["peak_rss_bytes"]) / 2**20)
        t = (med(lambda r: r["predicted"]["time_to_first_token_s"]), med(lambda r: r["time_to_first_token_s"]))
        errs = (err(*g), err(*m), err(*t))
        ok = [abs(errs[0]) <= TOLERANCE["gen"], abs(errs[1]) <= TOLERANCE["peak"], abs(errs[2]) <= TOLERANCE["ttft"]]
        misses += ok.count(False)
        mark = lambda b: "" if b else " ✗"
        table.append(f"| {label} | {runs[0]['strategy']} | {g[0]:.2f} / {g[1]:.2f} ({errs[0]:+.0f}%{mark(ok[0])}) "
                     f"| {m[0]:.0f} / {m[1]:.0f} MiB ({errs[1]:+.1f}%{mark(ok[1])}) "
                     f"| {t[0]*1000:.0f} / {t[1]*1000:.0f} ms ({errs[2]:+.0f}%{mark(ok[2])}) |")
        print(table[-1], file=sys.stderr, flush=True)
    print(f"Host profile: {host}; medians of {args.repeats} runs; prompt {len(PROMPT.split())} words; "
          f"tolerances ±{TOLERANCE['gen']}% generation, ±{TOLERANCE['peak']}% peak, ±{TOLERANCE['ttft']}% first token\n")
    print("| run | plan | generation tok/s, predicted / measured | peak memory | time to first token |")
    print("|---|---|---|---|---|")
    print("\n".join(table))
    print(f"\n{misses} figure{'s' if misses != 1 else ''} outside the tolerance")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
