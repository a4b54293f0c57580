// edge_x86_kernels.h — the x86 SIMD kernels, written once and compiled twice: edge_avx2.c includes
// this file with EDGE_X86_TARGET = "avx2,fma,f16c", edge_avx512.c with the AVX-512 F/BW/VL/VNNI
// target and EDGE_X86_AVX512 = 1. Every function here is static and carries the including file's
// target attribute, so each translation unit gets its own copy and no global -m flag is needed.
//
// Private to CEdgeKernels (not under include/). Not a normal header: include it exactly once per
// ISA file, after defining the two macros.
//
// Arithmetic contract (see edge_ref.c, the oracle):
// - activation quantizers give bit-identical blocks to edge_quantize_act_ref;
// - dot products compute each block's integer sum exactly, then scale in float; only the order
//   of float additions (8 lanes, 2 accumulators) differs from the reference.
//
// Integer range notes. VPMADDUBSW multiplies u8 by s8 and adds pairs into a *saturating* int16, so
// every use below keeps |u| * 127 * 2 < 2^15: u is at most 128 (|w| of a Q8_0 weight), 63 (Q6_K),
// 31 (Q5), 15 (Q4). Activation bytes are in -127..127: the quantizers never emit -128 (|x * id| <=
// 127), and the sign trick (|w| times sign(w) * a) relies on that.
#include "edge_simd.h"

#include <immintrin.h>
#include <string.h>

#ifndef EDGE_X86_TARGET
#error "define EDGE_X86_TARGET before including edge_x86_kernels.h"
#endif
#ifndef EDGE_X86_AVX512
#define EDGE_X86_AVX512 0
#endif

#define EDGE_K static inline __attribute__((target(EDGE_X86_TARGET)))

// ---- scalar and horizontal helpers ----

EDGE_K float k_h2f(edge_f16 h) { return _cvtsh_ss(h); }
EDGE_K edge_f16 k_f2h(float f) { return (edge_f16)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }

EDGE_K float k_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

EDGE_K float k_hmax_ps(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

EDGE_K int32_t k_hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

// ---- integer dot building blocks ----

// acc (8 x int32) += sum over each group of 4 bytes of u[k] * s[k]  (u unsigned, s signed). Exact.
EDGE_K __m256i k_dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if EDGE_X86_AVX512
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    const __m256i p16 = _mm256_maddubs_epi16(u, s);
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
#endif
}

// acc += groups-of-4 sums of x[k] * y[k], both signed: |x| times y carrying x's sign.
EDGE_K __m256i k_dot_s8s8(__m256i acc, __m256i x, __m256i y) {
    return k_dot_u8s8(acc, _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// acc += (pairs of u*s summed to int16) times sc16 (one int16 scale per int16 lane), pairs of
// those summed to int32. Used by the K-quants, whose sub-block scales ride in sc16.
EDGE_K __m256i k_dot_u8s8_scaled(__m256i acc, __m256i u, __m256i s, __m256i sc16) {
    const __m256i p16 = _mm256_maddubs_epi16(u, s);
#if EDGE_X86_AVX512
    return _mm256_dpwssd_epi32(acc, p16, sc16);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p16, sc16));
#endif
}

// 16 bytes of packed nibbles -> 32 bytes 0..15: low nibbles first (elements 0..15), then high.
EDGE_K __m256i k_nibbles32(const uint8_t *p) {
    const __m128i t = _mm_loadu_si128((const __m128i *)p);
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// The 32 bits at p (little-endian) -> 32 bytes, byte j = 0xff where bit j is set, else 0.
EDGE_K __m256i k_bits32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if EDGE_X86_AVX512
    return _mm256_movm_epi8((__mmask32)v);
#else
    // byte j takes source byte j / 8, then keeps only bit j % 8
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)v),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                         2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
#endif
}

// ---- activation quantizers (bit-identical to edge_quantize_act_ref) ----

// 32 floats times id, rounded half-to-even, as int32 in four vectors.
EDGE_K void k_round32(const float *x, float id, __m256i q[4]) {
    const __m256 mul = _mm256_set1_ps(id);
    for (int k = 0; k < 4; k++) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), mul);
        q[k] = _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
}

