// edge_ref.c — scalar reference kernels: dequantize, activation rounding, block dot products.
//
// These are the oracle every SIMD variant (edge_avx2.c, edge_avx512.c) is tested against. They
// follow ggml's arithmetic, verified against llama.cpp's sources:
//   dequantizers       ggml/src/ggml-quants.c        dequantize_row_*
//   Q8_0 / Q8_1 act.   ggml/src/ggml-cpu/arch/x86/quants.c  quantize_row_q8_0 / _q8_1 (AVX path)
//   Q8_K act.          ggml/src/ggml-quants.c        quantize_row_q8_K_ref (x86 uses it as is)
//   dot products       ggml/src/ggml-cpu/quants.c    ggml_vec_dot_*_generic
// Integer sums per block, then one float scale per block; float accumulation across blocks (as
// ggml). Only the order of float additions may differ from a SIMD build, never the integers.
#include "edge_quant.h"
#include <math.h>
#include <string.h>

// Keep a*b+c as two roundings, as ggml's and gguf-py's dequantizers do, so the test oracle can
// compare bit for bit whatever -ffp-contract default the compiler has.
#pragma STDC FP_CONTRACT OFF

#define F16(x) edge_f16_to_f32(x)

// ---- helpers ----

// Round half to even, as _mm256_round_ps(v, _MM_ROUND_NEAREST) and ggml's nearest_int (which adds
// 1.5 * 2^23 under the default rounding mode) do. rintf uses the current mode; the runtime never
// changes it from round-to-nearest.
static inline int round_even(float v) { return (int)rintf(v); }

