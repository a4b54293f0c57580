// edge_sparse.c — neuron-major W_down and the sparse feed-forward ops (edge_sparse.h).
//
// Layout of the neuron-major copy of a (rows, cols) W_down: tiles of 64 rows (the last padded with
// zero weights and scales), each tile contiguous and 64-byte aligned:
//   q    int8  [cols][64]        the tile's slice of column i of W_down (neuron i): one cache line
//   sc   int16 [cols / S][64]    sub-block scales (K types)
//   mn   int16 [cols / S][64]    sub-block mins (Q4_K, Q5_K)
//   d    float [cols / B][64]    block scales
//   dmin float [cols / B][64]    block mins (Q4_K, Q5_K)
// A thread takes whole tiles; inside one, the active neurons' lines are read in address order,
// each prefetched SD_AHEAD active neurons ahead, and the tile's 64 integer sums stay in registers.
// Float combination is kept unfused (no FMA contraction) to match the scalar reference.
#pragma clang fp contract(off)
#include "edge_sparse.h"
#include "edge_quant.h"
#include "edge_packed.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include <stdatomic.h>

typedef struct { int block, sub, has_sc, has_mn; } sd_shape;

static int sd_shape_of(int type, sd_shape *s) {
    switch (type) {
    case EDGE_TYPE_Q8_0: case EDGE_TYPE_Q4_0: case EDGE_TYPE_Q5_0: *s = (sd_shape){ 32, 32, 0, 0 }; return 0;
    case EDGE_TYPE_Q4_K: case EDGE_TYPE_Q5_K: *s = (sd_shape){ 256, 32, 1, 1 }; return 0;
    case EDGE_TYPE_Q6_K: *s = (sd_shape){ 256, 16, 1, 0 }; return 0;
    default: return -1;
    }
}

#define SD_TILE 64   // rows per tile: one cache line of int8 per neuron

typedef struct { size_t q, sc, mn, d, dmin, tile; int64_t tiles; } sd_offsets;

// Offsets inside one tile, the tile's size, and the number of tiles.
static sd_offsets sd_layout(const sd_shape *s, int64_t rows, int64_t cols) {
    sd_offsets o;
    const size_t nsub = (size_t)(cols / s->sub), nblk = (size_t)(cols / s->block);
    o.q = 0;
    o.sc = (size_t)cols * SD_TILE;
    o.mn = o.sc + (s->has_sc ? nsub * SD_TILE * 2 : 0);
    o.d = o.mn + (s->has_mn ? nsub * SD_TILE * 2 : 0);
    o.dmin = o.d + nblk * SD_TILE * 4;
    o.tile = o.dmin + (s->has_mn ? nblk * SD_TILE * 4 : 0);
    o.tiles = (rows + SD_TILE - 1) / SD_TILE;
    return o;
}

int edge_sparse_down_supported(int type, int64_t rows, int64_t cols) {
    sd_shape s;
    return sd_shape_of(type, &s) == 0 && rows > 0 && rows % 16 == 0 && cols > 0 && cols % s.block == 0;
}

size_t edge_sparse_down_bytes(int type, int64_t rows, int64_t cols) {
    sd_shape s;
    if (!edge_sparse_down_supported(type, rows, cols)) return 0;
    (void)sd_shape_of(type, &s);
    const sd_offsets o = sd_layout(&s, rows, cols);
    return o.tile * (size_t)o.tiles;
}

int edge_sparse_down_build(int type, int64_t rows, int64_t cols, const void *W, size_t wrb, void *dst) {
    sd_shape s;
    if (!edge_sparse_down_supported(type, rows, cols)) return -1;
    (void)sd_shape_of(type, &s);
    const sd_offsets o = sd_layout(&s, rows, cols);
    memset(dst, 0, o.tile * (size_t)o.tiles);
    const int64_t nblk = cols / s.block, per = s.block / s.sub;
    const size_t bbytes = edge_type_block_bytes(type);
    int8_t bq[256];
    int16_t bsc[16], bmn[16];
    for (int64_t r = 0; r < rows; r++) {
        char *tile = (char *)dst + (size_t)(r / SD_TILE) * o.tile;
        const size_t lane = (size_t)(r % SD_TILE);
        int8_t *q = (int8_t *)(tile + o.q);
        int16_t *sc = (int16_t *)(tile + o.sc), *mn = (int16_t *)(tile + o.mn);
        float *d = (float *)(tile + o.d), *dmin = (float *)(tile + o.dmin);
        const char *row = (const char *)W + (size_t)r * wrb;
        for (int64_t b = 0; b < nblk; b++) {
            float bd = 0, bdm = 0;
            if (edge_block_integers(type, row + (size_t)b * bbytes, bq, bsc, bmn, &bd, &bdm) != 0) return -1;
            for (int j = 0; j < s.block; j++) q[(size_t)(b * s.block + j) * SD_TILE + lane] = bq[j];
            for (int j = 0; j < per; j++) {
                const size_t at = (size_t)(b * per + j) * SD_TILE + lane;
                if (s.has_sc) sc[at] = bsc[j];
                if (s.has_mn) mn[at] = bmn[j];
            }
            d[(size_t)b * SD_TILE + lane] = bd;
            if (s.has_mn) dmin[(size_t)b * SD_TILE + lane] = bdm;
        }
    }
    return 0;
}