// Four int32 vectors (elements 0..31) -> 32 int8 with saturation, in element order. The two packs
// work per 128-bit lane and leave dwords in the order 0,2,4,6,1,3,5,7 of the wanted ones.
EDGE_K void k_store_i8x32(const __m256i q[4], int8_t *dst) {
    const __m256i p01 = _mm256_packs_epi32(q[0], q[1]);
    const __m256i p23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p = _mm256_packs_epi16(p01, p23);
    _mm256_storeu_si256((__m256i *)dst, _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

EDGE_K float k_amax32(const float *x) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_and_ps(_mm256_loadu_ps(x), absmask);
    m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 8), absmask));
    m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 16), absmask));
    m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 24), absmask));
    return k_hmax_ps(m);
}

// (n) floats -> n/32 Q8_0 blocks: d = f16(amax / 127), q = round-half-even(x * (127 / amax)).
__attribute__((target(EDGE_X86_TARGET)))
static void k_quantize_q8_0(const float *x, void *vy, int64_t n) {
    edge_block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / EDGE_QK; b++, x += EDGE_QK) {
        const float amax = k_amax32(x);
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = k_f2h(amax / 127.0f);
        __m256i q[4];
        k_round32(x, id, q);
        k_store_i8x32(q, y[b].qs);
    }
}

// As Q8_0, plus s = f16(d * sum(q)) with the unrounded float d.
__attribute__((target(EDGE_X86_TARGET)))
static void k_quantize_q8_1(const float *x, void *vy, int64_t n) {
    edge_block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / EDGE_QK; b++, x += EDGE_QK) {
        const float amax = k_amax32(x);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = k_f2h(d);
        __m256i q[4];
        k_round32(x, id, q);
        const int32_t sum = k_hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
        y[b].s = k_f2h(d * (float)sum);
        k_store_i8x32(q, y[b].qs);
    }
}

// (n) floats -> n/256 Q8_K blocks: max = the signed value of largest magnitude (first on ties),
// iscale = -127 / max, q = min(127, round-half-even(iscale * x)), d = 1 / iscale, bsums per 16.
__attribute__((target(EDGE_X86_TARGET)))
static void k_quantize_q8_K(const float *x, void *vy, int64_t n) {
    edge_block_q8_K *y = vy;
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / EDGE_QK_K; b++, x += EDGE_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < EDGE_QK_K / 8; k++) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 8 * k), absmask));
        const float amax = k_hmax_ps(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        // first element whose magnitude equals amax
        float max = 0.0f;
        const __m256 vmax = _mm256_set1_ps(amax);
        for (int k = 0; k < EDGE_QK_K / 8; k++) {
            const __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + 8 * k), absmask);
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(a, vmax, _CMP_EQ_OQ));
            if (hit) { max = x[8 * k + __builtin_ctz((unsigned)hit)]; break; }
        }
        const float iscale = -127.0f / max;
        const __m256i top = _mm256_set1_epi32(127);
        for (int g = 0; g < EDGE_QK_K / 32; g++) {
            __m256i q[4];
            k_round32(x + 32 * g, iscale, q);
            for (int k = 0; k < 4; k++) q[k] = _mm256_min_epi32(q[k], top);
            y[b].bsums[2 * g] = (int16_t)k_hsum_epi32(_mm256_add_epi32(q[0], q[1]));
            y[b].bsums[2 * g + 1] = (int16_t)k_hsum_epi32(_mm256_add_epi32(q[2], q[3]));
            k_store_i8x32(q, y[b].qs + 32 * g);
        }
        y[b].d = 1.0f / iscale;
    }
}

// (n) floats -> n halves, round to nearest even (VCVTPS2PH imm 0, as edge_f32_to_f16).
__attribute__((target(EDGE_X86_TARGET)))
static void k_quantize_f16(const float *x, void *vy, int64_t n) {
    edge_f16 *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) y[i] = k_f2h(x[i]);
}

// 8 floats -> 8 bf16 in the low 16 bits of each int32 lane: NaN -> (bits >> 16) | 64 (quiet),
// everything else rounded to nearest even (as edge_f32_to_bf16 / ggml).
EDGE_K __m256i k_bf16x8(__m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i hi = _mm256_srli_epi32(u, 16);
    const __m256i bias = _mm256_add_epi32(_mm256_set1_epi32(0x7fff), _mm256_and_si256(hi, _mm256_set1_epi32(1)));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, bias), 16);
    const __m256i quiet = _mm256_or_si256(hi, _mm256_set1_epi32(64));
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_blendv_epi8(rounded, quiet, nan);
}

