// edge_avx512.c — the x86 kernels built for AVX-512 F/BW/VL/VNNI (Ice Lake, Sapphire Rapids, Zen 4
// and later). The shared 256-bit kernels of edge_x86_kernels.h are compiled here with VPDPBUSD /
// VPDPWSSD for the integer products and mask registers for bit spreading; the legacy-block dots
// (Q4_0, Q4_1, Q5_0, Q8_0) are then replaced by 512-bit versions that take two 32-element blocks
// per step and build both blocks' scales with one VCVTPH2PS, since those kernels are bound by
// per-block work rather than by memory bandwidth. The tiled matmul for prompts (register tiles
// of rows x tokens over decoded weight blocks, same bits as these dots) is at the end of the file.
#define EDGE_X86_TARGET "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#define EDGE_X86_AVX512 1
#include "edge_x86_kernels.h"
#include "edge_x86_packed.h"

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

// ---- tiled matmul (prompt processing) ----
//
// edge_matmul computes Y[t][r] = dot(W row r, A row t) for a row range and many tokens. Calling the
// dot kernels above once per (row, token) decodes every weight block once per token. The tiled
// kernels below instead (1) decode a group of weight rows once into a SIMD-ready form (unsigned
// quant bytes, scales already spread over the lanes they scale), (2) prepare a block of tokens
// once (quant bytes, per-lane offset corrections, spread scales), and (3) run register tiles of
// TM_R rows x TM_T tokens over them, so each decoded weight block is used by TM_T tokens and each
// prepared activation block by TM_R rows.
//
// Bit-identity with the dot kernels (and so with edge_matvec) is by construction: every output
// element gets exactly the float operations of its dot kernel, in the same order, on the same
// lane arrangement. Only integer work is rearranged, and integer sums are exact:
// - legacy types: the per-lane int32 of a block pair is computed as VPDPBUSD(corr, u, a) with u the
//   weight quants made unsigned (Q8_0: w + 128 via xor 0x80; Q4_0/Q5_0: the raw nibble or 5-bit
//   value) and corr = -K * (sum of the lane's 4 activation bytes), K = 128, 8, 16 (0 for Q4_1 and
//   Q5_1, whose quants are unsigned already). Same int32 as the sign trick of the dot kernels.
// - K-quants: the 8 int32 lanes of one (row, token) sit in one half of a zmm, the other half
//   holding a second token, so the same VPMADDUBSW + VPDPWSSD steps run for two tokens at once.
//   The mins of Q4_K/Q5_K are an exact integer dot, computed for the tile's tokens in one lane each.
// Each element depends only on its own row and token, so how rows are split into chunks, and
// whether a row or token lands in a padded tile, changes nothing.

#include <pthread.h>
#include <stdlib.h>

#define TM_R 4       // weight rows per register tile
#define TM_T 4       // tokens per register tile (two zmm halves x two for the K-quants)
#define TM_ROWS 64   // weight rows decoded at once: with TM_TOKS, keeps both buffers in L2
#define TM_TOKS 64   // tokens prepared at once (a multiple of TM_T)

// ---- per-thread scratch (grown on demand, freed when the thread exits) ----

static pthread_key_t tm_key;
static pthread_once_t tm_key_once = PTHREAD_ONCE_INIT;
static void tm_key_make(void) { (void)pthread_key_create(&tm_key, free); }

// 64-byte aligned scratch of at least `bytes`, owned by the calling thread; NULL if out of memory.
static void *tm_scratch(size_t bytes) {
    pthread_once(&tm_key_once, tm_key_make);
    size_t *h = pthread_getspecific(tm_key);
    if (h && h[0] >= bytes) return (char *)h + 64;
    free(h);
    const size_t total = (bytes + 64 + 63) & ~(size_t)63;
    h = aligned_alloc(64, total);
    (void)pthread_setspecific(tm_key, h);
    if (!h) return NULL;
    h[0] = bytes;
    return (char *)h + 64;
}

// ---- legacy blocks (32 elements), taken in pairs as the 512-bit dot kernels do ----

// One weight block pair, decoded: quants as unsigned bytes, dw of block 0 in lanes 0..7 and of
// block 1 in lanes 8..15.
typedef struct { uint8_t u[64]; float dw[16]; } tm_wpair;
// One activation block pair, prepared: quants, -K * (sum of each lane's 4 bytes), da spread.
typedef struct { int8_t a[64]; int32_t corr[16]; float da[16]; } tm_apair;

