#!/usr/bin/env python3
"""Independent float64 forward pass of a decoder-only transformer stored in GGUF (the oracle of
TinyModelOracleTests.swift). Written from the equations, not from any other implementation.

Usage: forward.py MODEL.gguf ID,ID,...
Prints {"logits": [[vocab floats] per position]} as JSON on stdout.
Exit status 3 if numpy or gguf cannot be imported (the Swift test turns it into a visible skip).

Architectures: `llama` (RoPE on adjacent pairs), `qwen2` (RoPE on pairs (i, i + n_rot/2),
Q/K/V biases), `qwen3` (qwen2's RoPE, per-head RMSNorm of q and k before RoPE, no biases),
`phi3` (qwen2's RoPE; Q, K, V fused in attn_qkv and gate, up fused in ffn_up) and `gemma3`
(see below). Per block, with x the residual stream of shape (positions, d_model):

    h  = rmsnorm(x) * attn_norm                  rmsnorm(x) = x / sqrt(mean(x^2) + eps)
    q  = h Wq^T (+ bq)   k = h Wk^T (+ bk)   v = h Wv^T (+ bv)
    q, k = rope(q), rope(k)                      per head, the first n_rot dims of each head
    a  = softmax(q k^T / sqrt(head_dim) + causal mask) v   query head j reads KV head j // group
    x += a Wo^T
    h  = rmsnorm(x) * ffn_norm
    x += (silu(h Wgate^T) * (h Wup^T)) Wdown^T   silu(z) = z / (1 + exp(-z))

then logits = (rmsnorm(x) * output_norm) Wout^T, Wout = output.weight or token_embd.weight (tied).
The head size is attention.key_length when present, else embedding_length / head_count.

gemma3: x starts as the embedding rows times sqrt(d_model); the attention branch is
rmsnorm(a Wo^T) * post_attention_norm and the feed-forward branch
rmsnorm((gelu(h Wgate^T) * (h Wup^T)) Wdown^T) * post_ffw_norm, gelu(z) = z/2 (1 + tanh(sqrt(2/pi)
(z + 0.044715 z^3))) evaluated exactly. Layer i is a sliding-window layer when i % P < P - 1
(P = attention.sliding_window_pattern, default 6): query position m sees keys m - W + 1 ... m
(W = attention.sliding_window) and RoPE uses rope.freq_base_swa (default 10000) unscaled; other
layers see every earlier key with rope.freq_base. Scores are scaled by 1/sqrt(head_dim).
logits become c tanh(logits / c) when final_logit_softcapping = c is set.

RoPE: pair p (0 <= p < n_rot/2) of a head at position m turns by the angle
    m * freq_scale * base^(-2p / n_rot) / factor[p]
(factor = rope_freqs.weight when present, Llama-3 style, else 1), rotating (x_a, x_b) to
(x_a cos - x_b sin, x_a sin + x_b cos) with (a, b) = (2p, 2p+1) for llama, (p, p + n_rot/2) for
qwen2. Dimensions from n_rot to head_dim are left as they are (partial rotary).
"""
import json
import sys

try:
    import numpy as np
    import gguf
    from gguf.quants import dequantize
except Exception as e:  # pragma: no cover - reported as a skip by the Swift side
    print(f"oracle unavailable: {e}", file=sys.stderr)
    sys.exit(3)

NEOX = {"llama": False, "qwen2": True, "qwen3": True, "phi3": True, "gemma3": True}


def field(reader, key, default=None):
    f = reader.get_field(key)
    if f is None:
        if default is None:
            raise KeyError(key)
        return default
    return f.contents()


def load_tensors(reader):
    """name -> float64 array shaped (dims reversed), i.e. (rows, row length) for a matrix."""
    out = {}
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        if t.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            a = np.asarray(t.data)
        else:
            a = dequantize(np.asarray(t.data), t.tensor_type)
        out[t.name] = np.asarray(a, dtype=np.float64).reshape(shape)
    return out


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, positions, n_rot, base, freq_scale, factors, neox):
    """x: (positions, heads, head_dim), rotated in place of a copy."""
    x = x.copy()
    half = n_rot // 2
    p = np.arange(half, dtype=np.float64)
    inv_freq = base ** (-2.0 * p / n_rot) * freq_scale
    if factors is not None:
        inv_freq = inv_freq / factors
    ang = positions[:, None].astype(np.float64) * inv_freq[None, :]   # (positions, half)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    if neox:
        ia, ib = p.astype(int), p.astype(int) + half
    else:
        ia, ib = 2 * p.astype(int), 2 * p.astype(int) + 1
    xa, xb = x[:, :, ia].copy(), x[:, :, ib].copy()
    x[:, :, ia] = xa * cos - xb * sin
    x[:, :, ib] = xa * sin + xb * cos
    return x


