#version 450
#extension GL_GOOGLE_include_directive : require
// Causal grouped-query attention of one (head, token) over the F16 cache, as edge_op_attention:
// q rounded to F16 (not in the F32 form), scores q·k · scale (soft-capped: cap · tanh(s), the scale already divided by the
// cap), positions [first, pos] (a window keeps the last `window`), softmax, weighted sum of V with
// the CPU's arithmetic (online maximum, F16 accumulator, or F32 in the F32 form). The positions go in chunks of 64: the
// chunk's scores in shared memory, one per invocation; then each invocation runs the chunk in order
// for the output dimensions tid, tid + 64, ... (head dim <= 512).
// Bindings: 0 activations, 1 K cache, 2 V cache, 3 positions.
// Push: 0 q offset, 1 out offset, 2 position offset, 3 heads, 4 kv heads, 5 head dim, 6 scale,
//       7 capacity, 8 window (0: none), 9 soft-cap (0: none), 10 ntok, 11 F32 form (a prompt of
//       EDGE_ATTN_F32_MIN_ROWS rows or more: Q and the accumulator unrounded, as on the CPU).
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Ab { float a[]; };
layout(std430, binding = 1) readonly buffer Kb { uint kc[]; };
layout(std430, binding = 2) readonly buffer Vb { uint vc[]; };
layout(std430, binding = 3) readonly buffer Pb { int pos[]; };
shared float q16[512];
shared float sc[64];
float kAt(uint e) { const uint wv = kc[e >> 1]; return unpackHalf2x16(wv)[e & 1u]; }
float f16r(float x) { return pc.u[11] != 0u ? x : unpackHalf2x16(packHalf2x16(vec2(x, 0.0))).x; }
float vAt(uint e) { const uint wv = vc[e >> 1]; return unpackHalf2x16(wv)[e & 1u]; }
void main() {
    const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
    const uint hd = pc.u[5], nkv = pc.u[4], group = pc.u[3] / nkv, kvh = h / group;
    const uint cap = pc.u[7];
    const uint qb = pc.u[0] + (t * pc.u[3] + h) * hd;
    for (uint i = tid; i < hd; i += 64u) q16[i] = f16r(a[qb + i]);
    barrier();
    const int last = pos[pc.u[2] + t];
    const int window = int(pc.u[8]);
    const int first = window > 0 && last >= window ? last - window + 1 : 0;
    const float scale = PF(6), cap_ = PF(9);
    float acc[8];
    for (uint r = 0; r < 8u; r++) acc[r] = 0.0;
    float M = -1.0 / 0.0, S = 0.0;
    const uint stride = nkv * hd;
    for (int c0 = first; c0 <= last; c0 += 64) {
        const int j = c0 + int(tid);
        float s = -1.0 / 0.0;
        if (j <= last) {
            const uint kb = (uint(j) % cap) * stride + kvh * hd;
            float d = 0.0;
            for (uint i = 0; i < hd; i++) d += kAt(kb + i) * q16[i];
            s = d * scale;
            if (cap_ != 0.0) s = cap_ * tanh(s);
        }
        sc[tid] = s;
        barrier();
        // The chunk's positions in order, as the CPU does them: a running maximum M and sum S,
        // and the output accumulated in F16 (each update rounded; F32 in the F32 form), as
        // llama.cpp's CPU backend.
        const int n = min(64, last - c0 + 1);
        for (int k = 0; k < n; k++) {
            const float sk = sc[k];
            float ms = 1.0, vs = 1.0;
            if (sk > M) {
                ms = exp(M - sk);
                M = sk;
                for (uint r = 0; r < 8u; r++) acc[r] = f16r(acc[r] * ms);
            } else {
                vs = exp(sk - M);
            }
            const uint vb = (uint(c0 + k) % cap) * stride + kvh * hd;
            for (uint r = 0; r < 8u; r++) {
                const uint i = tid + 64u * r;
                if (i < hd) acc[r] = f16r(fma(vAt(vb + i), vs, acc[r]));
            }
            S = fma(S, ms, vs);
        }
        barrier();
    }
    const float inv = S == 0.0 ? 0.0 : 1.0 / S;
    const uint ob = pc.u[1] + (t * pc.u[3] + h) * hd;
    for (uint r = 0; r < 8u; r++) {
        const uint i = tid + 64u * r;
        if (i < hd) a[ob + i] = acc[r] * inv;
    }
}