enum tm_kind { TM_Q8_0, TM_Q4_0, TM_Q4_1, TM_Q5_0, TM_Q5_1 };

EDGE_K512 __m512 tm_spread2(edge_f16 h0, edge_f16 h1) { return k512_spread2(k512_h2f4(h0, h1, 0, 0)); }

// Row w (npairs block pairs) -> out[p]; m[2p], m[2p+1] = the two blocks' m (Q4_1, Q5_1).
__attribute__((target(EDGE_X86_TARGET)))
static void tm_decode_legacy(enum tm_kind kind, const void *w, int64_t npairs, tm_wpair *out, float *m) {
    for (int64_t p = 0; p < npairs; p++) {
        __m512i u;
        edge_f16 d0, d1;
        switch (kind) {
        case TM_Q8_0: {
            const edge_block_q8_0 *b = (const edge_block_q8_0 *)w + 2 * p;
            u = _mm512_xor_si512(k512_pair(b[0].qs, b[1].qs), _mm512_set1_epi8((char)0x80));
            d0 = b[0].d, d1 = b[1].d;
            break;
        }
        case TM_Q4_0: {
            const edge_block_q4_0 *b = (const edge_block_q4_0 *)w + 2 * p;
            u = k512_nibbles_pair(b[0].qs, b[1].qs);
            d0 = b[0].d, d1 = b[1].d;
            break;
        }
        case TM_Q4_1: {
            const edge_block_q4_1 *b = (const edge_block_q4_1 *)w + 2 * p;
            u = k512_nibbles_pair(b[0].qs, b[1].qs);
            d0 = b[0].d, d1 = b[1].d;
            m[2 * p] = k_h2f(b[0].m), m[2 * p + 1] = k_h2f(b[1].m);
            break;
        }
        case TM_Q5_0: {
            const edge_block_q5_0 *b = (const edge_block_q5_0 *)w + 2 * p;
            uint32_t h0, h1;
            memcpy(&h0, b[0].qh, 4);
            memcpy(&h1, b[1].qh, 4);
            const __m512i nib = k512_nibbles_pair(b[0].qs, b[1].qs);
            u = _mm512_mask_add_epi8(nib, (__mmask64)h0 | ((__mmask64)h1 << 32), nib, _mm512_set1_epi8(16));
            d0 = b[0].d, d1 = b[1].d;
            break;
        }
        default: {  // TM_Q5_1
            const edge_block_q5_1 *b = (const edge_block_q5_1 *)w + 2 * p;
            uint32_t h0, h1;
            memcpy(&h0, b[0].qh, 4);
            memcpy(&h1, b[1].qh, 4);
            const __m512i nib = k512_nibbles_pair(b[0].qs, b[1].qs);
            u = _mm512_mask_add_epi8(nib, (__mmask64)h0 | ((__mmask64)h1 << 32), nib, _mm512_set1_epi8(16));
            d0 = b[0].d, d1 = b[1].d;
            m[2 * p] = k_h2f(b[0].m), m[2 * p + 1] = k_h2f(b[1].m);
            break;
        }
        }
        _mm512_store_si512(out[p].u, u);
        _mm512_store_ps(out[p].dw, tm_spread2(d0, d1));
    }
}

// Activation row a (Q8_0 or Q8_1 blocks, npairs pairs) -> out[p]; s[2p * stride], s[2p * stride + 1]
// = the two blocks' s (Q8_1), so that one token tile's s values for pair p are contiguous.
__attribute__((target(EDGE_X86_TARGET)))
static void tm_prepare_legacy(enum tm_kind kind, const void *a, int64_t npairs, tm_apair *out, float *s, int64_t stride) {
    const int q81 = kind == TM_Q4_1 || kind == TM_Q5_1;
    const int k = kind == TM_Q8_0 ? 128 : kind == TM_Q4_0 ? 8 : kind == TM_Q5_0 ? 16 : 0;
    for (int64_t p = 0; p < npairs; p++) {
        __m512i v;
        edge_f16 d0, d1;
        if (q81) {
            const edge_block_q8_1 *b = (const edge_block_q8_1 *)a + 2 * p;
            v = k512_pair(b[0].qs, b[1].qs);
            d0 = b[0].d, d1 = b[1].d;
            s[2 * p * stride] = k_h2f(b[0].s), s[2 * p * stride + 1] = k_h2f(b[1].s);
        } else {
            const edge_block_q8_0 *b = (const edge_block_q8_0 *)a + 2 * p;
            v = k512_pair(b[0].qs, b[1].qs);
            d0 = b[0].d, d1 = b[1].d;
        }
        const __m512i ksum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)k), v);
        _mm512_store_si512(out[p].a, v);
        _mm512_store_si512(out[p].corr, _mm512_sub_epi32(_mm512_setzero_si512(), ksum));
        _mm512_store_ps(out[p].da, tm_spread2(d0, d1));
    }
}