// ---- the product ----

typedef struct {
    sd_shape s; int64_t rows, cols; sd_offsets o;
    const char *T;
    const int8_t *qa;         // [cols] activation integers
    const float *da;          // [cols / B] activation block scales
    const int32_t *act;       // active neurons (qa != 0), ascending
    const int32_t *sub_first; // [cols / S + 1] ranges of act per sub-block
    const int32_t *bsum;      // [cols / S] sum of qa per sub-block
    int32_t nact;             // active neurons in all
    float *Y;
} sd_ctx;

// Active neurons ahead whose line of the tile is prefetched: with gaps between the lines the
// hardware prefetcher stops following them (measured: 8-24 ahead read 4.5-5.1 GB/s at 40% density,
// 2 ahead 3.7 GB/s, one thread, 1B-shaped W_down).
#define SD_AHEAD 16

// t[r] = sum over active neurons k0..k1 of qa[i] * q[i][r], r < 64: the portable loop.
static inline void sd_column_sums_c(const sd_ctx *c, const int8_t *q, int32_t k0, int32_t k1, int32_t *t) {
    for (int r = 0; r < SD_TILE; r++) t[r] = 0;
    for (int32_t k = k0; k < k1; k++) {
        const int32_t i = c->act[k], v = c->qa[i];
        const int8_t *col = q + (size_t)i * SD_TILE;
        if (k + SD_AHEAD < c->nact) __builtin_prefetch(q + (size_t)c->act[k + SD_AHEAD] * SD_TILE, 0, 3);
        for (int r = 0; r < SD_TILE; r++) t[r] += v * (int32_t)col[r];
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static inline void sd_column_sums_avx512(const sd_ctx *c, const int8_t *q, int32_t k0, int32_t k1, int32_t *t) {
    __m512i t0 = _mm512_setzero_si512(), t1 = t0, t2 = t0, t3 = t0;
    for (int32_t k = k0; k < k1; k++) {
        const int32_t i = c->act[k];
        const __m512i v = _mm512_set1_epi32(c->qa[i]);
        const int8_t *col = q + (size_t)i * SD_TILE;
        if (k + SD_AHEAD < c->nact) _mm_prefetch((const char *)(q + (size_t)c->act[k + SD_AHEAD] * SD_TILE), _MM_HINT_T0);
        t0 = _mm512_add_epi32(t0, _mm512_mullo_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)col)), v));
        t1 = _mm512_add_epi32(t1, _mm512_mullo_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(col + 16))), v));
        t2 = _mm512_add_epi32(t2, _mm512_mullo_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(col + 32))), v));
        t3 = _mm512_add_epi32(t3, _mm512_mullo_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(col + 48))), v));
    }
    _mm512_storeu_si512(t, t0);
    _mm512_storeu_si512(t + 16, t1);
    _mm512_storeu_si512(t + 32, t2);
    _mm512_storeu_si512(t + 48, t3);
}

