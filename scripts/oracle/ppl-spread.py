#!/usr/bin/env python3
"""Perplexity of edgert beside llama.cpp, as two distributions instead of two single numbers.

On the quantized-activation path one 8-bit rounding that flips (because a float was summed in
another order) changes every later activation, so a single perplexity figure carries the luck of
one draw: a 1-ulp change anywhere moves SmolLM2's perplexity on the shared eval text by up to
about a percent, in either tool. This script makes N copies of each model whose only change is the
RMSNorm epsilon in the metadata, nudged by k % (k = 0..N-1; copy 0 is the file itself), runs
`llama-perplexity` and `edgert perplexity` on every copy, and prints each tool's values, median
and spread, and the ratio of the medians. Both tools read the same copies, so the comparison
stays paired; the nudge (1e-5 -> up to 1.07e-5) is far below anything that changes the model's
quality, and only reshuffles which roundings flip.

Usage: scripts/oracle/ppl-spread.py --llama-bin DIR [--edgert PATH] [--copies N] [--text FILE]
                                    [--ctx 128] [--threads 2] MODEL.gguf...
  DIR holds llama-perplexity (llama.cpp's build/bin). Needs the `gguf` package (pip install gguf).
"""
import argparse, os, re, shutil, statistics, subprocess, sys, tempfile

import gguf
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FINAL = re.compile(r"Final estimate: PPL = ([0-9.]+)")


def nudged_copy(src, dst, k):
    """dst = src with every *.layer_norm_rms_epsilon multiplied by (1 + k/100)."""
    shutil.copyfile(src, dst)
    reader = gguf.GGUFReader(dst, "r+")
    found = False
    for name, field in reader.fields.items():
        if name.endswith(".layer_norm_rms_epsilon"):
            value = field.parts[field.data[0]]
            value[0] = np.float32(float(value[0]) * (1 + k / 100.0))
            found = True
    if not found:
        sys.exit(f"ppl-spread: {src} has no layer_norm_rms_epsilon to nudge")
    reader.data.flush()


def final_ppl(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    m = FINAL.search(out.stdout + out.stderr)
    if out.returncode != 0 or not m:
        sys.exit(f"ppl-spread: {' '.join(cmd)} failed ({out.returncode}):\n{(out.stdout + out.stderr)[-2000:]}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-bin", required=True)
    ap.add_argument("--edgert", default=os.path.join(HERE, "../../.build/release/edgert"))
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument("--text", default=os.path.join(HERE, "../../../shared/reference/eval-text.txt"))
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    llama = os.path.join(a.llama_bin, "llama-perplexity")
    for path in (llama, a.edgert, a.text, *a.models):
        if not os.path.exists(path):
            sys.exit(f"ppl-spread: {path} not found")
    tmp = tempfile.mkdtemp(prefix="ppl-spread-")
    rows = []
    try:
        for model in a.models:
            name = os.path.basename(model)
            ours, theirs = [], []
            for k in range(a.copies):
                copy = os.path.join(tmp, f"{k}-{name}")
                nudged_copy(model, copy, k)
                theirs.append(final_ppl([llama, "-m", copy, "-f", a.text, "-c", str(a.ctx), "-b", str(a.ctx),
                                         "-t", str(a.threads)]))
                ours.append(final_ppl([a.edgert, "perplexity", "--model", copy, "--file", a.text,
                                       "--ctx", str(a.ctx), "-t", str(a.threads)]))
                os.remove(copy)
                print(f"{name} copy {k}: llama.cpp {theirs[-1]:.4f}  edgert {ours[-1]:.4f}", file=sys.stderr, flush=True)
            rows.append((name, theirs, ours))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def spread(v):
        return (max(v) - min(v)) / statistics.median(v) * 100

    print(f"| file | llama.cpp median (min-max, spread) | edgert median (min-max, spread) | edgert / llama.cpp, medians |")
    print("|---|---|---|---|")
    for name, theirs, ours in rows:
        mt, mo = statistics.median(theirs), statistics.median(ours)
        print(f"| {name} | {mt:.4f} ({min(theirs):.4f}-{max(theirs):.4f}, {spread(theirs):.2f}%) "
              f"| {mo:.4f} ({min(ours):.4f}-{max(ours):.4f}, {spread(ours):.2f}%) | {(mo / mt - 1) * 100:+.2f}% |")
    print(f"\n{a.copies} copies per file (RMSNorm epsilon x 1.00 ... x {1 + (a.copies - 1) / 100:.2f}), "
          f"--ctx {a.ctx}, {a.threads} threads; per-copy values on standard error.")


if __name__ == "__main__":
    main()