// One TM_R x TM_T tile over all pairs, finished into Y (only rows < nr and tokens < nt stored).
// W[r]: row r's pairs; A[t]: token t's pairs; m[r]: row r's m values; s: this tile's s values
// (pair p at s + 2 p stride). Always inlined with a constant kind, so each type gets its own loop.
__attribute__((target(EDGE_X86_TARGET), always_inline))
static inline void tm_tile_legacy(enum tm_kind kind, int64_t npairs, const tm_wpair *const W[TM_R],
                                  const tm_apair *const A[TM_T], const float *const m[TM_R], const float *s,
                                  int64_t stride, float *Y, int64_t ys, int nr, int nt) {
    __m512 acc[TM_R][TM_T];
    __m256 ms[TM_R];  // Q4_1 / Q5_1: lanes 2t, 2t+1 (Q4_1) or lane 2t (Q5_1) belong to token t
    for (int r = 0; r < TM_R; r++) {
        ms[r] = _mm256_setzero_ps();
        for (int t = 0; t < TM_T; t++) acc[r][t] = _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < npairs; p++) {
        __m512i u[TM_R];
        __m512 dw[TM_R];
        for (int r = 0; r < TM_R; r++) {
            u[r] = _mm512_load_si512(W[r][p].u);
            dw[r] = _mm512_load_ps(W[r][p].dw);
        }
        for (int t = 0; t < TM_T; t++) {
            const __m512i a = _mm512_load_si512(A[t][p].a);
            const __m512i corr = _mm512_load_si512(A[t][p].corr);
            const __m512 da = _mm512_load_ps(A[t][p].da);
            for (int r = 0; r < TM_R; r++) {
                const __m512i ip = _mm512_dpbusd_epi32(kind == TM_Q4_1 || kind == TM_Q5_1 ? _mm512_setzero_si512() : corr, u[r], a);
                acc[r][t] = _mm512_fmadd_ps(_mm512_mul_ps(dw[r], da), _mm512_cvtepi32_ps(ip), acc[r][t]);
            }
        }
        if (kind == TM_Q4_1 || kind == TM_Q5_1) {
            const __m256 sv = _mm256_loadu_ps(s + 2 * p * stride);  // s0, s1 of tokens 0..3
            for (int r = 0; r < TM_R; r++) {
                const __m256 mv = _mm256_castpd_ps(_mm256_broadcast_sd((const double *)(m[r] + 2 * p)));
                const __m256 v = _mm256_mul_ps(mv, sv);
                if (kind == TM_Q4_1) {
                    ms[r] = _mm256_add_ps(ms[r], v);
                } else {  // Q5_1's dot adds block by block: block 2p, then 2p + 1
                    ms[r] = _mm256_add_ps(_mm256_add_ps(ms[r], v), _mm256_movehdup_ps(v));
                }
            }
        }
    }
    for (int r = 0; r < nr; r++) {
        float msf[8];
        _mm256_storeu_ps(msf, ms[r]);
        for (int t = 0; t < nt; t++) {
            float y;
            if (kind == TM_Q5_1) {
                const __m256 lo = _mm512_castps512_ps256(acc[r][t]);
                const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][t]), 1));
                y = k_hsum_ps(_mm256_add_ps(lo, hi)) + msf[2 * t];
            } else if (kind == TM_Q4_1) {
                y = _mm512_reduce_add_ps(acc[r][t]) + (msf[2 * t] + msf[2 * t + 1]);
            } else {
                y = _mm512_reduce_add_ps(acc[r][t]);
            }
            Y[t * ys + r] = y;
        }
    }
}

