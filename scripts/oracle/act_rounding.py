#!/usr/bin/env python3
"""Activation rounding and block dot products: edgert against llama.cpp, value by value.

Loads llama.cpp's CPU backend (libggml-base.so + libggml-cpu.so of a llama.cpp build) and
edgert's kernels (CEdgeKernels built as a shared library by this script), takes real activations
of a real model (layer 0's attention input: token embeddings rms-normed and scaled by attn_norm;
its feed-forward hidden state silu(x W_gate) * (x W_up)), and compares

  1. the 8-bit activation blocks (Q8_0, Q8_1, Q8_K): ggml's from_float against edge_quantize_act
     (dispatched) and edge_quantize_act_ref, byte by byte;
  2. the block dot product of every weight type in the file with those blocks: ggml's vec_dot
     against edge_vec_dot and edge_vec_dot_ref, on the same activation bytes, reporting the
     relative difference and its mean sign (a bias, unlike float-order noise, has one sign).

Usage: scripts/oracle/act_rounding.py --ggml DIR [--model F.gguf] [--tokens N]
  DIR holds libggml-base.so and libggml-cpu.so (llama.cpp's build/bin).
"""
import argparse, ctypes, os, subprocess, sys, tempfile
import numpy as np
import gguf

T = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q8_1": 9,
     "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "Q8_K": 15, "BF16": 30}
BLOCK = {8: (32, 34), 9: (32, 36), 15: (256, 292)}   # act type -> (elements, bytes) per block


class GGMLTraits(ctypes.Structure):
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p),
                ("vec_dot_type", ctypes.c_int), ("nrows", ctypes.c_int64)]


FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                           ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def build_edge(repo):
    src = os.path.join(repo, "Sources", "CEdgeKernels")
    out = os.path.join(tempfile.mkdtemp(prefix="edge-oracle-"), "libedge.so")
    cs = sorted(os.path.join(src, f) for f in os.listdir(src) if f.endswith(".c"))
    subprocess.check_call(["clang", "-shared", "-fPIC", "-O2", "-I", os.path.join(src, "include"), *cs,
                           "-o", out, "-lpthread", "-lm"])
    lib = ctypes.CDLL(out)
    lib.edge_quantize_act.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    lib.edge_quantize_act_ref.argtypes = lib.edge_quantize_act.argtypes
    for f in (lib.edge_vec_dot, lib.edge_vec_dot_ref):
        f.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p]
        f.restype = ctypes.c_float
    lib.edge_isa_current.restype = ctypes.c_int
    return lib


