// edge_x86_packed.h — the x16 packed matmul kernels (layouts in include/edge_packed.h), written once
// and compiled twice like edge_x86_kernels.h (include it right after that file):
// - AVX-512 (EDGE_X86_AVX512 = 1): one zmm = 16 int32 lanes = the 16 rows of a record; VPDPBUSD
//   takes 4 weight bytes of every row against 4 activation bytes broadcast to all lanes.
// - AVX2: one ymm = 8 lanes; a record is done in two halves (rows 0..7, then 8..15), each reading
//   its 32-byte half of every 64-byte vector. VPMADDUBSW + VPMADDWD stand in for VPDPBUSD.
//
// Exactness (what makes every variant bit-identical to edge_vec_dot_ref):
// - block integer sums are exact. Weights enter as unsigned bytes: Q4 nibbles (0..15) as they are;
//   Q8_0 quants as q + 128 (the record stores q XOR 0x80), the 128 * sum(a) excess being subtracted
//   through the accumulator's start value corr = -128 * sum(a) (AVX-512). Q5_0's 5-bit q (0..31)
//   is likewise unsigned, with corr = -16 * sum(a). VPMADDUBSW would saturate
//   on 255 * 127 * 2, so the AVX2 Q8_0 path flips back to signed q and uses |q| times a carrying
//   q's sign (|q| <= 128, |a| <= 127: 2 * 128 * 127 < 2^15), with corr = 0. Q4_0's q - 8 is taken
//   the same way as Q8_0's: nibble products, start value -8 * sum(a).
// - per row, per block: the reference's float operations, in its order, as separate multiplies and
//   adds (the intrinsics below are never contracted into FMAs).
//
// Tokens are done in tiles of XP_T (a register tile: XP_T int32 and XP_T float accumulators); each
// record is loaded once per tile. Per-token block corrections are computed once per call for up to
// XP_TOKS tokens at a time.
#include <stdint.h>