__attribute__((target(EDGE_X86_TARGET)))
static void tm_matmul_legacy(enum tm_kind kind, int64_t n, const char *W, size_t wrb, int64_t r0, int64_t r1,
                             const char *A, size_t arb, int64_t ncols, float *Y, int64_t ys, void *scratch) {
    const int64_t npairs = n / (2 * EDGE_QK);
    tm_wpair *wb = scratch;                                    // [TM_ROWS][npairs]
    tm_apair *ab = (tm_apair *)(wb + TM_ROWS * npairs);       // [TM_TOKS][npairs]
    float *mb = (float *)(ab + TM_TOKS * npairs);              // [TM_ROWS][2 npairs]
    float *sb = mb + TM_ROWS * 2 * npairs;                     // [npairs][TM_TOKS][2]
    for (int64_t g0 = r0; g0 < r1; g0 += TM_ROWS) {
        const int64_t gn = r1 - g0 < TM_ROWS ? r1 - g0 : TM_ROWS;
        for (int64_t r = 0; r < gn; r++) {
            tm_decode_legacy(kind, W + (size_t)(g0 + r) * wrb, npairs, wb + r * npairs, mb + r * 2 * npairs);
        }
        for (int64_t c0 = 0; c0 < ncols; c0 += TM_TOKS) {
            const int64_t cn = ncols - c0 < TM_TOKS ? ncols - c0 : TM_TOKS;
            const int64_t cpad = (cn + TM_T - 1) / TM_T * TM_T;
            for (int64_t t = 0; t < cpad; t++) {  // padding tokens repeat the last one
                const int64_t tc = t < cn ? t : cn - 1;
                tm_prepare_legacy(kind, A + (size_t)(c0 + tc) * arb, npairs, ab + t * npairs, sb + 2 * t, TM_TOKS);
            }
            for (int64_t rt = 0; rt < gn; rt += TM_R) {
                const tm_wpair *wr[TM_R];
                const float *mr[TM_R];
                for (int r = 0; r < TM_R; r++) {  // padding rows repeat the last one
                    const int64_t rr = rt + r < gn ? rt + r : gn - 1;
                    wr[r] = wb + rr * npairs;
                    mr[r] = mb + rr * 2 * npairs;
                }
                const int nr = gn - rt < TM_R ? (int)(gn - rt) : TM_R;
                for (int64_t tt = 0; tt < cn; tt += TM_T) {
                    const tm_apair *at[TM_T];
                    for (int t = 0; t < TM_T; t++) at[t] = ab + (tt + t) * npairs;
                    const int nt = cn - tt < TM_T ? (int)(cn - tt) : TM_T;
                    float *yt = Y + (c0 + tt) * ys + (g0 + rt);
                    const float *st = sb + 2 * tt;
                    switch (kind) {
                    case TM_Q8_0: tm_tile_legacy(TM_Q8_0, npairs, wr, at, mr, st, TM_TOKS, yt, ys, nr, nt); break;
                    case TM_Q4_0: tm_tile_legacy(TM_Q4_0, npairs, wr, at, mr, st, TM_TOKS, yt, ys, nr, nt); break;
                    case TM_Q4_1: tm_tile_legacy(TM_Q4_1, npairs, wr, at, mr, st, TM_TOKS, yt, ys, nr, nt); break;
                    case TM_Q5_0: tm_tile_legacy(TM_Q5_0, npairs, wr, at, mr, st, TM_TOKS, yt, ys, nr, nt); break;
                    case TM_Q5_1: tm_tile_legacy(TM_Q5_1, npairs, wr, at, mr, st, TM_TOKS, yt, ys, nr, nt); break;
                    }
                }
            }
        }
    }
}

static size_t tm_scratch_legacy(int64_t n) {
    const int64_t npairs = n / (2 * EDGE_QK);
    return (size_t)npairs * (TM_ROWS * sizeof(tm_wpair) + TM_TOKS * sizeof(tm_apair) + TM_ROWS * 8 + TM_TOKS * 8);
}

// The legacy entry points. An odd block count (the dot kernels finish it with a 256-bit step) is
// left to the per-element loop, as is a failed scratch allocation.
#define TM_LEGACY_ENTRY(name, kind)                                                                      \
    __attribute__((target(EDGE_X86_TARGET)))                                                             \
    static int name(int64_t n, const void *W, size_t wrb, int64_t r0, int64_t r1, const void *A,          \
                    size_t arb, int64_t ncols, float *Y, int64_t ys) {                                    \
        if ((n / EDGE_QK) % 2 != 0) return -1;                                                           \
        void *scratch = tm_scratch(tm_scratch_legacy(n));                                                \
        if (!scratch) return -1;                                                                         \
        tm_matmul_legacy(kind, n, W, wrb, r0, r1, A, arb, ncols, Y, ys, scratch);                         \
        return 0;                                                                                        \
    }
