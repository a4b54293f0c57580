#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Y (ntok, rows) = X (ntok, cols) · Wᵀ for one weight type (compiled once per type with -DTYPE_x).
// A workgroup of 64 takes 4 rows and up to 8 tokens; 16 invocations share a row, each taking every
// 16th run of 32 values: it dequantizes the run as the reference dequantizer does (edge_ref.c) into
// 32 floats and multiplies them with each token's 32 inputs in float; partial sums meet in shared
// memory. W is read as 32-bit words (blocks are not 4-byte aligned: two loads and a funnel shift).
//
// Bindings: 0 W (bytes), 1 X (floats), 2 Y (floats).
// Push: 0 byte offset of row 0, 1 bytes per row, 2 cols, 3 rows, 4 ntok, 5 X offset (floats),
//       6 X stride (floats per token), 7 Y offset, 8 Y stride, 9 workgroups per grid line (x of the grid).
#include "common.glsl"
#define LANES 16u
#define ROWS 4u
#define NT 8u
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer Wb { uint w[]; };
layout(std430, binding = 1) readonly buffer Xb { float x[]; };
layout(std430, binding = 2) buffer Yb { float y[]; };

shared float red[NT][64];
float acc[NT];
float v[32];
uint t0, nt;

// The 32-bit little-endian word at byte i (any alignment).
uint word(uint i) {
    const uint s = (i & 3u) * 8u, lo = w[i >> 2];
    return s == 0u ? lo : (lo >> s) | (w[(i >> 2) + 1u] << (32u - s));
}
uint u8(uint i) { return (w[i >> 2] >> ((i & 3u) * 8u)) & 0xffu; }
float f16(uint i) { return unpackHalf2x16(word(i) & 0xffffu).x; }
// Byte k (0..3) of word wv, as unsigned or signed.
uint ub(uint wv, uint k) { return bitfieldExtract(wv, int(8u * k), 8); }
int sb(uint wv, uint k) { return bitfieldExtract(int(wv), int(8u * k), 8); }

// K-quant scales: sub-block j's 6-bit scale and min from the 12 packed bytes at s (get_scale_min_k4).
void scaleMin(uint s, uint j, out float sc, out float mn) {
    if (j < 4u) {
        sc = float(u8(s + j) & 63u);
        mn = float(u8(s + j + 4u) & 63u);
    } else {
        sc = float((u8(s + j + 4u) & 0xFu) | ((u8(s + j - 4u) >> 6) << 4));
        mn = float((u8(s + j + 4u) >> 4) | ((u8(s + j) >> 6) << 4));
    }
}