static inline int8_t sat_i8(int v) { return (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v)); }

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K super-block (ggml's
// get_scale_min_k4): j < 4 in the low 6 bits of bytes j and j+4; j >= 4 split over the nibbles of
// byte j+4 and the top 2 bits of bytes j-4 and j.
static inline void k_scale_min(int j, const uint8_t *q, int *sc, int *mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
        *mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static inline uint32_t load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

// ---- dequantize ----

static void dequant_q4_0(const edge_block_q4_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK) {
        const float d = F16(x[i].d);
        for (int j = 0; j < EDGE_QK / 2; j++) {
            y[j] = (float)((x[i].qs[j] & 0x0f) - 8) * d;
            y[j + EDGE_QK / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void dequant_q4_1(const edge_block_q4_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK) {
        const float d = F16(x[i].d), m = F16(x[i].m);
        for (int j = 0; j < EDGE_QK / 2; j++) {
            y[j] = (float)(x[i].qs[j] & 0x0f) * d + m;
            y[j + EDGE_QK / 2] = (float)(x[i].qs[j] >> 4) * d + m;
        }
    }
}

// 5-bit quant of element j (0..31) of a Q5_0/Q5_1 block, 0..31.
static inline int q5_legacy(const uint8_t *qs, uint32_t qh, int j) {
    const int lo = j < 16 ? (qs[j] & 0x0f) : (qs[j - 16] >> 4);
    return lo | (int)(((qh >> j) & 1u) << 4);
}

static void dequant_q5_0(const edge_block_q5_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK) {
        const float d = F16(x[i].d);
        const uint32_t qh = load_u32(x[i].qh);
        for (int j = 0; j < EDGE_QK; j++) y[j] = (float)(q5_legacy(x[i].qs, qh, j) - 16) * d;
    }
}

static void dequant_q5_1(const edge_block_q5_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK) {
        const float d = F16(x[i].d), m = F16(x[i].m);
        const uint32_t qh = load_u32(x[i].qh);
        for (int j = 0; j < EDGE_QK; j++) y[j] = (float)q5_legacy(x[i].qs, qh, j) * d + m;
    }
}

static void dequant_q8_0(const edge_block_q8_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK) {
        const float d = F16(x[i].d);
        for (int j = 0; j < EDGE_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

static void dequant_q8_1(const edge_block_q8_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK) {
        const float d = F16(x[i].d);
        for (int j = 0; j < EDGE_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

// Q4_K element 64c + l (l < 32): low nibble of qs[32c + l], sub-block 2c;
//        element 64c + 32 + l: high nibble, sub-block 2c + 1.
// w = (d * sc) * q - (dmin * m), each product rounded to float first (as ggml).
static void dequant_q4_K(const edge_block_q4_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = F16(x[i].d), dmin = F16(x[i].dmin);
        const uint8_t *q = x[i].qs;
        for (int c = 0; c < 4; c++, q += 32, y += 64) {
            int sc, mn;
            k_scale_min(2 * c, x[i].scales, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            k_scale_min(2 * c + 1, x[i].scales, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            for (int l = 0; l < 32; l++) {
                y[l] = d1 * (float)(q[l] & 0x0f) - m1;
                y[l + 32] = d2 * (float)(q[l] >> 4) - m2;
            }
        }
    }
}

// Q5_K: as Q4_K, plus the 5th bit of element 64c + l in bit 2c of qh[l], of 64c + 32 + l in bit 2c+1.
static void dequant_q5_K(const edge_block_q5_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = F16(x[i].d), dmin = F16(x[i].dmin);
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        for (int c = 0; c < 4; c++, ql += 32, y += 64) {
            int sc, mn;
            k_scale_min(2 * c, x[i].scales, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            k_scale_min(2 * c + 1, x[i].scales, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            for (int l = 0; l < 32; l++) {
                const int lo = (ql[l] & 0x0f) | (((qh[l] >> (2 * c)) & 1) << 4);
                const int hi = (ql[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4);
                y[l] = d1 * (float)lo - m1;
                y[l + 32] = d2 * (float)hi - m2;
            }
        }
    }
}

// The signed 6-bit quant (-32..31) of element e (0..255) of a Q6_K super-block. In each half h
// (128 elements), element 32k + l (k < 4, l < 32) takes its low 4 bits from ql[64h + l + 32(k&1)]
// (low nibble for k < 2, high for k >= 2) and its high 2 bits from bits 2k..2k+1 of qh[32h + l].
static inline int q6_value(const edge_block_q6_K *b, int e) {
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t lob = b->ql[64 * h + l + 32 * (k & 1)];
    const int lo = k < 2 ? (lob & 0x0f) : (lob >> 4);
    const int hi = (b->qh[32 * h + l] >> (2 * k)) & 3;
    return (lo | (hi << 4)) - 32;
}

// w = (d * scales[e / 16]) * q
static void dequant_q6_K(const edge_block_q6_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK_K) {
        const float d = F16(x[i].d);
        for (int e = 0; e < EDGE_QK_K; e++) {
            y[e] = (d * (float)x[i].scales[e / 16]) * (float)q6_value(&x[i], e);
        }
    }
}

// The 2-bit quant (0..3) of element e of a Q2_K / Q3_K super-block (see edge_quant.h) and its
// sub-block of 16.
static inline int k2_quant(const uint8_t *qs, int e) {
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    return (qs[32 * h + l] >> (2 * k)) & 3;
}
// Q3_K: the signed 3-bit quant (-4..3) of element e: the 2 low bits less 4 when its hmask bit is 0.
static inline int q3_value(const edge_block_q3_K *b, int e) {
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    return k2_quant(b->qs, e) - (((b->hmask[l] >> (4 * h + k)) & 1) ? 0 : 4);
}
// Q3_K: the 6-bit scale of sub-block j (0..15), less 32.
static inline int q3_scale(const uint8_t *sc, int j) {
    const int lo = j < 8 ? (sc[j] & 0x0f) : (sc[j - 8] >> 4);
    const int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}
// IQ4_XS: the 6-bit scale of sub-block j (0..7), less 32.
static inline int iq4xs_scale(const edge_block_iq4_xs *b, int j) {
    return (((b->scales_l[j / 2] >> (4 * (j % 2))) & 0x0f) | (((b->scales_h >> (2 * j)) & 3) << 4)) - 32;
}

// w = (d * (sc & 15)) * q - (dmin * (sc >> 4))
static void dequant_q2_K(const edge_block_q2_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK_K) {
        const float d = F16(x[i].d), dmin = F16(x[i].dmin);
        for (int e = 0; e < EDGE_QK_K; e++) {
            const int j = e / 16;  // sub-block 8h + 2k + l/16 of element 128h + 32k + l
            const float dl = d * (float)(x[i].scales[j] & 0x0f), ml = dmin * (float)(x[i].scales[j] >> 4);
            y[e] = dl * (float)k2_quant(x[i].qs, e) - ml;
        }
    }
}

// w = (d * (s - 32)) * q
static void dequant_q3_K(const edge_block_q3_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK_K) {
        const float d = F16(x[i].d);
        for (int e = 0; e < EDGE_QK_K; e++) {
            const int j = e / 16;  // sub-block 8h + 2k + l/16 of element 128h + 32k + l
            y[e] = (d * (float)q3_scale(x[i].scales, j)) * (float)q3_value(&x[i], e);
        }
    }
}

static void dequant_iq4_nl(const edge_block_iq4_nl *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK) {
        const float d = F16(x[i].d);
        for (int j = 0; j < EDGE_QK / 2; j++) {
            y[j] = d * (float)edge_iq4_values[x[i].qs[j] & 0x0f];
            y[j + EDGE_QK / 2] = d * (float)edge_iq4_values[x[i].qs[j] >> 4];
        }
    }
}

static void dequant_iq4_xs(const edge_block_iq4_xs *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = F16(x[i].d);
        for (int j = 0; j < 8; j++, y += 32) {
            const float dl = d * (float)iq4xs_scale(&x[i], j);
            const uint8_t *q = x[i].qs + 16 * j;
            for (int l = 0; l < 16; l++) {
                y[l] = dl * (float)edge_iq4_values[q[l] & 0x0f];
                y[l + 16] = dl * (float)edge_iq4_values[q[l] >> 4];
            }
        }
    }
}

static void dequant_q8_K(const edge_block_q8_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += EDGE_QK_K) {
        for (int j = 0; j < EDGE_QK_K; j++) y[j] = x[i].d * (float)x[i].qs[j];
    }
}

// Also accepts the activation types Q8_1 and Q8_K (used by the tests to read activations back).
int edge_dequantize_row_ref(int type, const void *src, float *dst, int64_t n) {
    const int64_t be = edge_type_block_elems(type);
    if (be == 0 || n < 0 || n % be != 0) return -1;
    const int64_t nb = n / be;
    switch (type) {
    case EDGE_TYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return 0;
    case EDGE_TYPE_F16: {
        const edge_f16 *h = src;
        for (int64_t i = 0; i < n; i++) dst[i] = edge_f16_to_f32(h[i]);
        return 0;
    }
    case EDGE_TYPE_BF16: {
        const edge_bf16 *h = src;
        for (int64_t i = 0; i < n; i++) dst[i] = edge_bf16_to_f32(h[i]);
        return 0;
    }
    case EDGE_TYPE_Q4_0: dequant_q4_0(src, dst, nb); return 0;
    case EDGE_TYPE_Q4_1: dequant_q4_1(src, dst, nb); return 0;
    case EDGE_TYPE_Q5_0: dequant_q5_0(src, dst, nb); return 0;
    case EDGE_TYPE_Q5_1: dequant_q5_1(src, dst, nb); return 0;
    case EDGE_TYPE_Q8_0: dequant_q8_0(src, dst, nb); return 0;
    case EDGE_TYPE_Q8_1: dequant_q8_1(src, dst, nb); return 0;
    case EDGE_TYPE_Q4_K: dequant_q4_K(src, dst, nb); return 0;
    case EDGE_TYPE_Q5_K: dequant_q5_K(src, dst, nb); return 0;
    case EDGE_TYPE_Q6_K: dequant_q6_K(src, dst, nb); return 0;
    case EDGE_TYPE_Q8_K: dequant_q8_K(src, dst, nb); return 0;
    case EDGE_TYPE_Q2_K: dequant_q2_K(src, dst, nb); return 0;
    case EDGE_TYPE_Q3_K: dequant_q3_K(src, dst, nb); return 0;
    case EDGE_TYPE_IQ4_NL: dequant_iq4_nl(src, dst, nb); return 0;
    case EDGE_TYPE_IQ4_XS: dequant_iq4_xs(src, dst, nb); return 0;
    default: return -1;
    }
}

// ---- activation rounding ----

// max |x| over a block; NaN-free input assumed (as ggml's _mm256_max_ps reduction).
static inline float block_amax(const float *x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) {
        const float a = fabsf(x[j]);
        amax = a > amax ? a : amax;
    }
    return amax;
}

// Q8_0 (x86 AVX path): d = amax / 127 stored as f16; the multiplier is 127 / amax (not 1 / d, and
// not the f16 d); q = round-half-even(x * id), saturated to int8 as _mm256_packs_epi* do.
static void quant_q8_0(const float *x, edge_block_q8_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += EDGE_QK) {
        const float amax = block_amax(x, EDGE_QK);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = edge_f32_to_f16(d);
        for (int j = 0; j < EDGE_QK; j++) y[i].qs[j] = sat_i8(round_even(x[j] * id));
    }
}

// Q8_1: as Q8_0, plus s = f16(d * sum(q)) with the float d (before its f16 rounding) and the
// integer sum taken before saturation (they agree: |x * id| <= 127 always rounds inside int8).
static void quant_q8_1(const float *x, edge_block_q8_1 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += EDGE_QK) {
        const float amax = block_amax(x, EDGE_QK);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = edge_f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < EDGE_QK; j++) {
            const int q = round_even(x[j] * id);
            sum += q;
            y[i].qs[j] = sat_i8(q);
        }
        y[i].s = edge_f32_to_f16(d * (float)sum);
    }
}