TM_LEGACY_ENTRY(tm_matmul_q8_0, TM_Q8_0)
TM_LEGACY_ENTRY(tm_matmul_q4_0, TM_Q4_0)
TM_LEGACY_ENTRY(tm_matmul_q4_1, TM_Q4_1)
TM_LEGACY_ENTRY(tm_matmul_q5_0, TM_Q5_0)
TM_LEGACY_ENTRY(tm_matmul_q5_1, TM_Q5_1)

// ---- K-quants (256-element super-blocks, Q8_K activations) ----

// One Q4_K/Q5_K super-block, decoded: quants 0..31 in element order (sub-block j = bytes 32j..),
// each scale as an int16 pair for a 32-bit broadcast, the mins as int16 pairs (m[2i], m[2i+1]).
typedef struct { uint8_t u[256]; int32_t scp[8]; int32_t mp[4]; float d, dmin; uint8_t pad[8]; } tm_wq4k;
// One Q6_K super-block, decoded: quants 0..63 in element order; for each 32 elements the scales
// of its two 16-element sub-blocks as [s x8 | s' x8]; all 16 scales as int16; d.
typedef struct { uint8_t u[256]; int16_t s16[8][16]; int16_t sc16[16]; float d; uint8_t pad[28]; } tm_wq6k;
// One super-block of two tokens, side by side: quants 32j.. of token 0 then of token 1, the
// bsums of token 0 then token 1, d of token 0 in lanes 0..7 and of token 1 in lanes 8..15.
typedef struct { int8_t y[8][64]; int16_t bs[32]; float dys[16]; } tm_akpair;
// The mins side of one super-block of TM_T tokens: lane t of bt[i] holds token t's
// (bsums[4i] + bsums[4i+1], bsums[4i+2] + bsums[4i+3]) as int16 pair; dyv[t] = token t's d.
typedef struct { int32_t bt[4][TM_T]; float dyv[TM_T]; } tm_akmins;

enum tm_kkind { TM_Q4_K, TM_Q5_K, TM_Q6_K };

__attribute__((target(EDGE_X86_TARGET)))
static void tm_decode_q45k(int q5, const void *w, int64_t nsb, tm_wq4k *out) {
    const __m256i lo4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    for (int64_t b = 0; b < nsb; b++) {
        const uint8_t *qs, *scales;
        __m256i qh = _mm256_setzero_si256();
        edge_f16 d, dmin;
        if (q5) {
            const edge_block_q5_K *x = (const edge_block_q5_K *)w + b;
            qs = x->qs, scales = x->scales, d = x->d, dmin = x->dmin;
            qh = _mm256_loadu_si256((const __m256i *)x->qh);
        } else {
            const edge_block_q4_K *x = (const edge_block_q4_K *)w + b;
            qs = x->qs, scales = x->scales, d = x->d, dmin = x->dmin;
        }
        for (int c = 0; c < 4; c++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
            __m256i q0 = _mm256_and_si256(q, lo4), q1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
            if (q5) {
                q0 = _mm256_or_si256(q0, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
                q1 = _mm256_or_si256(q1, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
            }
            _mm256_store_si256((__m256i *)(out[b].u + 64 * c), q0);
            _mm256_store_si256((__m256i *)(out[b].u + 64 * c + 32), q1);
        }
        int16_t sc[8], m[8];
        k_scales_mins_k4(scales, sc, m);
        for (int j = 0; j < 8; j++) out[b].scp[j] = (int32_t)(((uint32_t)(uint16_t)sc[j] << 16) | (uint16_t)sc[j]);
        for (int i = 0; i < 4; i++) out[b].mp[i] = (int32_t)(((uint32_t)(uint16_t)m[2 * i + 1] << 16) | (uint16_t)m[2 * i]);
        out[b].d = k_h2f(d);
        out[b].dmin = k_h2f(dmin);
    }
}

__attribute__((target(EDGE_X86_TARGET)))
static void tm_decode_q6k(const void *w, int64_t nsb, tm_wq6k *out) {
    const __m256i lo4 = _mm256_set1_epi8(0x0f), lo2 = _mm256_set1_epi8(3);
    for (int64_t b = 0; b < nsb; b++) {
        const edge_block_q6_K *x = (const edge_block_q6_K *)w + b;
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));
            const __m256i hb = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
            const __m256i lo[4] = {_mm256_and_si256(l0, lo4), _mm256_and_si256(l1, lo4),
                                   _mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4),
                                   _mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4)};
            for (int k = 0; k < 4; k++) {
                const __m256i hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * k), lo2), 4);
                _mm256_store_si256((__m256i *)(out[b].u + 128 * h + 32 * k), _mm256_or_si256(lo[k], hi));
            }
        }
        for (int c = 0; c < 8; c++) {
            for (int l = 0; l < 8; l++) {
                out[b].s16[c][l] = x->scales[2 * c];
                out[b].s16[c][8 + l] = x->scales[2 * c + 1];
            }
        }
        for (int j = 0; j < 16; j++) out[b].sc16[j] = x->scales[j];
        out[b].d = k_h2f(x->d);
    }
}