__attribute__((target(EDGE_X86_TARGET)))
static void k_quantize_bf16(const float *x, void *vy, int64_t n) {
    edge_bf16 *y = vy;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i a = k_bf16x8(_mm256_loadu_ps(x + i)), b = k_bf16x8(_mm256_loadu_ps(x + i + 8));
        // packus works per 128-bit lane: a0-3 b0-3 | a4-7 b4-7; the permute restores a0-7 b0-7
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(y + i), p);
    }
    for (; i < n; i++) y[i] = edge_f32_to_bf16(x[i]);
}

// ---- dot products: legacy 32-element blocks ----
// Each loop body handles one block; two float accumulators hide the FMA latency.

// Four f16 values -> floats in lanes 0..3 (one VCVTPH2PS instead of four scalar conversions).
EDGE_K __m128 k_h2f4(edge_f16 h0, edge_f16 h1, edge_f16 h2, edge_f16 h3) {
    const uint64_t packed = (uint64_t)h0 | ((uint64_t)h1 << 16) | ((uint64_t)h2 << 32) | ((uint64_t)h3 << 48);
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)packed));
}

// dw * da of one block, broadcast to 8 lanes.
EDGE_K __m256 k_scale1(edge_f16 dw, edge_f16 da) {
    const __m128 f = k_h2f4(dw, da, 0, 0);
    return _mm256_broadcastss_ps(_mm_mul_ss(f, _mm_movehdup_ps(f)));
}

// (n) Q8_0 weights . (n) Q8_0 activations
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_q8_0(int64_t n, const void *vw, const void *va) {
    const edge_block_q8_0 *w = vw, *a = va;
    const int64_t nb = n / EDGE_QK;
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t b = 0; b < nb; b++) {
        const __m256i p = k_dot_s8s8(_mm256_setzero_si256(), _mm256_loadu_si256((const __m256i *)w[b].qs),
                                     _mm256_loadu_si256((const __m256i *)a[b].qs));
        const __m256 d = k_scale1(w[b].d, a[b].d);
        acc[b & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[b & 1]);
    }
    return k_hsum_ps(_mm256_add_ps(acc[0], acc[1]));
}

// (n) Q4_0 weights (q - 8) . Q8_0 activations
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_q4_0(int64_t n, const void *vw, const void *va) {
    const edge_block_q4_0 *w = vw;
    const edge_block_q8_0 *a = va;
    const int64_t nb = n / EDGE_QK;
    const __m256i eight = _mm256_set1_epi8(8);
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t b = 0; b < nb; b++) {
        const __m256i q = _mm256_sub_epi8(k_nibbles32(w[b].qs), eight);
        const __m256i p = k_dot_s8s8(_mm256_setzero_si256(), q, _mm256_loadu_si256((const __m256i *)a[b].qs));
        const __m256 d = k_scale1(w[b].d, a[b].d);
        acc[b & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[b & 1]);
    }
    return k_hsum_ps(_mm256_add_ps(acc[0], acc[1]));
}

// (n) Q4_1 weights (d q + m) . Q8_1 activations: d dy sum(q qy) + m s
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_q4_1(int64_t n, const void *vw, const void *va) {
    const edge_block_q4_1 *w = vw;
    const edge_block_q8_1 *a = va;
    const int64_t nb = n / EDGE_QK;
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    __m128 summs = _mm_setzero_ps();  // lane 1: sum of m * s
    for (int64_t b = 0; b < nb; b++) {
        const __m256i p = k_dot_u8s8(_mm256_setzero_si256(), k_nibbles32(w[b].qs),
                                     _mm256_loadu_si256((const __m256i *)a[b].qs));
        const __m128 f = k_h2f4(w[b].d, w[b].m, a[b].d, a[b].s);  // lanes: dw m da s
        const __m128 prod = _mm_mul_ps(f, _mm_movehl_ps(f, f));     // lanes: dw*da, m*s
        acc[b & 1] = _mm256_fmadd_ps(_mm256_broadcastss_ps(prod), _mm256_cvtepi32_ps(p), acc[b & 1]);
        summs = _mm_add_ps(summs, prod);
    }
    return k_hsum_ps(_mm256_add_ps(acc[0], acc[1])) + _mm_cvtss_f32(_mm_movehdup_ps(summs));
}