// One tile: the integer sums per sub-block, then per block the float combination in the order of
// edge_vec_dot_ref (blocks without an active neuron add exactly zero there, and are skipped).
#define SD_TILE_BODY(COLUMN_SUMS)                                                                    \
    const sd_ctx *c = vctx;                                                                          \
    const int64_t per = c->s.block / c->s.sub, nblk = c->cols / c->s.block;                         \
    for (int64_t tl = b; tl < e; tl++) {                                                             \
        const char *tile = c->T + (size_t)tl * c->o.tile;                                            \
        const int8_t *q = (const int8_t *)(tile + c->o.q);                                           \
        float acc[SD_TILE];                                                                          \
        int32_t sumi[SD_TILE], summ[SD_TILE], t[SD_TILE];                                            \
        for (int r = 0; r < SD_TILE; r++) acc[r] = 0.0f;                                             \
        for (int64_t bl = 0; bl < nblk; bl++) {                                                      \
            const int64_t s0 = bl * per;                                                             \
            if (c->sub_first[s0] == c->sub_first[s0 + per]) continue;                                \
            for (int r = 0; r < SD_TILE; r++) { sumi[r] = 0; summ[r] = 0; }                          \
            for (int64_t s = s0; s < s0 + per; s++) {                                                \
                const int32_t k0 = c->sub_first[s], k1 = c->sub_first[s + 1];                        \
                if (k0 == k1) continue;                                                              \
                COLUMN_SUMS(c, q, k0, k1, t);                                                        \
                if (c->s.has_sc) {                                                                   \
                    const int16_t *scs = (const int16_t *)(tile + c->o.sc) + (size_t)s * SD_TILE;    \
                    for (int r = 0; r < SD_TILE; r++) sumi[r] += (int32_t)scs[r] * t[r];             \
                } else {                                                                             \
                    for (int r = 0; r < SD_TILE; r++) sumi[r] += t[r];                               \
                }                                                                                    \
                if (c->s.has_mn) {                                                                   \
                    const int16_t *mns = (const int16_t *)(tile + c->o.mn) + (size_t)s * SD_TILE;    \
                    const int32_t bs = c->bsum[s];                                                   \
                    for (int r = 0; r < SD_TILE; r++) summ[r] += (int32_t)mns[r] * bs;               \
                }                                                                                    \
            }                                                                                        \
            const float da = c->da[bl];                                                              \
            const float *dd = (const float *)(tile + c->o.d) + (size_t)bl * SD_TILE;                 \
            if (c->s.has_mn) {                                                                       \
                const float *dm = (const float *)(tile + c->o.dmin) + (size_t)bl * SD_TILE;          \
                for (int r = 0; r < SD_TILE; r++)                                                    \
                    acc[r] += (dd[r] * da) * (float)sumi[r] - (dm[r] * da) * (float)summ[r];         \
            } else {                                                                                 \
                for (int r = 0; r < SD_TILE; r++) acc[r] += (dd[r] * da) * (float)sumi[r];           \
            }                                                                                        \
        }                                                                                            \
        const int64_t r0 = tl * SD_TILE, n = c->rows - r0 < SD_TILE ? c->rows - r0 : SD_TILE;        \
        for (int64_t r = 0; r < n; r++) c->Y[r0 + r] = acc[r];                                       \
    }

static void sd_range_scalar(void *vctx, int64_t b, int64_t e, int tid) { (void)tid; SD_TILE_BODY(sd_column_sums_c) }
__attribute__((target("avx2")))
static void sd_range_avx2(void *vctx, int64_t b, int64_t e, int tid) { (void)tid; SD_TILE_BODY(sd_column_sums_c) }
__attribute__((target("avx512f,avx512bw,avx512vl")))
static void sd_range_avx512(void *vctx, int64_t b, int64_t e, int tid) { (void)tid; SD_TILE_BODY(sd_column_sums_avx512) }