// Q8_K (quantize_row_q8_K_ref, which x86 uses unchanged): the signed value of largest magnitude
// `max` (first one on ties), iscale = -127 / max, q = min(127, nearest_int(iscale * x)),
// d = 1 / iscale kept as float, bsums over each 16.
static void quant_q8_K(const float *x, edge_block_q8_K *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += EDGE_QK_K) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < EDGE_QK_K; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < EDGE_QK_K; j++) {
            const int v = round_even(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < EDGE_QK_K / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

int edge_quantize_act_ref(int act_type, const float *x, void *y, int64_t n) {
    const int64_t be = edge_type_block_elems(act_type);
    if (be == 0 || n < 0 || n % be != 0) return -1;
    switch (act_type) {
    case EDGE_TYPE_F32: memcpy(y, x, (size_t)n * sizeof(float)); return 0;
    case EDGE_TYPE_F16: {
        edge_f16 *h = y;
        for (int64_t i = 0; i < n; i++) h[i] = edge_f32_to_f16(x[i]);
        return 0;
    }
    case EDGE_TYPE_BF16: {
        edge_bf16 *h = y;
        for (int64_t i = 0; i < n; i++) h[i] = edge_f32_to_bf16(x[i]);
        return 0;
    }
    case EDGE_TYPE_Q8_0: quant_q8_0(x, y, n / be); return 0;
    case EDGE_TYPE_Q8_1: quant_q8_1(x, y, n / be); return 0;
    case EDGE_TYPE_Q8_K: quant_q8_K(x, y, n / be); return 0;
    default: return -1;
    }
}

// ---- dot products ----

static float dot_q4_0(const edge_block_q4_0 *x, const edge_block_q8_0 *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < EDGE_QK / 2; j++) {
            sumi += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + EDGE_QK / 2];
        }
        sumf += (F16(x[i].d) * F16(y[i].d)) * (float)sumi;
    }
    return sumf;
}

