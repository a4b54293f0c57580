// edge_avx512.c — the x86 kernels built for AVX-512 F/BW/VL/VNNI (Ice Lake, Sapphire Rapids, Zen 4
// and later). The shared 256-bit kernels of edge_x86_kernels.h are compiled here with VPDPBUSD /
// VPDPWSSD for the integer products and mask registers for bit spreading; the legacy-block dots
// (Q4_0, Q4_1, Q5_0, Q8_0) are then replaced by 512-bit versions that take two 32-element blocks
// per step and build both blocks' scales with one VCVTPH2PS, since those kernels are bound by
// per-block work rather than by memory bandwidth.
#define EDGE_X86_TARGET "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#define EDGE_X86_AVX512 1
#include "edge_x86_kernels.h"

#define EDGE_K512 static inline __attribute__((target(EDGE_X86_TARGET)))

// Two 32-byte rows -> one zmm [p0 | p1].
EDGE_K512 __m512i k512_pair(const void *p0, const void *p1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p0)),
                              _mm256_loadu_si256((const __m256i *)p1), 1);
}

// The nibbles of two legacy blocks -> 64 bytes 0..15 in element order: [block 0 elements 0..31 |
// block 1 elements 0..31] (each block: low nibbles are elements 0..15, high nibbles 16..31).
EDGE_K512 __m512i k512_nibbles_pair(const uint8_t *q0, const uint8_t *q1) {
    const __m256i t = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q0)),
                                              _mm_loadu_si128((const __m128i *)q1), 1);
    const __m256i t4 = _mm256_srli_epi16(t, 4);
    // 128-bit lanes [t.0, t4.0, t.1, t4.1]
    const __m512i idx = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i v = _mm512_permutex2var_epi64(_mm512_castsi256_si512(t), idx, _mm512_castsi256_si512(t4));
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
}

// Four f16 values -> float lanes 0..3 of an xmm.
EDGE_K512 __m128 k512_h2f4(edge_f16 h0, edge_f16 h1, edge_f16 h2, edge_f16 h3) {
    const uint64_t packed = (uint64_t)h0 | ((uint64_t)h1 << 16) | ((uint64_t)h2 << 32) | ((uint64_t)h3 << 48);
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)packed));
}

// [s0, s1, ...] (xmm) -> zmm with s0 in lanes 0..7 and s1 in lanes 8..15.
EDGE_K512 __m512 k512_spread2(__m128 s) {
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                                 _mm512_castps128_ps512(s));
}

// The scales dw * da of two blocks, spread over their halves of a zmm. Each product is the same
// single float multiplication the 256-bit kernels do.
EDGE_K512 __m512 k512_scales2(edge_f16 dw0, edge_f16 dw1, edge_f16 da0, edge_f16 da1) {
    const __m128 f = k512_h2f4(dw0, dw1, da0, da1);
    return k512_spread2(_mm_mul_ps(f, _mm_movehl_ps(f, f)));
}

// acc (16 x int32) from |x| and y carrying x's sign, x in -128..127, y in -127..127.
EDGE_K512 __m512i k512_dot_s8s8(__m512i x, __m512i y) {
    const __mmask64 neg = _mm512_movepi8_mask(x);
    const __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(x), sy);
}

__attribute__((target(EDGE_X86_TARGET)))
static float k512_dot_q8_0(int64_t n, const void *vw, const void *va) {
    const edge_block_q8_0 *w = vw, *a = va;
    const int64_t nb = n / EDGE_QK;
    __m512 acc = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const __m512i p = k512_dot_s8s8(k512_pair(w[b].qs, w[b + 1].qs), k512_pair(a[b].qs, a[b + 1].qs));
        acc = _mm512_fmadd_ps(k512_scales2(w[b].d, w[b + 1].d, a[b].d, a[b + 1].d), _mm512_cvtepi32_ps(p), acc);
    }
    float s = _mm512_reduce_add_ps(acc);
    if (b < nb) s += k_dot_q8_0(EDGE_QK, &w[b], &a[b]);
    return s;
}