// (n) Q5_0 weights (q5 - 16) . Q8_0 activations. With the 5th bit clear, q5 - 16 = nibble - 16,
// whose int8 pattern is the nibble with 0xf0 or-ed in; with it set, it is the nibble itself.
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_q5_0(int64_t n, const void *vw, const void *va) {
    const edge_block_q5_0 *w = vw;
    const edge_block_q8_0 *a = va;
    const int64_t nb = n / EDGE_QK;
    const __m256i f0 = _mm256_set1_epi8((char)0xf0);
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t b = 0; b < nb; b++) {
        const __m256i q = _mm256_or_si256(k_nibbles32(w[b].qs), _mm256_andnot_si256(k_bits32(w[b].qh), f0));
        const __m256i p = k_dot_s8s8(_mm256_setzero_si256(), q, _mm256_loadu_si256((const __m256i *)a[b].qs));
        const __m256 d = k_scale1(w[b].d, a[b].d);
        acc[b & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[b & 1]);
    }
    return k_hsum_ps(_mm256_add_ps(acc[0], acc[1]));
}

// (n) Q5_1 weights (d q5 + m) . Q8_1 activations
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_q5_1(int64_t n, const void *vw, const void *va) {
    const edge_block_q5_1 *w = vw;
    const edge_block_q8_1 *a = va;
    const int64_t nb = n / EDGE_QK;
    const __m256i x10 = _mm256_set1_epi8(0x10);
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    __m128 summs = _mm_setzero_ps();  // lane 1: sum of m * s
    for (int64_t b = 0; b < nb; b++) {
        const __m256i q = _mm256_or_si256(k_nibbles32(w[b].qs), _mm256_and_si256(k_bits32(w[b].qh), x10));
        const __m256i p = k_dot_u8s8(_mm256_setzero_si256(), q, _mm256_loadu_si256((const __m256i *)a[b].qs));
        const __m128 f = k_h2f4(w[b].d, w[b].m, a[b].d, a[b].s);  // lanes: dw m da s
        const __m128 prod = _mm_mul_ps(f, _mm_movehl_ps(f, f));     // lanes: dw*da, m*s
        acc[b & 1] = _mm256_fmadd_ps(_mm256_broadcastss_ps(prod), _mm256_cvtepi32_ps(p), acc[b & 1]);
        summs = _mm_add_ps(summs, prod);
    }
    return k_hsum_ps(_mm256_add_ps(acc[0], acc[1])) + _mm_cvtss_f32(_mm_movehdup_ps(summs));
}

// ---- dot products: K-quants (256-element super-blocks, Q8_K activations) ----

