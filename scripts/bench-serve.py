#!/usr/bin/env python3
"""Benchmark (not a test): N concurrent streaming clients against `edgert serve` and, side by side
in the same run, `llama-server -np N -cb` on the same model, for N = 1, 2, 4, 8.

Prints per server and N: aggregate generated tokens/s (all completion tokens / wall time of the
round), time to first token p50/p99 over the requests (from sending to the first content chunk),
and the server's peak resident memory (VmHWM). Loopback only; every round is bounded.

  scripts/bench-serve.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf \\
      --llama-server /path/to/llama-server [--clients 1,2,4,8] [--tokens 128] [--requests 2]
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPTS = [
    "Once upon a time in a small village by the sea,",
    "The history of the printing press begins",
    "In the year 2150, the first city on Mars",
    "A recipe for a simple bread needs",
    "The old lighthouse keeper looked at the storm and",
    "Scientists studying the deep ocean found",
    "The rules of chess are simple to learn:",
    "On the first day of school, the new teacher",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Server:
    def __init__(self, kind, args, n):
        self.port = free_port()
        self.kind = kind
        if kind == "edgert":
            cmd = [args.edgert, "serve", "--model", args.model, "--port", str(self.port), "-t", str(args.threads),
                   "--parallel", str(n), "--ctx", str(args.ctx)]
        else:
            # llama-server divides its context between the slots.
            cmd = [args.llama_server, "-m", args.model, "--port", str(self.port), "--host", "127.0.0.1", "-t", str(args.threads),
                   "-np", str(n), "-cb", "-c", str(args.ctx * n), "--no-webui"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{kind} did not start: {' '.join(cmd)}")
            time.sleep(0.1)

    def stream(self, prompt, tokens):
        """(completion tokens, seconds to first content chunk)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        body = {"model": "m", "prompt": prompt, "max_tokens": tokens, "temperature": 0, "stream": True,
                "stream_options": {"include_usage": True}}
        t0 = time.perf_counter()
        c.request("POST", "/v1/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        first, count, usage = None, 0, None
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            o = json.loads(line[6:])
            if o.get("usage"):
                usage = o["usage"]["completion_tokens"]
            for ch in o.get("choices") or []:
                if ch.get("text"):
                    count += 1
                    if first is None:
                        first = time.perf_counter() - t0
        c.close()
        return (usage if usage is not None else count), (first if first is not None else float("nan"))

    def stop(self):
        rss = peak_rss_mib(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return rss


def round_(server, n, tokens, requests):
    results = []
    lock = threading.Lock()

    def client(i):
        for r in range(requests):
            got = server.stream(PROMPTS[(i + r * n) % len(PROMPTS)], tokens)
            with lock:
                results.append(got)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    total = sum(r[0] for r in results)
    ttft = sorted(r[1] for r in results)
    p99 = ttft[min(len(ttft) - 1, int(round(0.99 * (len(ttft) - 1))))]
    return total / wall, statistics.median(ttft), p99, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--edgert", default=os.path.join(ROOT, ".build", "release", "edgert"))
    ap.add_argument("--llama-server", default=None, help="llama-server binary (omit to run edgert only)")
    ap.add_argument("--clients", default="1,2,4,8")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--requests", type=int, default=2, help="requests per client per round")
    ap.add_argument("--ctx", type=int, default=1024, help="context per slot")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    kinds = ["edgert"] + (["llama-server"] if args.llama_server else [])
    print(f"model {os.path.basename(args.model)}; {args.tokens} tokens per request, {args.requests} requests per client, "
          f"{args.threads} threads, context {args.ctx} per slot")
    print(f"{'server':<13} {'N':>2} {'agg tok/s':>10} {'TTFT p50':>9} {'TTFT p99':>9} {'peak MiB':>9} {'tokens':>7}")
    table = {}
    for n in [int(x) for x in args.clients.split(",")]:
        for kind in kinds:
            server = Server(kind, args, n)
            server.stream(PROMPTS[0], 8)  # warm-up, untimed
            rate, p50, p99, total = round_(server, n, args.tokens, args.requests)
            rss = server.stop()
            table[(kind, n)] = rate
            print(f"{kind:<13} {n:>2} {rate:>10.1f} {p50:>8.3f}s {p99:>8.3f}s {rss:>9.1f} {total:>7}", flush=True)
    ns = sorted({n for _, n in table})
    if ("edgert", 1) in table:
        for n in ns:
            line = f"N={n}: edgert {table[('edgert', n)] / table[('edgert', 1)]:.2f}x its N=1"
            if ("llama-server", n) in table:
                line += f", {table[('edgert', n)] / table[('llama-server', n)]:.2f}x llama-server"
            print(line)


if __name__ == "__main__":
    main()