// sum_j (d q_j + m) (dy qy_j) = d dy sum(q qy) + m * (dy sum(qy)) = ... + m * s
static float dot_q4_1(const edge_block_q4_1 *x, const edge_block_q8_1 *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < EDGE_QK / 2; j++) {
            sumi += (x[i].qs[j] & 0x0f) * y[i].qs[j];
            sumi += (x[i].qs[j] >> 4) * y[i].qs[j + EDGE_QK / 2];
        }
        sumf += (F16(x[i].d) * F16(y[i].d)) * (float)sumi + F16(x[i].m) * F16(y[i].s);
    }
    return sumf;
}

static float dot_q5_0(const edge_block_q5_0 *x, const edge_block_q8_0 *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const uint32_t qh = load_u32(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < EDGE_QK; j++) sumi += (q5_legacy(x[i].qs, qh, j) - 16) * y[i].qs[j];
        sumf += (F16(x[i].d) * F16(y[i].d)) * (float)sumi;
    }
    return sumf;
}

static float dot_q5_1(const edge_block_q5_1 *x, const edge_block_q8_1 *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const uint32_t qh = load_u32(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < EDGE_QK; j++) sumi += q5_legacy(x[i].qs, qh, j) * y[i].qs[j];
        sumf += (F16(x[i].d) * F16(y[i].d)) * (float)sumi + F16(x[i].m) * F16(y[i].s);
    }
    return sumf;
}