#if EDGE_X86_AVX512
#define XP_LANES 16
#define XP_HALVES 1
#define XP_T 4
typedef __m512i xp_vi;
typedef __m512 xp_vf;
#define XP_K static inline __attribute__((target(EDGE_X86_TARGET), always_inline))
XP_K xp_vi xp_ld(const uint8_t *p) { return _mm512_loadu_si512((const void *)p); }
XP_K xp_vi xp_dot(xp_vi acc, xp_vi u, xp_vi s) { return _mm512_dpbusd_epi32(acc, u, s); }
XP_K xp_vi xp_set1(int32_t v) { return _mm512_set1_epi32(v); }
XP_K xp_vi xp_and(xp_vi a, xp_vi b) { return _mm512_and_si512(a, b); }
XP_K xp_vi xp_srl4(xp_vi a) { return _mm512_srli_epi16(a, 4); }
XP_K xp_vi xp_add(xp_vi a, xp_vi b) { return _mm512_add_epi32(a, b); }
XP_K xp_vi xp_mullo(xp_vi a, xp_vi b) { return _mm512_mullo_epi32(a, b); }
XP_K xp_vi xp_or(xp_vi a, xp_vi b) { return _mm512_or_si512(a, b); }
XP_K xp_vi xp_srl32(xp_vi a, int n) { return _mm512_srli_epi32(a, n); }
XP_K xp_vi xp_sll32(xp_vi a, int n) { return _mm512_slli_epi32(a, n); }
XP_K xp_vi xp_ld_u32(const uint32_t *p) { return _mm512_loadu_si512((const void *)p); }
XP_K xp_vi xp_u8_i32(const uint8_t *p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)); }
XP_K xp_vi xp_i8_i32(const int8_t *p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)); }
XP_K xp_vi xp_srl16(xp_vi a, int n) { return _mm512_srli_epi16(a, n); }
XP_K xp_vi xp_u16_i32(const uint16_t *p) { return _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)); }
XP_K xp_vi xp_sub(xp_vi a, xp_vi b) { return _mm512_sub_epi32(a, b); }
// 16-entry byte table (the same 16 bytes in every 128-bit lane) looked up by each byte's low nibble.
XP_K xp_vi xp_table16(const uint8_t t[16]) { return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t)); }
XP_K xp_vi xp_lookup(xp_vi table, xp_vi idx) { return _mm512_shuffle_epi8(table, idx); }
XP_K xp_vi xp_sll16(xp_vi a, int n) { return _mm512_slli_epi16(a, n); }
XP_K xp_vf xp_f16(const edge_f16 *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
XP_K xp_vf xp_fset1(float v) { return _mm512_set1_ps(v); }
XP_K xp_vf xp_fzero(void) { return _mm512_setzero_ps(); }
XP_K xp_vf xp_cvt(xp_vi a) { return _mm512_cvtepi32_ps(a); }
XP_K xp_vf xp_fmul(xp_vf a, xp_vf b) { return _mm512_mul_ps(a, b); }
XP_K xp_vf xp_fadd(xp_vf a, xp_vf b) { return _mm512_add_ps(a, b); }
XP_K xp_vf xp_fsub(xp_vf a, xp_vf b) { return _mm512_sub_ps(a, b); }
XP_K void xp_store(float *p, xp_vf v) { _mm512_storeu_ps(p, v); }
// Q8_0 weights (stored q ^ 0x80) times signed activations, in the form corr expects.
XP_K xp_vi xp_dot_q8(xp_vi acc, xp_vi u, xp_vi s) { return _mm512_dpbusd_epi32(acc, u, s); }
#define XP_Q8_K 128
#else
#define XP_LANES 8
#define XP_HALVES 2
#define XP_T 4
typedef __m256i xp_vi;
typedef __m256 xp_vf;
#define XP_K static inline __attribute__((target(EDGE_X86_TARGET), always_inline))
XP_K xp_vi xp_ld(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
XP_K xp_vi xp_dot(xp_vi acc, xp_vi u, xp_vi s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}
XP_K xp_vi xp_set1(int32_t v) { return _mm256_set1_epi32(v); }
XP_K xp_vi xp_and(xp_vi a, xp_vi b) { return _mm256_and_si256(a, b); }
XP_K xp_vi xp_srl4(xp_vi a) { return _mm256_srli_epi16(a, 4); }
XP_K xp_vi xp_add(xp_vi a, xp_vi b) { return _mm256_add_epi32(a, b); }
XP_K xp_vi xp_mullo(xp_vi a, xp_vi b) { return _mm256_mullo_epi32(a, b); }
XP_K xp_vi xp_or(xp_vi a, xp_vi b) { return _mm256_or_si256(a, b); }
XP_K xp_vi xp_srl32(xp_vi a, int n) { return _mm256_srli_epi32(a, n); }
XP_K xp_vi xp_sll32(xp_vi a, int n) { return _mm256_slli_epi32(a, n); }
XP_K xp_vi xp_ld_u32(const uint32_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
XP_K xp_vi xp_u8_i32(const uint8_t *p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)); }
XP_K xp_vi xp_i8_i32(const int8_t *p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)); }
XP_K xp_vi xp_srl16(xp_vi a, int n) { return _mm256_srli_epi16(a, n); }
XP_K xp_vi xp_u16_i32(const uint16_t *p) { return _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)); }
XP_K xp_vi xp_sub(xp_vi a, xp_vi b) { return _mm256_sub_epi32(a, b); }
XP_K xp_vi xp_table16(const uint8_t t[16]) { return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t)); }
XP_K xp_vi xp_lookup(xp_vi table, xp_vi idx) { return _mm256_shuffle_epi8(table, idx); }
XP_K xp_vi xp_sll16(xp_vi a, int n) { return _mm256_slli_epi16(a, n); }
XP_K xp_vf xp_f16(const edge_f16 *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
XP_K xp_vf xp_fset1(float v) { return _mm256_set1_ps(v); }
XP_K xp_vf xp_fzero(void) { return _mm256_setzero_ps(); }
XP_K xp_vf xp_cvt(xp_vi a) { return _mm256_cvtepi32_ps(a); }
XP_K xp_vf xp_fmul(xp_vf a, xp_vf b) { return _mm256_mul_ps(a, b); }
XP_K xp_vf xp_fadd(xp_vf a, xp_vf b) { return _mm256_add_ps(a, b); }
XP_K xp_vf xp_fsub(xp_vf a, xp_vf b) { return _mm256_sub_ps(a, b); }
XP_K void xp_store(float *p, xp_vf v) { _mm256_storeu_ps(p, v); }
XP_K xp_vi xp_dot_q8(xp_vi acc, xp_vi u, xp_vi s) {
    const xp_vi q = _mm256_xor_si256(u, _mm256_set1_epi8((char)0x80));
    return xp_dot(acc, _mm256_sign_epi8(q, q), _mm256_sign_epi8(s, q));
}
#define XP_Q8_K 0
#endif

// Tokens whose block corrections are prepared at once (stack: XP_TOKS x blocks x 4 bytes).
#define XP_TOKS 16

XP_K int32_t xp_u32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

// How a record's bytes come in from memory, per weight type: the runtime value
// edge_stream_mode_get(type) (see edge_packed.h), read once per call. The best choice depends on the
// host, not on the kernel, so `edgert profile` measures each and the runtime sets the winner:
// - on the Zen 5 test host, Q4_K (about twice the instructions per byte of Q8_0) read 45-53% of
//   the measured bandwidth with the hardware alone and 112-129% (against a noisy probe) with a
//   software prefetch 8192 bytes ahead, the default;
// - on an AVX-512 EPYC VM (2026-12-07, one thread, 256 MiB of x16 weights) software prefetches did
//   not help and often hurt: Q4_K 19 GB/s with them, 26.5 without, IQ4_XS 15 / 25, Q3_K 8.8 / 18.7;
//   Q6_K read 9-10 GB/s either way and 20-22 once each record was loaded line by line before its
//   products (its two interleaved streams, ql and qh, leave the prefetchers behind); Q2_K needed
//   the prefetch (9.4 against 3.4).
// Q8_0 and the Q4/Q5 legacy types reach 86-111% of the read bandwidth with the hardware alone on
// both hosts: their mode is left at 0.
// Prefetch the cache lines of [p + dist, p + dist + bytes).
XP_K void xp_prefetch(const void *p, size_t bytes, size_t dist) {
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)p + dist + o, _MM_HINT_T0);
}

// Load one vector from every cache line of [p, p + bytes) and keep none of them: the misses are
// all in flight at once, before the record's products need them.
XP_K void xp_touch(const void *p, size_t bytes) {
    xp_vi z = xp_set1(0);
    for (size_t o = 0; o + sizeof(xp_vi) <= bytes; o += 64) z = xp_or(z, xp_ld((const uint8_t *)p + o));
    __asm__ volatile("" : : "x"(z));
}

// A record of `bytes` at r, by stream mode sm: > 0 prefetch sm bytes ahead, < 0 touch it, 0 nothing.
XP_K void xp_stage(const void *r, size_t bytes, int sm) {
    if (sm > 0) xp_prefetch(r, bytes, (size_t)sm);
    else if (sm < 0) xp_touch(r, bytes);
}

// corr[b] = -K * sum of activation block b's quants (Q8_0-format blocks of 32).
XP_K void xp_corr(const edge_block_q8_0 *a, int64_t nb, int k, int32_t *corr) {
    for (int64_t b = 0; b < nb; b++) {
        int s = 0;
        for (int i = 0; i < EDGE_QK; i++) s += a[b].qs[i];
        corr[b] = -k * s;
    }
}

// ---- Q8_0 ----