// The 6-bit scales (sc) and mins (m) of the 8 sub-blocks of a Q4_K/Q5_K super-block: j < 4 in the
// low 6 bits of bytes j and j+4; j >= 4 from the nibbles of byte j+4 and the top 2 bits of bytes
// j-4 (scale) and j (min). Returned as 16 int16 lanes each: [sc0 sc1 ... sc7 | m0 ... m7].
EDGE_K void k_scales_mins_k4(const uint8_t *s, int16_t sc[8], int16_t m[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = (int16_t)(s[j] & 63);
        m[j] = (int16_t)(s[j + 4] & 63);
    }
    for (int j = 4; j < 8; j++) {
        sc[j] = (int16_t)((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
        m[j] = (int16_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

// a * b + c with one rounding. Spelled out because the tiled matmul (edge_avx512.c) must repeat
// the exact operation: left to `c += a * b`, contraction into an FMA would be the compiler's choice.
EDGE_K float k_fma_ss(float a, float b, float c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

// sum_j m[j] * (bsums[2j] + bsums[2j+1]) for the 8 sub-blocks of 32: one VPMADDWD over the 16
// bsums against the mins each repeated twice.
EDGE_K int32_t k_mins_dot(const int16_t m[8], const int16_t *bsums) {
    const __m256i mm = _mm256_setr_epi16(m[0], m[0], m[1], m[1], m[2], m[2], m[3], m[3],
                                         m[4], m[4], m[5], m[5], m[6], m[6], m[7], m[7]);
    return k_hsum_epi32(_mm256_madd_epi16(mm, _mm256_loadu_si256((const __m256i *)bsums)));
}

// (n) Q4_K weights . Q8_K activations. Per super-block:
//   dy d sum_j sc_j sum(q qy) - dy dmin sum_j m_j sum(qy)
// The first sum stays in 8 int32 lanes (each below 2^23: 8 sub-blocks x 63 x 4 x 15 x 127), so its
// conversion to float is exact.
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_q4_K(int64_t n, const void *vw, const void *va) {
    const edge_block_q4_K *w = vw;
    const edge_block_q8_K *a = va;
    const int64_t nb = n / EDGE_QK_K;
    const __m256i lo4 = _mm256_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps();
    float summ = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int16_t sc[8], m[8];
        k_scales_mins_k4(w[b].scales, sc, m);
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(w[b].qs + 32 * c));
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(a[b].qs + 64 * c));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(a[b].qs + 64 * c + 32));
            sumi = k_dot_u8s8_scaled(sumi, _mm256_and_si256(q, lo4), y0, _mm256_set1_epi16(sc[2 * c]));
            sumi = k_dot_u8s8_scaled(sumi, _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4), y1,
                                     _mm256_set1_epi16(sc[2 * c + 1]));
        }
        const float dy = a[b].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(k_h2f(w[b].d) * dy), _mm256_cvtepi32_ps(sumi), acc);
        summ = k_fma_ss(k_h2f(w[b].dmin) * dy, (float)k_mins_dot(m, a[b].bsums), summ);
    }
    return k_hsum_ps(acc) - summ;
}

// (n) Q5_K weights . Q8_K activations: as Q4_K with a 5th bit per element from qh
// (element 64c + l: bit 2c of qh[l]; element 64c + 32 + l: bit 2c + 1).
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_q5_K(int64_t n, const void *vw, const void *va) {
    const edge_block_q5_K *w = vw;
    const edge_block_q8_K *a = va;
    const int64_t nb = n / EDGE_QK_K;
    const __m256i lo4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    float summ = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int16_t sc[8], m[8];
        k_scales_mins_k4(w[b].scales, sc, m);
        const __m256i qh = _mm256_loadu_si256((const __m256i *)w[b].qh);
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(w[b].qs + 32 * c));
            // bits 2c and 2c+1 of each qh byte, moved to bit 4 (0 or 16 per byte)
            const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4);
            const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4);
            const __m256i q0 = _mm256_or_si256(_mm256_and_si256(q, lo4), h0);
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), lo4), h1);
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(a[b].qs + 64 * c));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(a[b].qs + 64 * c + 32));
            sumi = k_dot_u8s8_scaled(sumi, q0, y0, _mm256_set1_epi16(sc[2 * c]));
            sumi = k_dot_u8s8_scaled(sumi, q1, y1, _mm256_set1_epi16(sc[2 * c + 1]));
        }
        const float dy = a[b].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(k_h2f(w[b].d) * dy), _mm256_cvtepi32_ps(sumi), acc);
        summ = k_fma_ss(k_h2f(w[b].dmin) * dy, (float)k_mins_dot(m, a[b].bsums), summ);
    }
    return k_hsum_ps(acc) - summ;
}