// Tokens a0, a1 (Q8_K rows of nsb super-blocks) -> out[b] side by side.
__attribute__((target(EDGE_X86_TARGET)))
static void tm_prepare_k_pair(const edge_block_q8_K *a0, const edge_block_q8_K *a1, int64_t nsb, tm_akpair *out) {
    for (int64_t b = 0; b < nsb; b++) {
        for (int j = 0; j < 8; j++) _mm512_store_si512(out[b].y[j], k512_pair(a0[b].qs + 32 * j, a1[b].qs + 32 * j));
        _mm512_store_si512(out[b].bs, k512_pair(a0[b].bsums, a1[b].bsums));
        _mm512_store_ps(out[b].dys, _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(a0[b].d)),
                                                                            _mm256_castps_pd(_mm256_set1_ps(a1[b].d)), 1)));
    }
}

// Token t of a tile: its mins-side values into out[b] (lane t).
static void tm_prepare_k_mins(const edge_block_q8_K *a, int64_t nsb, int t, tm_akmins *out) {
    for (int64_t b = 0; b < nsb; b++) {
        const int16_t *bs = a[b].bsums;
        for (int i = 0; i < 4; i++) {
            const uint16_t lo = (uint16_t)(bs[4 * i] + bs[4 * i + 1]), hi = (uint16_t)(bs[4 * i + 2] + bs[4 * i + 3]);
            out[b].bt[i][t] = (int32_t)(((uint32_t)hi << 16) | lo);
        }
        out[b].dyv[t] = a[b].d;
    }
}