__attribute__((target(EDGE_X86_TARGET), always_inline))
static inline void xp_group_q8_0(int64_t nb, const edge_x16_q8_0 *w, const edge_block_q8_0 *const a[XP_T],
                          const int32_t *const corr[XP_T], int nt, float *Y, int64_t ys) {
    for (int h = 0; h < XP_HALVES; h++) {
        const int lo = h * XP_LANES;
        xp_vf acc[XP_T];
        for (int t = 0; t < XP_T; t++) acc[t] = xp_fzero();
        for (int64_t b = 0; b < nb; b++) {
            xp_vi s[XP_T];
            for (int t = 0; t < XP_T; t++) s[t] = xp_set1(XP_Q8_K && t < nt ? corr[t][b] : 0);
            for (int k = 0; k < 8; k++) {
                const xp_vi u = xp_ld(w[b].qs[k] + 4 * lo);
                for (int t = 0; t < XP_T; t++)
                    if (t < nt) s[t] = xp_dot_q8(s[t], u, xp_set1(xp_u32(a[t][b].qs + 4 * k)));
            }
            const xp_vf dw = xp_f16(w[b].d + lo);
            for (int t = 0; t < XP_T; t++)
                if (t < nt) acc[t] = xp_fadd(acc[t], xp_fmul(xp_fmul(dw, xp_fset1(k_h2f(a[t][b].d))), xp_cvt(s[t])));
        }
        for (int t = 0; t < nt; t++) xp_store(Y + t * ys + lo, acc[t]);
    }
}

// ---- Q4_0 / Q4_1 / Q5_0 / Q5_1: one record body. The Q5 types OR each element's fifth bit into
// its nibble; Q4_1 and Q5_1 add m * s and need no correction; Q4_0 and Q5_0 are corrected by
// -8 sum(a) and -16 sum(a) through corr ----

// Bits 0..3 of each lane's x (x & 15 == x) -> bit 4 of bytes 0..3: x * 0x00204081 places bit i of
// x at bits i, i + 7, i + 14, i + 21 without carries (the four copies of x do not overlap), so
// bit i lands at 8i for i = 0..3; the mask keeps those, the shift moves them to bit 4.
XP_K xp_vi xp_spread4(xp_vi x) {
    return xp_sll32(xp_and(xp_mullo(x, xp_set1(0x00204081)), xp_set1(0x01010101)), 4);
}

// The IQ4 grid (edge_iq4_values) as VPDPBUSD takes it: value + 128, i.e. value XOR 0x80.
static const uint8_t xp_iq4_grid[16] = {1, 24, 45, 63, 79, 93, 106, 118, 129, 141, 153, 166, 181, 197, 217, 241};

// Q4_0 / Q4_1 / Q5_0 / Q5_1 (kind 0..3: bit 0 = has m, bit 1 = has the fifth bits). Every record
// starts with d[16]; the rest is at fixed offsets, so the addresses are constants once the kind is.
__attribute__((target(EDGE_X86_TARGET), always_inline))
static inline void xp_group_q4(int kind, int64_t nb, const void *vw, const void *const a[XP_T],
                               const int32_t *const corr[XP_T], int nt, float *Y, int64_t ys) {
    const int has_m = kind & 1, q5 = kind >> 1;
    const size_t rec = kind == 0 ? sizeof(edge_x16_q4_0) : kind == 1 ? sizeof(edge_x16_q4_1)
                     : kind == 2 ? sizeof(edge_x16_q5_0) : sizeof(edge_x16_q5_1);
    const size_t m_at = kind == 1 ? offsetof(edge_x16_q4_1, m) : offsetof(edge_x16_q5_1, m);
    const size_t qh_at = kind == 2 ? offsetof(edge_x16_q5_0, qh) : offsetof(edge_x16_q5_1, qh);
    const size_t qs_at = kind == 0 ? offsetof(edge_x16_q4_0, qs) : kind == 1 ? offsetof(edge_x16_q4_1, qs)
                       : kind == 2 ? offsetof(edge_x16_q5_0, qs) : offsetof(edge_x16_q5_1, qs);
    const size_t ab = has_m ? sizeof(edge_block_q8_1) : sizeof(edge_block_q8_0);
    const size_t aq = has_m ? offsetof(edge_block_q8_1, qs) : offsetof(edge_block_q8_0, qs);
    const xp_vi m4 = xp_set1(0x0f0f0f0f);
    for (int h = 0; h < XP_HALVES; h++) {
        const int lo = h * XP_LANES;
        xp_vf acc[XP_T];
        for (int t = 0; t < XP_T; t++) acc[t] = xp_fzero();
        for (int64_t b = 0; b < nb; b++) {
            const char *r = (const char *)vw + (size_t)b * rec;
            const uint8_t(*qs)[64] = (const uint8_t(*)[64])(r + qs_at);
            const xp_vi qh = q5 ? xp_ld_u32((const uint32_t *)(r + qh_at) + lo) : xp_set1(0);
            xp_vi s[XP_T];
            for (int t = 0; t < XP_T; t++) s[t] = xp_set1(!has_m && t < nt ? corr[t][b] : 0);
            for (int k = 0; k < 4; k++) {
                const xp_vi v = xp_ld(qs[k] + 4 * lo);
                xp_vi l = xp_and(v, m4), hh = xp_and(xp_srl4(v), m4);
                if (q5) {  // elements 4k + i take qh bit 4k + i, elements 16 + 4k + i bit 16 + 4k + i
                    l = xp_or(l, xp_spread4(xp_and(xp_srl32(qh, 4 * k), xp_set1(15))));
                    hh = xp_or(hh, xp_spread4(xp_and(xp_srl32(qh, 16 + 4 * k), xp_set1(15))));
                }
                for (int t = 0; t < XP_T; t++) {
                    if (t >= nt) continue;
                    const int8_t *q = (const int8_t *)((const char *)a[t] + (size_t)b * ab + aq);
                    s[t] = xp_dot(s[t], l, xp_set1(xp_u32(q + 4 * k)));
                    s[t] = xp_dot(s[t], hh, xp_set1(xp_u32(q + 16 + 4 * k)));
                }
            }
            const xp_vf dw = xp_f16((const edge_f16 *)r + lo);
            for (int t = 0; t < XP_T; t++) {
                if (t >= nt) continue;
                if (has_m) {
                    const edge_block_q8_1 *y = (const edge_block_q8_1 *)a[t] + b;
                    const xp_vf p = xp_fmul(xp_fmul(dw, xp_fset1(k_h2f(y->d))), xp_cvt(s[t]));
                    const xp_vf ms = xp_fmul(xp_f16((const edge_f16 *)(r + m_at) + lo), xp_fset1(k_h2f(y->s)));
                    acc[t] = xp_fadd(acc[t], xp_fadd(p, ms));
                } else {
                    const edge_block_q8_0 *y = (const edge_block_q8_0 *)a[t] + b;
                    acc[t] = xp_fadd(acc[t], xp_fmul(xp_fmul(dw, xp_fset1(k_h2f(y->d))), xp_cvt(s[t])));
                }
            }
        }
        for (int t = 0; t < nt; t++) xp_store(Y + t * ys + lo, acc[t]);
    }
}