void edge_op_sparse_down(edge_pool *pool, int type, int64_t rows, int64_t cols, const void *T, const void *a, float *Y) {
    sd_shape s;
    if (!edge_sparse_down_supported(type, rows, cols)) return;
    (void)sd_shape_of(type, &s);
    const sd_offsets o = sd_layout(&s, rows, cols);
    const int64_t nsub = cols / s.sub, nblk = cols / s.block;
    // The activation row's integers and scales, and the active neurons per sub-block: one
    // allocation, 32-bit sections first.
    char *scratch = malloc((size_t)cols * 4 + (size_t)(2 * nsub + 1) * 4 + (size_t)nblk * 4 + (size_t)cols);
    if (!scratch) return;
    int32_t *act = (int32_t *)scratch, *first = act + cols, *bsum = first + nsub + 1;
    float *da = (float *)(bsum + nsub);
    int8_t *qa = (int8_t *)(da + nblk);
    if (s.block == EDGE_QK) {
        const edge_block_q8_0 *ab = a;
        for (int64_t bl = 0; bl < nblk; bl++) {
            memcpy(qa + bl * EDGE_QK, ab[bl].qs, EDGE_QK);
            da[bl] = edge_f16_to_f32(ab[bl].d);
        }
    } else {
        const edge_block_q8_K *ab = a;
        for (int64_t bl = 0; bl < nblk; bl++) {
            memcpy(qa + bl * EDGE_QK_K, ab[bl].qs, EDGE_QK_K);
            da[bl] = ab[bl].d;
        }
    }
    int32_t n = 0;
    for (int64_t sb = 0; sb < nsub; sb++) {
        first[sb] = n;
        int32_t sum = 0;
        for (int64_t j = sb * s.sub; j < (sb + 1) * s.sub; j++) {
            if (qa[j] != 0) act[n++] = (int32_t)j;
            sum += qa[j];
        }
        bsum[sb] = sum;
    }
    first[nsub] = n;
    sd_ctx c = { s, rows, cols, o, T, qa, da, act, first, bsum, n, Y };
    const int isa = edge_isa_current();
    const edge_range_fn fn = isa == EDGE_ISA_AVX512 ? sd_range_avx512 : isa == EDGE_ISA_AVX2 ? sd_range_avx2 : sd_range_scalar;
    edge_pool_for(pool, o.tiles, 1, fn, &c);
    free(scratch);
}

// ---- gathered rows ----

static _Atomic int sparse_exact = 0;

int edge_sparse_exact_set(int on) {
    const int was = atomic_load(&sparse_exact);
    atomic_store(&sparse_exact, on ? 1 : 0);
    return was;
}

typedef struct { int wt; int64_t n; const char *W; size_t wrb; const int32_t *idx; const void *a; float *Y; } mg_ctx;

static void mg_range(void *vctx, int64_t b, int64_t e, int tid) {  // b, e: positions in idx
    (void)tid;
    const mg_ctx *c = vctx;
    if (atomic_load_explicit(&sparse_exact, memory_order_relaxed) && edge_packed_used(c->wt) && edge_matvec_gather_via_packed(c->wt, c->n, c->W, c->wrb, c->idx + b, e - b, c->a, c->Y) == 0)
        return;
    // (Prefetching rows ahead was tried, 1-16 rows: no change at 40% density.)
    for (int64_t k = b; k < e; k++) c->Y[c->idx[k]] = edge_vec_dot(c->wt, c->n, c->W + (size_t)c->idx[k] * c->wrb, c->a);
}

void edge_op_matvec_gather(edge_pool *pool, int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                           const int32_t *idx, int64_t count, const void *a, float *Y) {
    if (count <= 0) return;
    mg_ctx c = { weight_type, n, W, w_row_bytes, idx, a, Y };
    const int nth = edge_pool_threads(pool);
    int64_t chunk = count / (4 * (int64_t)nth);
    chunk = (chunk + 15) / 16 * 16;
    if (chunk < 16) chunk = 16;
    edge_pool_for(pool, count, chunk, mg_range, &c);
}

// ---- selection ----

float edge_sparse_score(float g) { return fabsf(g / (1.0f + expf(-g))); }

int64_t edge_sparse_select(const float *gate, int64_t n, float tau, int32_t *idx) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) if (edge_sparse_score(gate[i]) >= tau) idx[k++] = (int32_t)i;
    return k;
}

int64_t edge_sparse_mask(const float *gate, float *up, int64_t n, float tau) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (edge_sparse_score(gate[i]) >= tau) k++;
        else up[i] = 0.0f;
    }
    return k;
}

// ---- calibration ----

void edge_sparse_histogram(const float *gate, int64_t rows, int64_t width, float lowest, int per_decade, int64_t bins,
                           int64_t *hist, double *sums) {
    for (int64_t t = 0; t < rows; t++) {
        const float *g = gate + t * width;
        for (int64_t i = 0; i < width; i++) {
            const float s = edge_sparse_score(g[i]);
            int64_t b = 0;
            if (s >= lowest) {
                b = (int64_t)floorf(log10f(s / lowest) * (float)per_decade) + 1;
                if (b > bins - 1) b = bins - 1;
            }
            hist[b]++;
            sums[i] += (double)s;
        }
    }
}

void edge_sparse_fire_count(const float *gate, int64_t rows, int64_t width, float tau, int64_t *counts) {
    for (int64_t t = 0; t < rows; t++) {
        const float *g = gate + t * width;
        for (int64_t i = 0; i < width; i++) counts[i] += edge_sparse_score(g[i]) >= tau;
    }
}