// One TM_R x TM_T tile of a K-quant matrix over nsb super-blocks. W4/W6[r]: row r's decoded
// super-blocks (one of the two, by kind); P[k]: token pair k's; M: the tile's mins side.
__attribute__((target(EDGE_X86_TARGET), always_inline))
static inline void tm_tile_k(enum tm_kkind kind, int64_t nsb, const tm_wq4k *const W4[TM_R],
                             const tm_wq6k *const W6[TM_R], const tm_akpair *const P[TM_T / 2],
                             const tm_akmins *M, float *Y, int64_t ys, int nr, int nt) {
    __m512 acc[TM_R][TM_T / 2];
    __m128 summ[TM_R];  // Q4_K/Q5_K: lane t = token t
    for (int r = 0; r < TM_R; r++) {
        summ[r] = _mm_setzero_ps();
        for (int k = 0; k < TM_T / 2; k++) acc[r][k] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nsb; b++) {
        for (int r = 0; r < TM_R; r++) {
            if (kind == TM_Q6_K) {
                const tm_wq6k *w = &W6[r][b];
                const __m512i sc16 = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)w->sc16));
                const __m512 d = _mm512_set1_ps(w->d);
                for (int k = 0; k < TM_T / 2; k++) {
                    const tm_akpair *a = &P[k][b];
                    const __m512i corr = _mm512_slli_epi32(_mm512_madd_epi16(sc16, _mm512_load_si512(a->bs)), 5);
                    __m512i sumi = _mm512_setzero_si512();
                    for (int c = 0; c < 8; c++) {
                        const __m512i u = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)(w->u + 32 * c)));
                        const __m512i s = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)w->s16[c]));
                        sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(u, _mm512_load_si512(a->y[c])), s);
                    }
                    acc[r][k] = _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_load_ps(a->dys)),
                                                _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi, corr)), acc[r][k]);
                }
            } else {
                const tm_wq4k *w = &W4[r][b];
                __m512i sumi[TM_T / 2];
                for (int k = 0; k < TM_T / 2; k++) sumi[k] = _mm512_setzero_si512();
                for (int j = 0; j < 8; j++) {
                    const __m512i u = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)(w->u + 32 * j)));
                    const __m512i sc = _mm512_set1_epi32(w->scp[j]);
                    for (int k = 0; k < TM_T / 2; k++) {
                        sumi[k] = _mm512_dpwssd_epi32(sumi[k], _mm512_maddubs_epi16(u, _mm512_load_si512(P[k][b].y[j])), sc);
                    }
                }
                const __m512 d = _mm512_set1_ps(w->d);
                for (int k = 0; k < TM_T / 2; k++) {
                    acc[r][k] = _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_load_ps(P[k][b].dys)),
                                                _mm512_cvtepi32_ps(sumi[k]), acc[r][k]);
                }
                __m128i md = _mm_setzero_si128();
                for (int i = 0; i < 4; i++) md = _mm_dpwssd_epi32(md, _mm_set1_epi32(w->mp[i]), _mm_load_si128((const __m128i *)M[b].bt[i]));
                const __m128 dm = _mm_mul_ps(_mm_set1_ps(w->dmin), _mm_load_ps(M[b].dyv));
                summ[r] = _mm_fmadd_ps(dm, _mm_cvtepi32_ps(md), summ[r]);
            }
        }
    }
    for (int r = 0; r < nr; r++) {
        float sm[4];
        _mm_storeu_ps(sm, summ[r]);
        for (int t = 0; t < nt; t++) {
            const __m512 v = acc[r][t / 2];
            const __m256 half = (t & 1) ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))
                                        : _mm512_castps512_ps256(v);
            Y[t * ys + r] = kind == TM_Q6_K ? k_hsum_ps(half) : k_hsum_ps(half) - sm[t];
        }
    }
}

__attribute__((target(EDGE_X86_TARGET)))
static void tm_matmul_k(enum tm_kkind kind, int64_t n, const char *W, size_t wrb, int64_t r0, int64_t r1,
                        const char *A, size_t arb, int64_t ncols, float *Y, int64_t ys, void *scratch) {
    const int64_t nsb = n / EDGE_QK_K;
    const size_t wrec = kind == TM_Q6_K ? sizeof(tm_wq6k) : sizeof(tm_wq4k);
    char *wb = scratch;                                                    // [TM_ROWS][nsb] records
    tm_akpair *pb = (tm_akpair *)(wb + TM_ROWS * nsb * wrec);              // [TM_TOKS / 2][nsb]
    tm_akmins *mb = (tm_akmins *)(pb + TM_TOKS / 2 * nsb);                 // [TM_TOKS / TM_T][nsb]
    for (int64_t g0 = r0; g0 < r1; g0 += TM_ROWS) {
        const int64_t gn = r1 - g0 < TM_ROWS ? r1 - g0 : TM_ROWS;
        for (int64_t r = 0; r < gn; r++) {
            const char *w = W + (size_t)(g0 + r) * wrb;
            if (kind == TM_Q6_K) tm_decode_q6k(w, nsb, (tm_wq6k *)(wb + r * nsb * wrec));
            else tm_decode_q45k(kind == TM_Q5_K, w, nsb, (tm_wq4k *)(wb + r * nsb * wrec));
        }
        for (int64_t c0 = 0; c0 < ncols; c0 += TM_TOKS) {
            const int64_t cn = ncols - c0 < TM_TOKS ? ncols - c0 : TM_TOKS;
            const int64_t cpad = (cn + TM_T - 1) / TM_T * TM_T;
            for (int64_t t = 0; t < cpad; t += 2) {  // padding tokens repeat the last one
                const int64_t t0 = t < cn ? t : cn - 1, t1 = t + 1 < cn ? t + 1 : cn - 1;
                const edge_block_q8_K *a0 = (const edge_block_q8_K *)(A + (size_t)(c0 + t0) * arb);
                const edge_block_q8_K *a1 = (const edge_block_q8_K *)(A + (size_t)(c0 + t1) * arb);
                tm_prepare_k_pair(a0, a1, nsb, pb + t / 2 * nsb);
                if (kind != TM_Q6_K) {
                    tm_prepare_k_mins(a0, nsb, (int)(t % TM_T), mb + t / TM_T * nsb);
                    tm_prepare_k_mins(a1, nsb, (int)((t + 1) % TM_T), mb + t / TM_T * nsb);
                }
            }
            for (int64_t rt = 0; rt < gn; rt += TM_R) {
                const tm_wq4k *w4[TM_R];
                const tm_wq6k *w6[TM_R];
                for (int r = 0; r < TM_R; r++) {  // padding rows repeat the last one
                    const int64_t rr = rt + r < gn ? rt + r : gn - 1;
                    w4[r] = (const tm_wq4k *)(wb + rr * nsb * wrec);
                    w6[r] = (const tm_wq6k *)(wb + rr * nsb * wrec);
                }
                const int nr = gn - rt < TM_R ? (int)(gn - rt) : TM_R;
                for (int64_t tt = 0; tt < cn; tt += TM_T) {
                    const tm_akpair *pt[TM_T / 2];
                    for (int k = 0; k < TM_T / 2; k++) pt[k] = pb + (tt / 2 + k) * nsb;
                    const int nt = cn - tt < TM_T ? (int)(cn - tt) : TM_T;
                    float *yt = Y + (c0 + tt) * ys + (g0 + rt);
                    const tm_akmins *mt = mb + tt / TM_T * nsb;
                    if (kind == TM_Q6_K) tm_tile_k(TM_Q6_K, nsb, w4, w6, pt, mt, yt, ys, nr, nt);
                    else tm_tile_k(TM_Q4_K, nsb, w4, w6, pt, mt, yt, ys, nr, nt);
                }
            }
        }
    }
}