// IQ4_NL: Q4_0's record; each nibble looks up its grid value, stored as Q8_0's quants are (value
// XOR 0x80), and is taken as Q8_0's are: with corr = -128 sum(a) (AVX-512) or the sign trick
// (AVX2, no corr).
__attribute__((target(EDGE_X86_TARGET), always_inline))
static inline void xp_group_iq4_nl(int64_t nb, const edge_x16_iq4_nl *w, const edge_block_q8_0 *const a[XP_T],
                                   const int32_t *const corr[XP_T], int nt, float *Y, int64_t ys) {
    const xp_vi m4 = xp_set1(0x0f0f0f0f), grid = xp_table16(xp_iq4_grid);
    for (int h = 0; h < XP_HALVES; h++) {
        const int lo = h * XP_LANES;
        xp_vf acc[XP_T];
        for (int t = 0; t < XP_T; t++) acc[t] = xp_fzero();
        for (int64_t b = 0; b < nb; b++) {
            xp_vi s[XP_T];
            for (int t = 0; t < XP_T; t++) s[t] = xp_set1(XP_Q8_K && t < nt ? corr[t][b] : 0);
            for (int k = 0; k < 4; k++) {
                const xp_vi v = xp_ld(w[b].qs[k] + 4 * lo);
                const xp_vi l = xp_lookup(grid, xp_and(v, m4)), hh = xp_lookup(grid, xp_and(xp_srl4(v), m4));
                for (int t = 0; t < XP_T; t++) {
                    if (t >= nt) continue;
                    s[t] = xp_dot_q8(s[t], l, xp_set1(xp_u32(a[t][b].qs + 4 * k)));
                    s[t] = xp_dot_q8(s[t], hh, xp_set1(xp_u32(a[t][b].qs + 16 + 4 * k)));
                }
            }
            const xp_vf dw = xp_f16(w[b].d + lo);
            for (int t = 0; t < XP_T; t++)
                if (t < nt) acc[t] = xp_fadd(acc[t], xp_fmul(xp_fmul(dw, xp_fset1(k_h2f(a[t][b].d))), xp_cvt(s[t])));
        }
        for (int t = 0; t < nt; t++) xp_store(Y + t * ys + lo, acc[t]);
    }
}


// ---- Q4_K ----
// Per super-block and row: sumi = sum_j sc_j * isum_j, summ = sum_j mn_j * (bsums[2j] + bsums[2j+1]),
// both exact int32 (bounds in edge_ref.c), then (d dy) sumi - (dmin dy) summ added to the row's sum.

// The 16 rows' 6-bit scales and mins of sub-blocks 0..7 from their packed bytes q[0..11] (byte i
// of every row in q[i]), as ggml's get_scale_min_k4 does per row:
//   j < 4: sc = q[j] & 63,                          mn = q[j + 4] & 63
//   j >= 4: sc = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4,  mn = (q[j + 4] >> 4) | (q[j] >> 6) << 4
// Byte shifts are 16-bit shifts plus masks (SSE2 has no 8-bit shift).
XP_K void xp_scales_q4_K(const uint8_t q[12][16], uint8_t sc[8][16], uint8_t mn[8][16]) {
    const __m128i m63 = _mm_set1_epi8(63), m15 = _mm_set1_epi8(15), m3 = _mm_set1_epi8(3);
    __m128i v[12];
    for (int i = 0; i < 12; i++) v[i] = _mm_loadu_si128((const __m128i *)q[i]);
    for (int j = 0; j < 4; j++) {
        _mm_storeu_si128((__m128i *)sc[j], _mm_and_si128(v[j], m63));
        _mm_storeu_si128((__m128i *)mn[j], _mm_and_si128(v[j + 4], m63));
        const __m128i top_s = _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(v[j], 6), m3), 4);      // (q[j] >> 6) << 4
        const __m128i top_m = _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(v[j + 4], 6), m3), 4);  // (q[j+4] >> 6) << 4
        _mm_storeu_si128((__m128i *)sc[j + 4], _mm_or_si128(_mm_and_si128(v[j + 8], m15), top_s));
        _mm_storeu_si128((__m128i *)mn[j + 4], _mm_or_si128(_mm_and_si128(_mm_srli_epi16(v[j + 8], 4), m15), top_m));
    }
}