static float dot_q8_0(const edge_block_q8_0 *x, const edge_block_q8_0 *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < EDGE_QK; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sumf += (F16(x[i].d) * F16(y[i].d)) * (float)sumi;
    }
    return sumf;
}

// Per super-block: d * dy * sum_j sc_j sum(q qy) - dmin * dy * sum_j m_j sum(qy), the second sum
// read from the activation's bsums (two per 32-element sub-block). Integer bound:
// 8 * 63 * 32 * 31 * 127 < 2^26, so int never overflows.
static float dot_q4_K(const edge_block_q4_K *x, const edge_block_q8_K *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const int8_t *q8 = y[i].qs;
        int sumi = 0, summ = 0;
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = x[i].qs + 32 * c;
            int s_lo = 0, s_hi = 0;
            for (int l = 0; l < 32; l++) {
                s_lo += (q[l] & 0x0f) * q8[64 * c + l];
                s_hi += (q[l] >> 4) * q8[64 * c + 32 + l];
            }
            int sc, mn;
            k_scale_min(2 * c, x[i].scales, &sc, &mn);
            sumi += sc * s_lo;
            summ += mn * (y[i].bsums[4 * c] + y[i].bsums[4 * c + 1]);
            k_scale_min(2 * c + 1, x[i].scales, &sc, &mn);
            sumi += sc * s_hi;
            summ += mn * (y[i].bsums[4 * c + 2] + y[i].bsums[4 * c + 3]);
        }
        sumf += (F16(x[i].d) * y[i].d) * (float)sumi - (F16(x[i].dmin) * y[i].d) * (float)summ;
    }
    return sumf;
}

static float dot_q5_K(const edge_block_q5_K *x, const edge_block_q8_K *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const int8_t *q8 = y[i].qs;
        const uint8_t *qh = x[i].qh;
        int sumi = 0, summ = 0;
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = x[i].qs + 32 * c;
            int s_lo = 0, s_hi = 0;
            for (int l = 0; l < 32; l++) {
                const int lo = (q[l] & 0x0f) | (((qh[l] >> (2 * c)) & 1) << 4);
                const int hi = (q[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4);
                s_lo += lo * q8[64 * c + l];
                s_hi += hi * q8[64 * c + 32 + l];
            }
            int sc, mn;
            k_scale_min(2 * c, x[i].scales, &sc, &mn);
            sumi += sc * s_lo;
            summ += mn * (y[i].bsums[4 * c] + y[i].bsums[4 * c + 1]);
            k_scale_min(2 * c + 1, x[i].scales, &sc, &mn);
            sumi += sc * s_hi;
            summ += mn * (y[i].bsums[4 * c + 2] + y[i].bsums[4 * c + 3]);
        }
        sumf += (F16(x[i].d) * y[i].d) * (float)sumi - (F16(x[i].dmin) * y[i].d) * (float)summ;
    }
    return sumf;
}