static size_t tm_scratch_k(enum tm_kkind kind, int64_t n) {
    const int64_t nsb = n / EDGE_QK_K;
    const size_t wrec = kind == TM_Q6_K ? sizeof(tm_wq6k) : sizeof(tm_wq4k);
    return (size_t)nsb * (TM_ROWS * wrec + TM_TOKS / 2 * sizeof(tm_akpair) + TM_TOKS / TM_T * sizeof(tm_akmins));
}

#define TM_K_ENTRY(name, kind)                                                                           \
    __attribute__((target(EDGE_X86_TARGET)))                                                             \
    static int name(int64_t n, const void *W, size_t wrb, int64_t r0, int64_t r1, const void *A,          \
                    size_t arb, int64_t ncols, float *Y, int64_t ys) {                                    \
        void *scratch = tm_scratch(tm_scratch_k(kind, n));                                               \
        if (!scratch) return -1;                                                                         \
        tm_matmul_k(kind, n, W, wrb, r0, r1, A, arb, ncols, Y, ys, scratch);                              \
        return 0;                                                                                        \
    }
TM_K_ENTRY(tm_matmul_q4_K, TM_Q4_K)
TM_K_ENTRY(tm_matmul_q5_K, TM_Q5_K)
TM_K_ENTRY(tm_matmul_q6_K, TM_Q6_K)

void edge_avx512_register(edge_kernel_table *t) {
    edge_x86_register(t);
    edge_x86_packed_register(t);
    t->vec_dot[EDGE_TYPE_Q8_0] = k512_dot_q8_0;
    t->vec_dot[EDGE_TYPE_Q4_0] = k512_dot_q4_0;
    t->vec_dot[EDGE_TYPE_Q4_1] = k512_dot_q4_1;
    t->vec_dot[EDGE_TYPE_Q5_0] = k512_dot_q5_0;
    t->matmul[EDGE_TYPE_Q8_0] = tm_matmul_q8_0;
    t->matmul[EDGE_TYPE_Q4_0] = tm_matmul_q4_0;
    t->matmul[EDGE_TYPE_Q4_1] = tm_matmul_q4_1;
    t->matmul[EDGE_TYPE_Q5_0] = tm_matmul_q5_0;
    t->matmul[EDGE_TYPE_Q5_1] = tm_matmul_q5_1;
    t->matmul[EDGE_TYPE_Q4_K] = tm_matmul_q4_K;
    t->matmul[EDGE_TYPE_Q5_K] = tm_matmul_q5_K;
    t->matmul[EDGE_TYPE_Q6_K] = tm_matmul_q6_K;
}