__attribute__((target(EDGE_X86_TARGET)))
static float k512_dot_q4_0(int64_t n, const void *vw, const void *va) {
    const edge_block_q4_0 *w = vw;
    const edge_block_q8_0 *a = va;
    const int64_t nb = n / EDGE_QK;
    const __m512i eight = _mm512_set1_epi8(8);
    __m512 acc = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const __m512i q = _mm512_sub_epi8(k512_nibbles_pair(w[b].qs, w[b + 1].qs), eight);
        const __m512i p = k512_dot_s8s8(q, k512_pair(a[b].qs, a[b + 1].qs));
        acc = _mm512_fmadd_ps(k512_scales2(w[b].d, w[b + 1].d, a[b].d, a[b + 1].d), _mm512_cvtepi32_ps(p), acc);
    }
    float s = _mm512_reduce_add_ps(acc);
    if (b < nb) s += k_dot_q4_0(EDGE_QK, &w[b], &a[b]);
    return s;
}

// Q4_1 . Q8_1: d dy sum(q qy) per block, plus m * s per block (both pairs from one conversion).
__attribute__((target(EDGE_X86_TARGET)))
static float k512_dot_q4_1(int64_t n, const void *vw, const void *va) {
    const edge_block_q4_1 *w = vw;
    const edge_block_q8_1 *a = va;
    const int64_t nb = n / EDGE_QK;
    __m512 acc = _mm512_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), k512_nibbles_pair(w[b].qs, w[b + 1].qs),
                                              k512_pair(a[b].qs, a[b + 1].qs));
        acc = _mm512_fmadd_ps(k512_scales2(w[b].d, w[b + 1].d, a[b].d, a[b + 1].d), _mm512_cvtepi32_ps(p), acc);
        const __m128 ms = k512_h2f4(w[b].m, w[b + 1].m, a[b].s, a[b + 1].s);
        accm = _mm_add_ps(accm, _mm_mul_ps(ms, _mm_movehl_ps(ms, ms)));  // lanes 0, 1: m * s
    }
    float s = _mm512_reduce_add_ps(acc) + (_mm_cvtss_f32(accm) + _mm_cvtss_f32(_mm_movehdup_ps(accm)));
    if (b < nb) s += k_dot_q4_1(EDGE_QK, &w[b], &a[b]);
    return s;
}

// Q5_0 . Q8_0: q5 - 16 is the nibble where the 5th bit is set and nibble - 16 (negative) where it
// is clear, so the clear bits are exactly the sign mask: |q| = 16 - nibble there.
__attribute__((target(EDGE_X86_TARGET)))
static float k512_dot_q5_0(int64_t n, const void *vw, const void *va) {
    const edge_block_q5_0 *w = vw;
    const edge_block_q8_0 *a = va;
    const int64_t nb = n / EDGE_QK;
    const __m512i sixteen = _mm512_set1_epi8(16);
    __m512 acc = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        uint32_t h0, h1;
        memcpy(&h0, w[b].qh, 4);
        memcpy(&h1, w[b + 1].qh, 4);
        const __mmask64 neg = ~((__mmask64)h0 | ((__mmask64)h1 << 32));
        const __m512i nib = k512_nibbles_pair(w[b].qs, w[b + 1].qs);
        const __m512i absq = _mm512_mask_sub_epi8(nib, neg, sixteen, nib);
        const __m512i y = k512_pair(a[b].qs, a[b + 1].qs);
        const __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), absq, sy);
        acc = _mm512_fmadd_ps(k512_scales2(w[b].d, w[b + 1].d, a[b].d, a[b + 1].d), _mm512_cvtepi32_ps(p), acc);
    }
    float s = _mm512_reduce_add_ps(acc);
    if (b < nb) s += k_dot_q5_0(EDGE_QK, &w[b], &a[b]);
    return s;
}

void edge_avx512_register(edge_kernel_table *t) {
    edge_x86_register(t);
    t->vec_dot[EDGE_TYPE_Q8_0] = k512_dot_q8_0;
    t->vec_dot[EDGE_TYPE_Q4_0] = k512_dot_q4_0;
    t->vec_dot[EDGE_TYPE_Q4_1] = k512_dot_q4_1;
    t->vec_dot[EDGE_TYPE_Q5_0] = k512_dot_q5_0;
}