// Per super-block: d * dy * sum_j scales[j] * sum_{16} (q - 32) qy. Integer bound:
// 16 * 128 * 16 * 32 * 128 = 2^27.
static float dot_q6_K(const edge_block_q6_K *x, const edge_block_q8_K *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < EDGE_QK_K / 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += q6_value(&x[i], 16 * j + l) * y[i].qs[16 * j + l];
            sumi += x[i].scales[j] * s;
        }
        sumf += (F16(x[i].d) * y[i].d) * (float)sumi;
    }
    return sumf;
}

// Per super-block: d dy sum_j (sc_j & 15) sum_16 q qy - dmin dy sum_j (sc_j >> 4) bsums[j].
// Integer bound: 16 * 15 * 16 * 3 * 127 < 2^21.
static float dot_q2_K(const edge_block_q2_K *x, const edge_block_q8_K *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++) {
                const int e = 16 * j + l;
                s += k2_quant(x[i].qs, e) * y[i].qs[e];
            }
            sumi += (x[i].scales[j] & 0x0f) * s;
            summ += (x[i].scales[j] >> 4) * y[i].bsums[j];
        }
        sumf += (F16(x[i].d) * y[i].d) * (float)sumi - (F16(x[i].dmin) * y[i].d) * (float)summ;
    }
    return sumf;
}

// Per super-block: d dy sum_j (s_j - 32) sum_16 q qy. Integer bound: 16 * 32 * 16 * 4 * 127 < 2^22.
static float dot_q3_K(const edge_block_q3_K *x, const edge_block_q8_K *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++) {
                const int e = 16 * j + l;
                s += q3_value(&x[i], e) * y[i].qs[e];
            }
            sumi += q3_scale(x[i].scales, j) * s;
        }
        sumf += (F16(x[i].d) * y[i].d) * (float)sumi;
    }
    return sumf;
}

static float dot_iq4_nl(const edge_block_iq4_nl *x, const edge_block_q8_0 *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < EDGE_QK / 2; j++) {
            sumi += edge_iq4_values[x[i].qs[j] & 0x0f] * y[i].qs[j];
            sumi += edge_iq4_values[x[i].qs[j] >> 4] * y[i].qs[j + EDGE_QK / 2];
        }
        sumf += (F16(x[i].d) * F16(y[i].d)) * (float)sumi;
    }
    return sumf;
}

// Per super-block: d dy sum_j (ls_j - 32) sum_32 kvalues[q] qy. Integer bound: 8 * 32 * 32 * 127 * 127 < 2^28.
static float dot_iq4_xs(const edge_block_iq4_xs *x, const edge_block_q8_K *y, int64_t nb) {
    float sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < 8; j++) {
            const uint8_t *q = x[i].qs + 16 * j;
            const int8_t *a = y[i].qs + 32 * j;
            int s = 0;
            for (int l = 0; l < 16; l++) {
                s += edge_iq4_values[q[l] & 0x0f] * a[l];
                s += edge_iq4_values[q[l] >> 4] * a[l + 16];
            }
            sumi += iq4xs_scale(&x[i], j) * s;
        }
        sumf += (F16(x[i].d) * y[i].d) * (float)sumi;
    }
    return sumf;
}