// Q5_K (q5 = 1) is Q4_K plus a fifth bit per element: bit 2c (low nibbles of chunk c) or 2c + 1
// (high nibbles) of the row's qh byte 4k + i, moved to bit 4 of the quant byte.
__attribute__((target(EDGE_X86_TARGET), always_inline))
static inline void xp_group_q45_K(int q5, int64_t nsb, const void *vw, const edge_block_q8_K *const a[XP_T],
                                  int nt, float *Y, int64_t ys, int sm) {
    const xp_vi m4 = xp_set1(0x0f0f0f0f), m1 = xp_set1(0x01010101);
    const size_t rec = q5 ? sizeof(edge_x16_q5_K) : sizeof(edge_x16_q4_K);
    for (int h = 0; h < XP_HALVES; h++) {
        const int lo = h * XP_LANES;
        xp_vf acc[XP_T];
        for (int t = 0; t < XP_T; t++) acc[t] = xp_fzero();
        for (int64_t b = 0; b < nsb; b++) {
            const char *r = (const char *)vw + (size_t)b * rec;
            const edge_x16_q4_K *x4 = (const edge_x16_q4_K *)r;
            const edge_x16_q5_K *x5 = (const edge_x16_q5_K *)r;
            if (sm < 0) xp_touch(r, rec);
            const edge_f16 *d = q5 ? x5->d : x4->d, *dmin = q5 ? x5->dmin : x4->dmin;
            const uint8_t(*scales)[16] = q5 ? x5->scales : x4->scales;
            const uint8_t(*qs)[8][64] = q5 ? x5->qs : x4->qs;
            uint8_t sc[8][16], mn[8][16];
            xp_scales_q4_K(scales, sc, mn);
            xp_vi sumi[XP_T], summ[XP_T];
            for (int t = 0; t < XP_T; t++) sumi[t] = summ[t] = xp_set1(0);
            for (int c = 0; c < 4; c++) {
                if (sm > 0) xp_prefetch(r + c * rec / 4, rec / 4, (size_t)sm);
                xp_vi sl[XP_T], sh[XP_T];
                for (int t = 0; t < XP_T; t++) sl[t] = sh[t] = xp_set1(0);
                for (int k = 0; k < 8; k++) {
                    const xp_vi v = xp_ld(qs[c][k] + 4 * lo);
                    xp_vi l = xp_and(v, m4), hh = xp_and(xp_srl4(v), m4);
                    if (q5) {
                        const xp_vi qh = xp_ld(x5->qh[k] + 4 * lo);
                        l = xp_or(l, xp_sll16(xp_and(xp_srl16(qh, 2 * c), m1), 4));
                        hh = xp_or(hh, xp_sll16(xp_and(xp_srl16(qh, 2 * c + 1), m1), 4));
                    }
                    for (int t = 0; t < XP_T; t++) {
                        if (t >= nt) continue;
                        sl[t] = xp_dot(sl[t], l, xp_set1(xp_u32(a[t][b].qs + 64 * c + 4 * k)));
                        sh[t] = xp_dot(sh[t], hh, xp_set1(xp_u32(a[t][b].qs + 64 * c + 32 + 4 * k)));
                    }
                }
                const xp_vi scl = xp_u8_i32(sc[2 * c] + lo), sch = xp_u8_i32(sc[2 * c + 1] + lo);
                const xp_vi mnl = xp_u8_i32(mn[2 * c] + lo), mnh = xp_u8_i32(mn[2 * c + 1] + lo);
                for (int t = 0; t < XP_T; t++) {
                    if (t >= nt) continue;
                    const int16_t *bs = a[t][b].bsums;
                    sumi[t] = xp_add(sumi[t], xp_add(xp_mullo(scl, sl[t]), xp_mullo(sch, sh[t])));
                    summ[t] = xp_add(summ[t], xp_add(xp_mullo(mnl, xp_set1(bs[4 * c] + bs[4 * c + 1])),
                                                     xp_mullo(mnh, xp_set1(bs[4 * c + 2] + bs[4 * c + 3]))));
                }
            }
            const xp_vf dw = xp_f16(d + lo), dm = xp_f16(dmin + lo);
            for (int t = 0; t < XP_T; t++) {
                if (t >= nt) continue;
                const xp_vf dy = xp_fset1(a[t][b].d);
                acc[t] = xp_fadd(acc[t], xp_fsub(xp_fmul(xp_fmul(dw, dy), xp_cvt(sumi[t])),
                                                 xp_fmul(xp_fmul(dm, dy), xp_cvt(summ[t]))));
            }
        }
        for (int t = 0; t < nt; t++) xp_store(Y + t * ys + lo, acc[t]);
    }
}

// ---- Q6_K ----
// Per super-block and row: sumi = sum_j scales[j] * (sum_16 q qy - 32 bsums[j]), q the unsigned
// 6-bit quant (0..63): the reference's sum_16 (q - 32) qy exactly, then (d dy) sumi.
// Half h, ql vector k (row bytes 64h + 4k + i): low nibbles are elements 128h + 4k + i (sub-block
// 8h + k/4), high nibbles elements 128h + 64 + 4k + i (sub-block 8h + 4 + k/4); their top two bits
// are in qh vector k % 8 (row bytes 32h + 4(k % 8) + i) at bits 0-1 / 4-5 for k < 8, 2-3 / 6-7 after.
__attribute__((target(EDGE_X86_TARGET), always_inline))
static inline void xp_group_q6_K(int64_t nsb, const edge_x16_q6_K *w, const edge_block_q8_K *const a[XP_T],
                                 int nt, float *Y, int64_t ys, int sm) {
    const xp_vi m4 = xp_set1(0x0f0f0f0f), m3 = xp_set1(0x03030303);
    for (int hv = 0; hv < XP_HALVES; hv++) {
        const int lo = hv * XP_LANES;
        xp_vf acc[XP_T];
        for (int t = 0; t < XP_T; t++) acc[t] = xp_fzero();
        for (int64_t b = 0; b < nsb; b++) {
            const edge_x16_q6_K *x = &w[b];
            if (sm < 0) xp_touch(x, sizeof *x);
            xp_vi sumi[XP_T];
            for (int t = 0; t < XP_T; t++) sumi[t] = xp_set1(0);
            for (int h = 0; h < 2; h++) {
                if (sm > 0) xp_prefetch(x->ql[h], sizeof x->ql[h], (size_t)sm);
                for (int kq = 0; kq < 4; kq++) {
                    const int j = 8 * h + kq;
                    xp_vi sl[XP_T], sh[XP_T];
                    for (int t = 0; t < XP_T; t++) {
                        sl[t] = xp_set1(t < nt ? -32 * a[t][b].bsums[j] : 0);
                        sh[t] = xp_set1(t < nt ? -32 * a[t][b].bsums[j + 4] : 0);
                    }
                    for (int k = 4 * kq; k < 4 * kq + 4; k++) {
                        const xp_vi v = xp_ld(x->ql[h][k] + 4 * lo), qh = xp_ld(x->qh[h][k & 7] + 4 * lo);
                        const int sh_lo = k < 8 ? 0 : 2;
                        const xp_vi l = xp_or(xp_and(v, m4), xp_sll16(xp_and(xp_srl16(qh, sh_lo), m3), 4));
                        const xp_vi hh = xp_or(xp_and(xp_srl4(v), m4), xp_sll16(xp_and(xp_srl16(qh, sh_lo + 4), m3), 4));
                        for (int t = 0; t < XP_T; t++) {
                            if (t >= nt) continue;
                            sl[t] = xp_dot(sl[t], l, xp_set1(xp_u32(a[t][b].qs + 128 * h + 4 * k)));
                            sh[t] = xp_dot(sh[t], hh, xp_set1(xp_u32(a[t][b].qs + 128 * h + 64 + 4 * k)));
                        }
                    }
                    const xp_vi scl = xp_i8_i32(x->scales[j] + lo), sch = xp_i8_i32(x->scales[j + 4] + lo);
                    for (int t = 0; t < XP_T; t++)
                        if (t < nt) sumi[t] = xp_add(sumi[t], xp_add(xp_mullo(scl, sl[t]), xp_mullo(sch, sh[t])));
                }
            }
            const xp_vf dw = xp_f16(x->d + lo);
            for (int t = 0; t < XP_T; t++)
                if (t < nt) acc[t] = xp_fadd(acc[t], xp_fmul(xp_fmul(dw, xp_fset1(a[t][b].d)), xp_cvt(sumi[t])));
        }
        for (int t = 0; t < nt; t++) xp_store(Y + t * ys + lo, acc[t]);
    }
}