// v[0..31] = values 32·u ... 32·u + 31 of the row starting at byte `base`.
void run32(uint base, uint u) {
#if defined(TYPE_Q8_0)
    const uint q = base + u * 34u;
    const float d = f16(q);
    [[unroll]] for (uint k = 0; k < 8u; k++) {
        const uint wv = word(q + 2u + 4u * k);
        [[unroll]] for (uint i = 0; i < 4u; i++) v[4u * k + i] = d * float(sb(wv, i));
    }
#elif defined(TYPE_Q4_0) || defined(TYPE_Q4_1)
#if defined(TYPE_Q4_0)
    const uint q = base + u * 18u, qs = q + 2u;
    const float d = f16(q), m = -8.0 * d;
#else
    const uint q = base + u * 20u, qs = q + 4u;
    const float d = f16(q), m = f16(q + 2u);
#endif
    [[unroll]] for (uint k = 0; k < 4u; k++) {
        const uint wv = word(qs + 4u * k);
        [[unroll]] for (uint i = 0; i < 4u; i++) {
            const uint b = ub(wv, i);
#if defined(TYPE_Q4_0)
            v[4u * k + i] = d * (float(b & 15u) - 8.0);
            v[16u + 4u * k + i] = d * (float(b >> 4) - 8.0);
#else
            v[4u * k + i] = float(b & 15u) * d + m;
            v[16u + 4u * k + i] = float(b >> 4) * d + m;
#endif
        }
    }
#elif defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
#if defined(TYPE_Q5_0)
    const uint q = base + u * 22u, qs = q + 6u;
    const float d = f16(q);
    const uint qh = word(q + 2u);
#else
    const uint q = base + u * 24u, qs = q + 8u;
    const float d = f16(q), m = f16(q + 2u);
    const uint qh = word(q + 4u);
#endif
    [[unroll]] for (uint k = 0; k < 4u; k++) {
        const uint wv = word(qs + 4u * k);
        [[unroll]] for (uint i = 0; i < 4u; i++) {
            const uint j = 4u * k + i, b = ub(wv, i);
            const uint h0 = ((qh >> j) << 4) & 0x10u, h1 = (qh >> (j + 12u)) & 0x10u;
#if defined(TYPE_Q5_0)
            v[j] = d * float(int((b & 15u) | h0) - 16);
            v[16u + j] = d * float(int((b >> 4) | h1) - 16);
#else
            v[j] = float((b & 15u) | h0) * d + m;
            v[16u + j] = float((b >> 4) | h1) * d + m;
#endif
        }
    }
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
    // Run s of 8 in a 256-value block: scale/min s; nibbles of bytes 32·(s/2)...: low for even s.
#if defined(TYPE_Q4_K)
    const uint q = base + (u / 8u) * 144u, qs = q + 16u;
#else
    const uint q = base + (u / 8u) * 176u, qs = q + 48u, qh = q + 16u;
#endif
    const uint s = u % 8u;
    float sc, mn;
    scaleMin(q + 4u, s, sc, mn);
    const float d = f16(q) * sc, m = f16(q + 2u) * mn;
    const uint shift = (s & 1u) * 4u;
    [[unroll]] for (uint k = 0; k < 8u; k++) {
        const uint wv = word(qs + 32u * (s / 2u) + 4u * k);
#if defined(TYPE_Q5_K)
        const uint hv = word(qh + 4u * k);
#endif
        [[unroll]] for (uint i = 0; i < 4u; i++) {
            uint b = (ub(wv, i) >> shift) & 15u;
#if defined(TYPE_Q5_K)
            b += ((ub(hv, i) >> s) & 1u) != 0u ? 16u : 0u;
#endif
            v[4u * k + i] = d * float(b) - m;
        }
    }
#elif defined(TYPE_Q6_K)
    // Run s of 8 in a 256-value block: half n = s/4, part p = s%4 of it (values 32p...32p+31 of
    // the half): low nibbles of ql[l] (p 0), ql[l+32] (p 1), high nibbles of them (p 2, 3); high
    // bits (qh[l] >> 2p) & 3; scale sc[8n + l/16 + 2p].
    const uint q = base + (u / 8u) * 210u, s = u % 8u, n = s / 4u, p = s % 4u;
    const float d = f16(q + 208u);
    const uint ql = q + 64u * n + (p & 1u) * 32u, qh = q + 128u + 32u * n, sc = q + 192u + 8u * n;
    const float d0 = d * float(sb(word(sc + 2u * p), 0u)), d1 = d * float(sb(word(sc + 1u + 2u * p), 0u));
    const uint shift = (p >> 1) * 4u;
    [[unroll]] for (uint k = 0; k < 8u; k++) {
        const uint lv = word(ql + 4u * k), hv = word(qh + 4u * k);
        [[unroll]] for (uint i = 0; i < 4u; i++) {
            const uint l = 4u * k + i;
            const uint b = ((ub(lv, i) >> shift) & 15u) | (((ub(hv, i) >> (2u * p)) & 3u) << 4);
            v[l] = (l < 16u ? d0 : d1) * float(int(b) - 32);
        }
    }
#endif
}

void main() {
    const uint lane = gl_LocalInvocationID.x % LANES, sub = gl_LocalInvocationID.x / LANES;
    const uint row = (gl_WorkGroupID.x + gl_WorkGroupID.y * pc.u[9]) * ROWS + sub;
    t0 = gl_WorkGroupID.z * NT;
    const bool live = row < pc.u[3];
    nt = min(NT, pc.u[4] - t0);
    [[unroll]] for (uint k = 0; k < NT; k++) acc[k] = 0.0;
    const uint base = pc.u[0] + row * pc.u[1];
    const uint cols = pc.u[2];
    if (live) {
#if defined(TYPE_F32) || defined(TYPE_F16)
        for (uint c = lane; c < cols; c += LANES) {
#if defined(TYPE_F32)
            const float wv = uintBitsToFloat(w[(base >> 2) + c]);
#else
            const float wv = f16(base + 2u * c);
#endif
            [[unroll]] for (uint k = 0; k < NT; k++) if (k < nt) acc[k] += wv * x[pc.u[5] + (t0 + k) * pc.u[6] + c];
        }
#else
        for (uint u = lane; u < cols / 32u; u += LANES) {
            run32(base, u);
            [[unroll]] for (uint k = 0; k < NT; k++) {
                if (k < nt) {
                    const uint xi = pc.u[5] + (t0 + k) * pc.u[6] + 32u * u;
                    float s = 0.0;
                    [[unroll]] for (uint i = 0; i < 32u; i++) s += v[i] * x[xi + i];
                    acc[k] += s;
                }
            }
        }
#endif
    }
    const uint tid = gl_LocalInvocationID.x;
    [[unroll]] for (uint k = 0; k < NT; k++) red[k][tid] = acc[k];
    barrier();
    [[unroll]] for (uint s = LANES / 2u; s > 0u; s >>= 1) {
        if (lane < s) [[unroll]] for (uint k = 0; k < NT; k++) red[k][tid] += red[k][tid + s];
        barrier();
    }
    if (lane < nt && live) y[pc.u[7] + (t0 + lane) * pc.u[8] + row] = red[lane][sub * LANES];
}