float edge_vec_dot_ref(int weight_type, int64_t n, const void *w, const void *a) {
    const int64_t be = edge_type_block_elems(weight_type);
    if (be == 0 || n <= 0) return 0.0f;
    const int64_t nb = n / be;
    switch (weight_type) {
    case EDGE_TYPE_F32: {
        // float products, double sum (ggml_vec_dot_f32's scalar form)
        const float *x = w, *y = a;
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) s += (double)(x[i] * y[i]);
        return (float)s;
    }
    case EDGE_TYPE_F16: {
        // f16 * f16 is exact in float (11 + 11 significant bits); double sum
        const edge_f16 *x = w, *y = a;
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) s += (double)(edge_f16_to_f32(x[i]) * edge_f16_to_f32(y[i]));
        return (float)s;
    }
    case EDGE_TYPE_BF16: {
        const edge_bf16 *x = w, *y = a;
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) s += (double)(edge_bf16_to_f32(x[i]) * edge_bf16_to_f32(y[i]));
        return (float)s;
    }
    case EDGE_TYPE_Q4_0: return dot_q4_0(w, a, nb);
    case EDGE_TYPE_Q4_1: return dot_q4_1(w, a, nb);
    case EDGE_TYPE_Q5_0: return dot_q5_0(w, a, nb);
    case EDGE_TYPE_Q5_1: return dot_q5_1(w, a, nb);
    case EDGE_TYPE_Q8_0: return dot_q8_0(w, a, nb);
    case EDGE_TYPE_Q4_K: return dot_q4_K(w, a, nb);
    case EDGE_TYPE_Q5_K: return dot_q5_K(w, a, nb);
    case EDGE_TYPE_Q6_K: return dot_q6_K(w, a, nb);
    case EDGE_TYPE_Q2_K: return dot_q2_K(w, a, nb);
    case EDGE_TYPE_Q3_K: return dot_q3_K(w, a, nb);
    case EDGE_TYPE_IQ4_NL: return dot_iq4_nl(w, a, nb);
    case EDGE_TYPE_IQ4_XS: return dot_iq4_xs(w, a, nb);
    default: return 0.0f;
    }
}

// ---- one weight block as integers (for the neuron-major copy of edge_sparse.h) ----

int edge_block_integers(int type, const void *block, int8_t *q, int16_t *sc, int16_t *mn, float *d, float *dmin) {
    switch (type) {
    case EDGE_TYPE_Q8_0: {
        const edge_block_q8_0 *x = block;
        for (int j = 0; j < EDGE_QK; j++) q[j] = x->qs[j];
        *d = F16(x->d);
        return 0;
    }
    case EDGE_TYPE_Q4_0: {
        const edge_block_q4_0 *x = block;
        for (int j = 0; j < EDGE_QK / 2; j++) {
            q[j] = (int8_t)((x->qs[j] & 0x0f) - 8);
            q[j + EDGE_QK / 2] = (int8_t)((x->qs[j] >> 4) - 8);
        }
        *d = F16(x->d);
        return 0;
    }
    case EDGE_TYPE_Q5_0: {
        const edge_block_q5_0 *x = block;
        const uint32_t qh = load_u32(x->qh);
        for (int j = 0; j < EDGE_QK; j++) q[j] = (int8_t)(q5_legacy(x->qs, qh, j) - 16);
        *d = F16(x->d);
        return 0;
    }
    case EDGE_TYPE_Q4_K:
    case EDGE_TYPE_Q5_K: {
        const int five = type == EDGE_TYPE_Q5_K;
        const edge_block_q4_K *x4 = block;
        const edge_block_q5_K *x5 = block;
        const uint8_t *qs = five ? x5->qs : x4->qs, *scales = five ? x5->scales : x4->scales;
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int lo = qs[32 * c + l] & 0x0f, hi = qs[32 * c + l] >> 4;
                if (five) {
                    lo |= ((x5->qh[l] >> (2 * c)) & 1) << 4;
                    hi |= ((x5->qh[l] >> (2 * c + 1)) & 1) << 4;
                }
                q[64 * c + l] = (int8_t)lo;
                q[64 * c + 32 + l] = (int8_t)hi;
            }
        }
        for (int j = 0; j < 8; j++) {
            int s, m;
            k_scale_min(j, scales, &s, &m);
            sc[j] = (int16_t)s;
            mn[j] = (int16_t)m;
        }
        *d = F16(five ? x5->d : x4->d);
        *dmin = F16(five ? x5->dmin : x4->dmin);
        return 0;
    }
    case EDGE_TYPE_Q6_K: {
        const edge_block_q6_K *x = block;
        for (int e = 0; e < EDGE_QK_K; e++) q[e] = (int8_t)q6_value(x, e);
        for (int j = 0; j < EDGE_QK_K / 16; j++) sc[j] = x->scales[j];
        *d = F16(x->d);
        return 0;
    }
    default:
        return -1;
    }
}