// ---- IQ4_XS ----
// Per super-block and row: sumi = sum_j (ls_j - 32) * sum_32 kvalues[q] qy (exact), then (d dy) sumi.
// Sub-block j's nibbles are qs[j][0..3]: low nibbles elements 32j + 4k + i, high 32j + 16 + 4k + i.
__attribute__((target(EDGE_X86_TARGET), always_inline))
static inline void xp_group_iq4_xs(int64_t nsb, const edge_x16_iq4_xs *w, const edge_block_q8_K *const a[XP_T],
                                   int nt, float *Y, int64_t ys, int sm) {
    const xp_vi m4 = xp_set1(0x0f0f0f0f), grid = xp_table16(xp_iq4_grid);
    for (int hv = 0; hv < XP_HALVES; hv++) {
        const int lo = hv * XP_LANES;
        xp_vf acc[XP_T];
        for (int t = 0; t < XP_T; t++) acc[t] = xp_fzero();
        for (int64_t b = 0; b < nsb; b++) {
            const edge_x16_iq4_xs *x = &w[b];
            xp_stage(x, sizeof *x, sm);
            const xp_vi sh = xp_u16_i32(x->scales_h + lo);
            xp_vi sumi[XP_T];
            for (int t = 0; t < XP_T; t++) sumi[t] = xp_set1(0);
            for (int j = 0; j < 8; j++) {
                xp_vi s[XP_T];
                for (int t = 0; t < XP_T; t++)
                    s[t] = xp_set1(XP_Q8_K && t < nt ? -XP_Q8_K * (a[t][b].bsums[2 * j] + a[t][b].bsums[2 * j + 1]) : 0);
                for (int k = 0; k < 4; k++) {
                    const xp_vi v = xp_ld(x->qs[j][k] + 4 * lo);
                    const xp_vi l = xp_lookup(grid, xp_and(v, m4)), hh = xp_lookup(grid, xp_and(xp_srl4(v), m4));
                    for (int t = 0; t < XP_T; t++) {
                        if (t >= nt) continue;
                        s[t] = xp_dot_q8(s[t], l, xp_set1(xp_u32(a[t][b].qs + 32 * j + 4 * k)));
                        s[t] = xp_dot_q8(s[t], hh, xp_set1(xp_u32(a[t][b].qs + 32 * j + 16 + 4 * k)));
                    }
                }
                const xp_vi ls = xp_sub(xp_or(xp_and(xp_srl32(xp_u8_i32(x->scales_l[j / 2] + lo), 4 * (j % 2)), xp_set1(15)),
                                              xp_sll32(xp_and(xp_srl32(sh, 2 * j), xp_set1(3)), 4)),
                                        xp_set1(32));
                for (int t = 0; t < XP_T; t++)
                    if (t < nt) sumi[t] = xp_add(sumi[t], xp_mullo(ls, s[t]));
            }
            const xp_vf dw = xp_f16(x->d + lo);
            for (int t = 0; t < XP_T; t++)
                if (t < nt) acc[t] = xp_fadd(acc[t], xp_fmul(xp_fmul(dw, xp_fset1(a[t][b].d)), xp_cvt(sumi[t])));
        }
        for (int t = 0; t < nt; t++) xp_store(Y + t * ys + lo, acc[t]);
    }
}