// (n) Q6_K weights . Q8_K activations. Per super-block: dy d sum_j sc_j sum_16 (q - 32) qy, taken
// as sum_j sc_j sum(q qy) - 32 sum_j sc_j bsums_j with q unsigned 0..63. In each half h, element
// 32k + l (k < 4) has its low 4 bits in ql[64h + l + 32(k & 1)] (low nibble for k < 2) and its
// high 2 bits at bits 2k..2k+1 of qh[32h + l]; scales are per 16 elements.
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_q6_K(int64_t n, const void *vw, const void *va) {
    const edge_block_q6_K *w = vw;
    const edge_block_q8_K *a = va;
    const int64_t nb = n / EDGE_QK_K;
    const __m256i lo4 = _mm256_set1_epi8(0x0f), lo2 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const int8_t *sc = w[b].scales;
        // 32 * sum_j sc_j bsums_j, kept in 8 lanes and subtracted lane-wise below
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
        const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)a[b].bsums)), 5);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w[b].ql + 64 * h;
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i hb = _mm256_loadu_si256((const __m256i *)(w[b].qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_slli_epi16(_mm256_and_si256(hb, lo2), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, lo4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), lo2), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), lo2), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), lo2), 4));
            for (int k = 0; k < 4; k++) {
                const int j = 8 * h + 2 * k;  // the two 16-element sub-blocks of this 32
                const __m256i s = _mm256_setr_m128i(_mm_set1_epi16(sc[j]), _mm_set1_epi16(sc[j + 1]));
                const __m256i y = _mm256_loadu_si256((const __m256i *)(a[b].qs + 128 * h + 32 * k));
                sumi = k_dot_u8s8_scaled(sumi, q[k], y, s);
            }
        }
        const float d = k_h2f(w[b].d) * a[b].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, corr)), acc);
    }
    return k_hsum_ps(acc);
}

// ---- dot products: float weights ----

// (n) f16 . f16: 32 per step over four accumulators, then 8 at a time, then one at a time.
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_f16(int64_t n, const void *vw, const void *va) {
    const edge_f16 *w = vw, *a = va;
#define LD(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) acc[k] = _mm256_fmadd_ps(LD(w + i + 8 * k), LD(a + i + 8 * k), acc[k]);
    }
    for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(LD(w + i), LD(a + i), acc[0]);
#undef LD
    float s = k_hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++) s += k_h2f(w[i]) * k_h2f(a[i]);
    return s;
}

EDGE_K __m256 k_bf16_load8(const edge_bf16 *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

// (n) bf16 . bf16
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_bf16(int64_t n, const void *vw, const void *va) {
    const edge_bf16 *w = vw, *a = va;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) {
            acc[k] = _mm256_fmadd_ps(k_bf16_load8(w + i + 8 * k), k_bf16_load8(a + i + 8 * k), acc[k]);
        }
    }
    for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(k_bf16_load8(w + i), k_bf16_load8(a + i), acc[0]);
    float s = k_hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++) s += edge_bf16_to_f32(w[i]) * edge_bf16_to_f32(a[i]);
    return s;
}

// (n) f32 . f32
__attribute__((target(EDGE_X86_TARGET)))
static float k_dot_f32(int64_t n, const void *vw, const void *va) {
    const float *w = vw, *a = va;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) {
            acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8 * k), _mm256_loadu_ps(a + i + 8 * k), acc[k]);
        }
    }
    for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), acc[0]);
    float s = k_hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++) s += w[i] * a[i];
    return s;
}

// Fill every slot this file implements. (F32 activation "quantization" is a copy: the reference's
// memcpy stays.)
static void edge_x86_register(edge_kernel_table *t) {
    t->quantize[EDGE_TYPE_Q8_0] = k_quantize_q8_0;
    t->quantize[EDGE_TYPE_Q8_1] = k_quantize_q8_1;
    t->quantize[EDGE_TYPE_Q8_K] = k_quantize_q8_K;
    t->quantize[EDGE_TYPE_F16] = k_quantize_f16;
    t->quantize[EDGE_TYPE_BF16] = k_quantize_bf16;
    t->vec_dot[EDGE_TYPE_Q8_0] = k_dot_q8_0;
    t->vec_dot[EDGE_TYPE_Q4_0] = k_dot_q4_0;
    t->vec_dot[EDGE_TYPE_Q4_1] = k_dot_q4_1;
    t->vec_dot[EDGE_TYPE_Q5_0] = k_dot_q5_0;
    t->vec_dot[EDGE_TYPE_Q5_1] = k_dot_q5_1;
    t->vec_dot[EDGE_TYPE_Q4_K] = k_dot_q4_K;
    t->vec_dot[EDGE_TYPE_Q5_K] = k_dot_q5_K;
    t->vec_dot[EDGE_TYPE_Q6_K] = k_dot_q6_K;
    t->vec_dot[EDGE_TYPE_F16] = k_dot_f16;
    t->vec_dot[EDGE_TYPE_BF16] = k_dot_bf16;
    t->vec_dot[EDGE_TYPE_F32] = k_dot_f32;
}

#undef EDGE_K