def rmsnorm(x, w, eps):
    return (x / np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True) + eps)).astype(np.float32) * w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ggml", required=True)
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "../../../shared/models/SmolLM2-135M-Instruct.Q4_K_M.gguf"))
    ap.add_argument("--tokens", type=int, default=64)
    a = ap.parse_args()
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))

    ctypes.CDLL(os.path.join(a.ggml, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
    gcpu = ctypes.CDLL(os.path.join(a.ggml, "libggml-cpu.so"))
    gcpu.ggml_cpu_init()
    gcpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(GGMLTraits)
    edge = build_edge(repo)
    print(f"edge ISA {['scalar', 'AVX2', 'AVX-512'][edge.edge_isa_current()]}; model {os.path.basename(a.model)}")

    r = gguf.GGUFReader(a.model)
    t = {x.name: x for x in r.tensors}
    deq = lambda name: gguf.dequantize(t[name].data, t[name].tensor_type).astype(np.float32)
    eps = float(r.fields["llama.attention.layer_norm_rms_epsilon"].parts[-1][0]) if "llama.attention.layer_norm_rms_epsilon" in r.fields else 1e-5
    rng = np.random.default_rng(1)
    emb = deq("token_embd.weight")
    ids = rng.choice(emb.shape[0], a.tokens, replace=False)
    x = rmsnorm(emb[ids], deq("blk.0.attn_norm.weight"), eps)
    h = x @ deq("blk.0.ffn_gate.weight").T
    h = (h / (1 + np.exp(-h)) * (x @ deq("blk.0.ffn_up.weight").T)).astype(np.float32)
    acts = {"attention input (layer 0)": x, "feed-forward hidden (layer 0)": h}

    # 1. activation blocks
    print("\n1. activation blocks, ggml from_float vs edgert (bytes equal / blocks)")
    for an, atype in (("Q8_0", 8), ("Q8_1", 9), ("Q8_K", 15)):
        tr = gcpu.ggml_get_type_traits_cpu(atype).contents
        ff = FROM_FLOAT(tr.from_float)
        be, bb = BLOCK[atype]
        for label, m in acts.items():
            rows = np.ascontiguousarray(m)
            if rows.shape[1] % be: continue
            nb = rows.shape[1] // be
            same_d = same_r = blocks = 0
            for row in rows:
                g = ctypes.create_string_buffer(nb * bb); e = ctypes.create_string_buffer(nb * bb); f = ctypes.create_string_buffer(nb * bb)
                ff(row.ctypes.data, g, rows.shape[1])
                edge.edge_quantize_act(atype, row.ctypes.data, e, rows.shape[1])
                edge.edge_quantize_act_ref(atype, row.ctypes.data, f, rows.shape[1])
                for b in range(nb):
                    s = slice(b * bb, (b + 1) * bb)
                    same_d += g.raw[s] == e.raw[s]; same_r += g.raw[s] == f.raw[s]; blocks += 1
            print(f"  {an} {label}: dispatched {same_d}/{blocks}, reference {same_r}/{blocks}")

    # 2. dot products on the same activation bytes
    print("\n2. block dot products, ggml vec_dot vs edgert on ggml's activation bytes")
    print("   (relative difference |e - g| / mean |g|: median, max; mean signed difference / mean |g|)")
    seen = set()
    for name, tt in t.items():
        ty = tt.tensor_type.name
        if not (name.startswith("blk.") or name == "token_embd.weight") or ty in seen or ty == "F32": continue
        seen.add(ty)
        wt = T[ty]
        tr = gcpu.ggml_get_type_traits_cpu(wt).contents
        vd = VEC_DOT(tr.vec_dot); atype = tr.vec_dot_type
        ff = FROM_FLOAT(gcpu.ggml_get_type_traits_cpu(atype).contents.from_float)
        n = int(tt.shape[0]); W = np.ascontiguousarray(tt.data).view(np.uint8).reshape(int(tt.shape[1]), -1)
        m = x if n == x.shape[1] else h
        be, bb = BLOCK[atype]
        res_d, res_r = [], []
        for row in m[:16]:
            q = ctypes.create_string_buffer(n // be * bb)
            ff(np.ascontiguousarray(row).ctypes.data, q, n)
            out = ctypes.c_float()
            for wi in range(0, W.shape[0], max(1, W.shape[0] // 64)):
                w = W[wi].ctypes.data
                vd(n, ctypes.byref(out), 0, w, 0, q, 0, 1)
                res_d.append((out.value, edge.edge_vec_dot(wt, n, w, q)))
                res_r.append((out.value, edge.edge_vec_dot_ref(wt, n, w, q)))
        for label, res in (("dispatched", res_d), ("reference", res_r)):
            g = np.array([p[0] for p in res], np.float64); e = np.array([p[1] for p in res], np.float64)
            scale = np.mean(np.abs(g)); d = (e - g) / scale
            print(f"  {ty:5s} ({name}, {n} wide) {label:10s}: median {np.median(np.abs(d)):.2e}, max {np.max(np.abs(d)):.2e}, "
                  f"mean signed {np.mean(d):+.2e}, exact {np.mean(e == g) * 100:.0f}%")


if __name__ == "__main__":
    sys.exit(main())