// ---- Q2_K and Q3_K (q3 = 1) ----
// Element 128h + 32j + l takes bits 2j..2j+1 of qs byte 32h + l (vector k = l / 4 of half h) and
// belongs to sub-block 8h + 2j + l / 16, i.e. the k < 4 or k >= 4 half of those vectors.
// Q2_K: sumi = sum_sb (sc & 15) sum_16 q qy, summ = sum_sb (sc >> 4) bsums[sb];
//   then (d dy) sumi - (dmin dy) summ.
// Q3_K: q + 4 (0..7) = the 2 bits | hmask bit (4h + j of hmask byte l) << 2, so
//   sum_16 q qy = sum_16 (q + 4) qy - 4 bsums[sb]; sumi = sum_sb (s_sb - 32) * that; then (d dy) sumi.
__attribute__((target(EDGE_X86_TARGET), always_inline))
static inline void xp_group_q23_K(int q3, int64_t nsb, const void *vw, const edge_block_q8_K *const a[XP_T],
                                  int nt, float *Y, int64_t ys, int sm) {
    const xp_vi m3 = xp_set1(0x03030303), m1 = xp_set1(0x01010101), m15 = xp_set1(15);
    const size_t rec = q3 ? sizeof(edge_x16_q3_K) : sizeof(edge_x16_q2_K);
    for (int hv = 0; hv < XP_HALVES; hv++) {
        const int lo = hv * XP_LANES;
        xp_vf acc[XP_T];
        for (int t = 0; t < XP_T; t++) acc[t] = xp_fzero();
        for (int64_t b = 0; b < nsb; b++) {
            const char *r = (const char *)vw + (size_t)b * rec;
            const edge_x16_q2_K *x2 = (const edge_x16_q2_K *)r;
            const edge_x16_q3_K *x3 = (const edge_x16_q3_K *)r;
            const uint8_t(*qs)[8][64] = q3 ? x3->qs : x2->qs;
            xp_stage(r, rec, sm);
            xp_vi sumi[XP_T], summ[XP_T];
            for (int t = 0; t < XP_T; t++) sumi[t] = summ[t] = xp_set1(0);
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 4; j++) {
                    for (int part = 0; part < 2; part++) {
                        const int sb = 8 * h + 2 * j + part;
                        xp_vi s[XP_T];
                        for (int t = 0; t < XP_T; t++) s[t] = xp_set1(q3 && t < nt ? -4 * a[t][b].bsums[sb] : 0);
                        for (int k = 4 * part; k < 4 * part + 4; k++) {
                            xp_vi q = xp_and(xp_srl16(xp_ld(qs[h][k] + 4 * lo), 2 * j), m3);
                            if (q3) q = xp_or(q, xp_sll16(xp_and(xp_srl16(xp_ld(x3->hmask[k] + 4 * lo), 4 * h + j), m1), 2));
                            for (int t = 0; t < XP_T; t++)
                                if (t < nt) s[t] = xp_dot(s[t], q, xp_set1(xp_u32(a[t][b].qs + 128 * h + 32 * j + 4 * k)));
                        }
                        if (q3) {
                            const xp_vi low = sb < 8 ? xp_and(xp_u8_i32(x3->scales[sb] + lo), m15)
                                                     : xp_srl32(xp_u8_i32(x3->scales[sb - 8] + lo), 4);
                            const xp_vi high = xp_and(xp_srl32(xp_u8_i32(x3->scales[8 + sb % 4] + lo), 2 * (sb / 4)), xp_set1(3));
                            const xp_vi sc = xp_sub(xp_or(low, xp_sll32(high, 4)), xp_set1(32));
                            for (int t = 0; t < XP_T; t++)
                                if (t < nt) sumi[t] = xp_add(sumi[t], xp_mullo(sc, s[t]));
                        } else {
                            const xp_vi byte = xp_u8_i32(x2->scales[sb] + lo);
                            const xp_vi sc = xp_and(byte, m15), mn = xp_srl32(byte, 4);
                            for (int t = 0; t < XP_T; t++) {
                                if (t >= nt) continue;
                                sumi[t] = xp_add(sumi[t], xp_mullo(sc, s[t]));
                                summ[t] = xp_add(summ[t], xp_mullo(mn, xp_set1(a[t][b].bsums[sb])));
                            }
                        }
                    }
                }
            }
            const xp_vf dw = xp_f16((q3 ? x3->d : x2->d) + lo);
            for (int t = 0; t < XP_T; t++) {
                if (t >= nt) continue;
                const xp_vf dy = xp_fset1(a[t][b].d);
                if (q3) acc[t] = xp_fadd(acc[t], xp_fmul(xp_fmul(dw, dy), xp_cvt(sumi[t])));
                else acc[t] = xp_fadd(acc[t], xp_fsub(xp_fmul(xp_fmul(dw, dy), xp_cvt(sumi[t])),
                                                      xp_fmul(xp_fmul(xp_f16(x2->dmin + lo), dy), xp_cvt(summ[t]))));
            }
        }
        for (int t = 0; t < nt; t++) xp_store(Y + t * ys + lo, acc[t]);
    }
}

// ---- drivers: tokens in slices of XP_TOKS (corrections prepared once per slice), then per group of
// 16 rows every token tile of the slice, so a group's records stay in L1/L2 across the tiles ----

#define XP_IS_K(type) ((type) == EDGE_TYPE_Q4_K || (type) == EDGE_TYPE_Q5_K || (type) == EDGE_TYPE_Q6_K || \
                       (type) == EDGE_TYPE_Q2_K || (type) == EDGE_TYPE_Q3_K || (type) == EDGE_TYPE_IQ4_XS)

// Two drivers, each specialised by a constant type after inlining. clang -O3's code for the Q4_1
// prompt kernel is sensitive to what else the driver holds: one driver with every type's cases
// gave 39 GFLOP/s at 16 tokens on the AVX2 test host, one driver per type 38, this split (the
// first five types, then the types added later) 78, as before the later types existed. Measured
// with a C harness over edge_packed_matmul; re-measure when adding a type.
// The driver, defined once and expanded per case list (XP_CASES, defined before each expansion).
#define XP_DEFINE_DRIVER(name) \
__attribute__((target(EDGE_X86_TARGET), always_inline)) \
static inline void name(int type, int64_t n, const void *P, int64_t r0, int64_t r1, const void *A, \
                             size_t arb, int64_t ncols, float *Y, int64_t ys) { \
    const int64_t nb = n / (XP_IS_K(type) ? EDGE_QK_K : EDGE_QK); \
    const size_t rec = edge_packed_record_bytes(type); \
    const int sm = edge_stream_mode_get(type); \
    const int k = type == EDGE_TYPE_Q8_0 || type == EDGE_TYPE_IQ4_NL ? XP_Q8_K \
                : type == EDGE_TYPE_Q4_0 ? 8 : type == EDGE_TYPE_Q5_0 ? 16 : 0; \
    int32_t corr[XP_TOKS][k ? nb : 1]; \
    for (int64_t c0 = 0; c0 < ncols; c0 += XP_TOKS) { \
        const int64_t cn = ncols - c0 < XP_TOKS ? ncols - c0 : XP_TOKS; \
        if (k) \
            for (int64_t t = 0; t < cn; t++) xp_corr((const edge_block_q8_0 *)((const char *)A + (size_t)(c0 + t) * arb), nb, k, corr[t]); \
        for (int64_t g = r0 / EDGE_PACK_ROWS; g < r1 / EDGE_PACK_ROWS; g++) { \
            const char *w = (const char *)P + (size_t)g * (size_t)nb * rec; \
            for (int64_t t0 = 0; t0 < cn; t0 += XP_T) { \
                const int nt = cn - t0 < XP_T ? (int)(cn - t0) : XP_T; \
                const void *a[XP_T]; \
                const int32_t *cr[XP_T]; \
                for (int t = 0; t < XP_T; t++) { \
                    const int64_t tt = t0 + (t < nt ? t : 0); \
                    a[t] = (const char *)A + (size_t)(c0 + tt) * arb; \
                    cr[t] = corr[tt]; \
                } \
                float *y = Y + (c0 + t0) * ys + g * EDGE_PACK_ROWS; \
                switch (type * 8 + nt) {  /* a constant token count per instance of each kernel */ \
                XP_CASES(1) XP_CASES(2) XP_CASES(3) XP_CASES(4) \
                default: break; \
                } \
            } \
        } \
    } \
}