def forward(path, ids):
    r = gguf.GGUFReader(path)
    arch = field(r, "general.architecture")
    if arch not in NEOX:
        raise SystemExit(f"oracle: architecture {arch} not implemented")
    W = load_tensors(r)
    n_layer = int(field(r, f"{arch}.block_count"))
    n_head = int(field(r, f"{arch}.attention.head_count"))
    n_kv = int(field(r, f"{arch}.attention.head_count_kv", n_head))
    d = int(field(r, f"{arch}.embedding_length"))
    n_ff = int(field(r, f"{arch}.feed_forward_length"))
    hd = int(field(r, f"{arch}.attention.key_length", d // n_head))
    eps = float(field(r, f"{arch}.attention.layer_norm_rms_epsilon"))
    base = float(field(r, f"{arch}.rope.freq_base", 10000.0))
    n_rot = int(field(r, f"{arch}.rope.dimension_count", hd))
    freq_scale = 1.0
    if field(r, f"{arch}.rope.scaling.type", "none") == "linear":
        freq_scale = 1.0 / float(field(r, f"{arch}.rope.scaling.factor"))
    factors = W.get("rope_freqs.weight")
    neox = NEOX[arch]
    gemma = arch == "gemma3"
    window = int(field(r, f"{arch}.attention.sliding_window", 0)) if gemma else 0
    period = int(field(r, f"{arch}.attention.sliding_window_pattern", 6))
    base_swa = float(field(r, f"{arch}.rope.freq_base_swa", 10000.0))
    softcap = float(field(r, f"{arch}.final_logit_softcapping", 0.0))

    emb = W["token_embd.weight"]                      # (vocab, d)
    out_w = W.get("output.weight", emb)               # (vocab, d)
    n = len(ids)
    pos = np.arange(n)
    x = emb[np.asarray(ids)]                          # (n, d)
    if gemma:
        x = x * np.sqrt(d)
    group = n_head // n_kv
    causal = np.triu(np.full((n, n), -np.inf), k=1)   # (n, n): query i sees keys 0...i
    banded = causal + np.tril(np.full((n, n), -np.inf), k=-window) if window else causal  # and keys > i - W

    def gelu(z):
        return 0.5 * z * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (z + 0.044715 * z ** 3)))

    for i in range(n_layer):
        b = f"blk.{i}."
        sliding = window > 0 and (period == 0 or i % period < period - 1)
        h = rmsnorm(x, W[b + "attn_norm.weight"], eps)
        if b + "attn_qkv.weight" in W:
            qkv = h @ W[b + "attn_qkv.weight"].T
            q, k, v = qkv[:, :n_head * hd], qkv[:, n_head * hd:(n_head + n_kv) * hd], qkv[:, (n_head + n_kv) * hd:]
        else:
            q = h @ W[b + "attn_q.weight"].T + W.get(b + "attn_q.bias", 0.0)   # (n, n_head*hd)
            k = h @ W[b + "attn_k.weight"].T + W.get(b + "attn_k.bias", 0.0)   # (n, n_kv*hd)
            v = h @ W[b + "attn_v.weight"].T + W.get(b + "attn_v.bias", 0.0)   # (n, n_kv*hd)
        q, k, v = q.reshape(n, n_head, hd), k.reshape(n, n_kv, hd), v.reshape(n, n_kv, hd)
        if b + "attn_q_norm.weight" in W:
            q = rmsnorm(q, W[b + "attn_q_norm.weight"], eps)
            k = rmsnorm(k, W[b + "attn_k_norm.weight"], eps)
        lbase, lscale = (base_swa, 1.0) if sliding else (base, freq_scale)
        q = rope(q, pos, n_rot, lbase, lscale, factors, neox)
        k = rope(k, pos, n_rot, lbase, lscale, factors, neox)
        mask = banded if sliding else causal
        a = np.empty((n, n_head, hd))
        for j in range(n_head):
            kv = j // group
            s = q[:, j, :] @ k[:, kv, :].T / np.sqrt(hd) + mask    # (n, n)
            s = s - s.max(axis=1, keepdims=True)
            p = np.exp(s)
            p = p / p.sum(axis=1, keepdims=True)
            a[:, j, :] = p @ v[:, kv, :]
        o = a.reshape(n, n_head * hd) @ W[b + "attn_output.weight"].T
        if gemma:
            o = rmsnorm(o, W[b + "post_attention_norm.weight"], eps)
        x = x + o
        h = rmsnorm(x, W[b + "ffn_norm.weight"], eps)
        if b + "ffn_gate.weight" in W:
            g = h @ W[b + "ffn_gate.weight"].T
            u = h @ W[b + "ffn_up.weight"].T
        else:                                          # phi3: gate rows first, then up rows
            gu = h @ W[b + "ffn_up.weight"].T
            g, u = gu[:, :n_ff], gu[:, n_ff:]
        act = gelu(g) if gemma else g / (1.0 + np.exp(-g))
        f = (act * u) @ W[b + "ffn_down.weight"].T
        if gemma:
            f = rmsnorm(f, W[b + "post_ffw_norm.weight"], eps)
        x = x + f

    logits = rmsnorm(x, W["output_norm.weight"], eps) @ out_w.T   # (n, vocab)
    if softcap:
        logits = softcap * np.tanh(logits / softcap)
    return logits


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    ids = [int(s) for s in sys.argv[2].split(",")]
    logits = forward(sys.argv[1], ids)
    json.dump({"logits": logits.tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