#define XP_CASE(T, NT, call) case T * 8 + NT: call; break;

#define XP_CASES(NT)                                                                                                  \
                XP_CASE(EDGE_TYPE_Q8_0, NT, xp_group_q8_0(nb, (const edge_x16_q8_0 *)w, (const edge_block_q8_0 *const *)a, cr, NT, y, ys)) \
                XP_CASE(EDGE_TYPE_Q4_0, NT, xp_group_q4(0, nb, w, a, cr, NT, y, ys))                                   \
                XP_CASE(EDGE_TYPE_Q4_1, NT, xp_group_q4(1, nb, w, a, cr, NT, y, ys))                                   \
                XP_CASE(EDGE_TYPE_Q5_0, NT, xp_group_q4(2, nb, w, a, cr, NT, y, ys))                                   \
                XP_CASE(EDGE_TYPE_Q4_K, NT, xp_group_q45_K(0, nb, w, (const edge_block_q8_K *const *)a, NT, y, ys, sm))
XP_DEFINE_DRIVER(xp_matmul_a)
#undef XP_CASES
#define XP_CASES(NT)                                                                                                  \
                XP_CASE(EDGE_TYPE_Q5_1, NT, xp_group_q4(3, nb, w, a, cr, NT, y, ys))                                   \
                XP_CASE(EDGE_TYPE_Q5_K, NT, xp_group_q45_K(1, nb, w, (const edge_block_q8_K *const *)a, NT, y, ys, sm))    \
                XP_CASE(EDGE_TYPE_Q6_K, NT, xp_group_q6_K(nb, (const edge_x16_q6_K *)w, (const edge_block_q8_K *const *)a, NT, y, ys, sm)) \
                XP_CASE(EDGE_TYPE_IQ4_NL, NT, xp_group_iq4_nl(nb, (const edge_x16_iq4_nl *)w, (const edge_block_q8_0 *const *)a, cr, NT, y, ys)) \
                XP_CASE(EDGE_TYPE_IQ4_XS, NT, xp_group_iq4_xs(nb, (const edge_x16_iq4_xs *)w, (const edge_block_q8_K *const *)a, NT, y, ys, sm)) \
                XP_CASE(EDGE_TYPE_Q2_K, NT, xp_group_q23_K(0, nb, w, (const edge_block_q8_K *const *)a, NT, y, ys, sm))    \
                XP_CASE(EDGE_TYPE_Q3_K, NT, xp_group_q23_K(1, nb, w, (const edge_block_q8_K *const *)a, NT, y, ys, sm))
XP_DEFINE_DRIVER(xp_matmul_b)
#undef XP_CASES
#undef XP_CASE

#define XP_ENTRY(name, driver, type)                                                                     \
    __attribute__((target(EDGE_X86_TARGET)))                                                             \
    static void name(int64_t n, const void *P, int64_t r0, int64_t r1, const void *A, size_t arb,         \
                     int64_t ncols, float *Y, int64_t ys) {                                               \
        driver(type, n, P, r0, r1, A, arb, ncols, Y, ys);                                                \
    }
XP_ENTRY(xp_matmul_q8_0, xp_matmul_a, EDGE_TYPE_Q8_0)
XP_ENTRY(xp_matmul_q4_0, xp_matmul_a, EDGE_TYPE_Q4_0)
XP_ENTRY(xp_matmul_q4_1, xp_matmul_a, EDGE_TYPE_Q4_1)
XP_ENTRY(xp_matmul_q5_0, xp_matmul_a, EDGE_TYPE_Q5_0)
XP_ENTRY(xp_matmul_q4_K, xp_matmul_a, EDGE_TYPE_Q4_K)
XP_ENTRY(xp_matmul_q5_1, xp_matmul_b, EDGE_TYPE_Q5_1)
XP_ENTRY(xp_matmul_q5_K, xp_matmul_b, EDGE_TYPE_Q5_K)
XP_ENTRY(xp_matmul_q6_K, xp_matmul_b, EDGE_TYPE_Q6_K)
XP_ENTRY(xp_matmul_q2_K, xp_matmul_b, EDGE_TYPE_Q2_K)
XP_ENTRY(xp_matmul_q3_K, xp_matmul_b, EDGE_TYPE_Q3_K)
XP_ENTRY(xp_matmul_iq4_nl, xp_matmul_b, EDGE_TYPE_IQ4_NL)
XP_ENTRY(xp_matmul_iq4_xs, xp_matmul_b, EDGE_TYPE_IQ4_XS)

static void edge_x86_packed_register(edge_kernel_table *t) {
    t->packed[EDGE_TYPE_Q8_0] = xp_matmul_q8_0;
    t->packed[EDGE_TYPE_Q4_0] = xp_matmul_q4_0;
    t->packed[EDGE_TYPE_Q4_1] = xp_matmul_q4_1;
    t->packed[EDGE_TYPE_Q5_0] = xp_matmul_q5_0;
    t->packed[EDGE_TYPE_Q5_1] = xp_matmul_q5_1;
    t->packed[EDGE_TYPE_Q4_K] = xp_matmul_q4_K;
    t->packed[EDGE_TYPE_Q5_K] = xp_matmul_q5_K;
    t->packed[EDGE_TYPE_Q6_K] = xp_matmul_q6_K;
    t->packed[EDGE_TYPE_Q2_K] = xp_matmul_q2_K;
    t->packed[EDGE_TYPE_Q3_K] = xp_matmul_q3_K;
    t->packed[EDGE_TYPE_IQ4_NL] = xp_matmul_iq4_nl;
    t->packed[EDGE_TYPE_IQ4_XS] = xp_matmul_iq4_xs;
}
