// edge_ops.c — see edge_ops.h.
#include "edge_ops.h"
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <pthread.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// ---------------------------------------------------------------- rmsnorm

typedef struct { const float *x, *w; float *out; int64_t n; float eps; } rms_ctx;

static void rms_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const rms_ctx *c = vctx;
    for (int64_t t = b; t < e; t++) {
        const float *x = c->x + t * c->n;
        float *o = c->out + t * c->n;
        double sum = 0.0;
        for (int64_t i = 0; i < c->n; i++) sum += (double)(x[i] * x[i]);
        const float mean = (float)(sum / (double)c->n);
        const float scale = 1.0f / sqrtf(mean + c->eps);
        for (int64_t i = 0; i < c->n; i++) o[i] = (x[i] * scale) * c->w[i];
    }
}

void edge_op_rmsnorm(edge_pool *pool, const float *x, const float *w, float *out,
                     int64_t ntok, int64_t n, float eps) {
    rms_ctx c = { x, w, out, n, eps };
    edge_pool_for(pool, ntok, 1, rms_range, &c);
}

// ---------------------------------------------------------------- quantize

typedef struct { int act; const float *x; int64_t n; char *out; size_t row; } q_ctx;

static void q_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const q_ctx *c = vctx;
    for (int64_t t = b; t < e; t++) edge_quantize_act(c->act, c->x + t * c->n, c->out + (size_t)t * c->row, c->n);
}

void edge_op_quantize(edge_pool *pool, int weight_type, const float *x, int64_t ntok, int64_t n, void *out) {
    q_ctx c = { edge_vec_dot_type(weight_type), x, n, out, edge_act_row_bytes(weight_type, n) };
    edge_pool_for(pool, ntok, 1, q_range, &c);
}

// ---------------------------------------------------------------- matmul

typedef struct {
    int wt; int64_t n; const char *W; size_t wrb; const void *A; size_t arb; int64_t ntok;
    float *Y; int64_t ys;
} mm_ctx;

// The most weight bytes in one chunk of a matrix product: ~15-30 us of a core's bandwidth, so that
// a worker's chunks stay far shorter than the scheduler's time slices (edge_pool.c tells a chunk
// from a preemption by length) and a slow or preempted thread holds back little of a region.
#define EDGE_OPS_CHUNK_BYTES ((size_t)512 * 1024)

static void mm_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const mm_ctx *c = vctx;
    // Types with an x16 layout go through the packed kernels, so that file-layout pieces (mapped
    // without repacking, resident or streamed) give the bits of a matrix repacked at load.
    if (edge_packed_used(c->wt) &&
        edge_matmul_via_packed(c->wt, c->n, c->W, c->wrb, b, e, c->A, c->arb, c->ntok, c->Y, c->ys) == 0) return;
    if (c->ntok == 1) edge_matvec(c->wt, c->n, c->W, c->wrb, b, e, c->A, c->Y + b);
    else edge_matmul(c->wt, c->n, c->W, c->wrb, b, e, c->A, c->arb, c->ntok, c->Y, c->ys);
}

void edge_op_matmul(edge_pool *pool, int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                    int64_t rows, const void *A, size_t a_row_bytes, int64_t ntok,
                    float *Y, int64_t y_stride) {
    mm_ctx c = { weight_type, n, W, w_row_bytes, A, a_row_bytes, ntok, Y, y_stride };
    // Chunks of rows: small enough that a slow core takes fewer of them, large enough to amortise
    // the atomic hand-out (16 rows of a 576-wide Q8_0 matrix are ~10 KB of weights).
    const int nth = edge_pool_threads(pool);
    int64_t chunk = rows / (8 * (int64_t)nth);
    if (chunk < 16) chunk = 16;
    if (ntok > 1 && chunk > 64) chunk = 64;
    // At most EDGE_OPS_CHUNK_BYTES of weights per chunk (a 128K-vocabulary output matrix would
    // otherwise give chunks of tens of MB): see edge_pool.c, EDGE_POOL_GAP_NS.
    const int64_t most = (int64_t)(EDGE_OPS_CHUNK_BYTES / (w_row_bytes ? w_row_bytes : 1));
    if (chunk > most) chunk = most > 16 ? most : 16;
    if (edge_packed_used(weight_type)) chunk = (chunk + EDGE_PACK_ROWS - 1) / EDGE_PACK_ROWS * EDGE_PACK_ROWS;  // whole groups
    edge_pool_for(pool, rows, chunk, mm_range, &c);
}

typedef struct {
    int wt; int64_t n; const void *P; const void *A; size_t arb; int64_t ntok; float *Y; int64_t ys;
} mmp_ctx;

static void mmp_range(void *vctx, int64_t b, int64_t e, int tid) {  // b, e: 16-row groups
    (void)tid;
    const mmp_ctx *c = vctx;
    edge_packed_matmul(c->wt, c->n, c->P, b * EDGE_PACK_ROWS, e * EDGE_PACK_ROWS, c->A, c->arb, c->ntok, c->Y, c->ys);
}

void edge_op_matmul_packed(edge_pool *pool, int weight_type, int64_t n, const void *P, int64_t rows,
                           const void *A, size_t a_row_bytes, int64_t ntok, float *Y, int64_t y_stride) {
    mmp_ctx c = { weight_type, n, P, A, a_row_bytes, ntok, Y, y_stride };
    // Chunks of groups, as edge_op_matmul's chunks of rows: about 8 per thread, at least one group
    // (16 rows), at most 4 groups (64 rows) when a prompt makes each group expensive.
    const int64_t groups = rows / EDGE_PACK_ROWS;
    const int nth = edge_pool_threads(pool);
    int64_t chunk = groups / (8 * (int64_t)nth);
    if (chunk < 1) chunk = 1;
    if (ntok > 1 && chunk > 4) chunk = 4;
    const size_t group_bytes = edge_packed_bytes(weight_type, EDGE_PACK_ROWS, n);
    const int64_t most = (int64_t)(EDGE_OPS_CHUNK_BYTES / (group_bytes ? group_bytes : 1));
    if (chunk > most) chunk = most > 1 ? most : 1;
    edge_pool_for(pool, groups, chunk, mmp_range, &c);
}

typedef struct { int wt; int64_t n; const char *W; size_t wrb; const float *x; int64_t ntok; float *Y; int64_t ys; } mmf_ctx;

// Dot product in F32 with 16 partial sums (vectorisable without reassociation flags).
static float dot_f32(const float *a, const float *b, int64_t n) {
    float acc[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += a[i + k] * b[i + k];
    float s = 0.0f;
    for (int k = 0; k < 16; k++) s += acc[k];
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static void mmf_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const mmf_ctx *c = vctx;
    float *row = malloc(sizeof(float) * (size_t)c->n);  // one row, per chunk
    if (!row) return;
    for (int64_t r = b; r < e; r++) {
        edge_dequantize_row_ref(c->wt, c->W + (size_t)r * c->wrb, row, c->n);
        for (int64_t t = 0; t < c->ntok; t++) c->Y[t * c->ys + r] = dot_f32(row, c->x + t * c->n, c->n);
    }
    free(row);
}

void edge_op_matmul_f32(edge_pool *pool, int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                        int64_t rows, const float *x, int64_t ntok, float *Y, int64_t y_stride) {
    mmf_ctx c = { weight_type, n, W, w_row_bytes, x, ntok, Y, y_stride };
    edge_pool_for(pool, rows, 16, mmf_range, &c);
}

// ---------------------------------------------------------------- rope

typedef struct {
    float *x; int nhead, hd, n_rot; const int32_t *pos; float base, fs; const float *ff; int neox;
} rope_ctx;

static void rope_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const rope_ctx *c = vctx;
    float cache[2 * 512];  // cos/sin per pair; n_rot <= head size <= 512 (ModelConfig checks)
    const float theta_scale = powf(c->base, -2.0f / (float)c->n_rot);
    for (int64_t t = b; t < e; t++) {
        float theta = (float)c->pos[t];
        for (int i0 = 0; i0 < c->n_rot; i0 += 2) {
            const float ff = c->ff ? c->ff[i0 / 2] : 1.0f;
            const float th = c->fs * (theta / ff);
            cache[i0] = cosf(th);
            cache[i0 + 1] = sinf(th);
            theta *= theta_scale;
        }
        for (int h = 0; h < c->nhead; h++) {
            float *x = c->x + (t * c->nhead + h) * (int64_t)c->hd;
            if (!c->neox) {
                for (int i0 = 0; i0 < c->n_rot; i0 += 2) {
                    const float cs = cache[i0], sn = cache[i0 + 1];
                    const float x0 = x[i0], x1 = x[i0 + 1];
                    x[i0] = x0 * cs - x1 * sn;
                    x[i0 + 1] = x0 * sn + x1 * cs;
                }
            } else {
                const int half = c->n_rot / 2;
                for (int i0 = 0; i0 < c->n_rot; i0 += 2) {
                    const float cs = cache[i0], sn = cache[i0 + 1];
                    const int i = i0 / 2;
                    const float x0 = x[i], x1 = x[i + half];
                    x[i] = x0 * cs - x1 * sn;
                    x[i + half] = x0 * sn + x1 * cs;
                }
            }
        }
    }
}

void edge_op_rope(edge_pool *pool, float *x, int64_t ntok, int nhead, int hd, int n_rot,
                  const int32_t *pos, float base, float freq_scale, const float *freq_factors, int neox) {
    rope_ctx c = { x, nhead, hd, n_rot, pos, base, freq_scale, freq_factors, neox };
    edge_pool_for(pool, ntok, 1, rope_range, &c);
}

// ---------------------------------------------------------------- kv store

typedef struct { const float *k, *v; int64_t d; const int32_t *pos; edge_f16 *kc, *vc; int64_t cap; } kv_ctx;

static void kv_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const kv_ctx *c = vctx;
    for (int64_t t = b; t < e; t++) {
        const int64_t slot = (int64_t)c->pos[t] % c->cap;
        edge_f16 *kd = c->kc + slot * c->d, *vd = c->vc + slot * c->d;
        const float *ks = c->k + t * c->d, *vs = c->v + t * c->d;
        for (int64_t i = 0; i < c->d; i++) { kd[i] = edge_f32_to_f16(ks[i]); vd[i] = edge_f32_to_f16(vs[i]); }
    }
}

void edge_op_store_kv(edge_pool *pool, const float *k, const float *v, int64_t ntok, int64_t kv_dim,
                      const int32_t *pos, edge_f16 *kc, edge_f16 *vc, int64_t cap) {
    kv_ctx c = { k, v, kv_dim, pos, kc, vc, cap };
    edge_pool_for(pool, ntok, 4, kv_range, &c);
}

// ---------------------------------------------------------------- attention

#define EDGE_MAX_HEAD_DIM 512

typedef struct {
    const float *q; const edge_f16 *kc, *vc; const int32_t *pos;
    int n_head, n_kv, hd; float scale; float *out;
    int64_t cap; int64_t window; float softcap;   // scale is divided by softcap when there is one
    int f32;                                      // Q and the V accumulator in F32 (else F16)
} attn_ctx;

// The first position query position `last` sees: all of them, or the last `window`.
static inline int64_t attn_first(const attn_ctx *c, int64_t last) {
    return c->window > 0 && last >= c->window ? last - c->window + 1 : 0;
}

// x rounded to F16 and back (the F16 forms keep Q and the V accumulator at that precision).
static inline float attn_f16r(float x) { return edge_f16_to_f32(edge_f32_to_f16(x)); }

// One (token, head): the scalar form, which the SIMD forms must match. In the F16 form Q is
// rounded to F16 and the V accumulator is rounded after every update (ggml's one-query flash
// attention); in the F32 form neither is (its tiled prompt path).
static void attn_one_scalar(const attn_ctx *c, int64_t t, int h) {
    const int hd = c->hd, group = c->n_head / c->n_kv, kvh = h / group, f32 = c->f32;
    const int64_t kv_stride = (int64_t)c->n_kv * hd;
    const float *q = c->q + (t * c->n_head + h) * (int64_t)hd;
    float qr[EDGE_MAX_HEAD_DIM], acc[EDGE_MAX_HEAD_DIM];
    for (int d = 0; d < hd; d++) { qr[d] = f32 ? q[d] : attn_f16r(q[d]); acc[d] = 0.0f; }
    float S = 0.0f, M = -INFINITY;
    const int64_t last = c->pos[t];
    const int64_t first = attn_first(c, last);
    int64_t slot = first % c->cap;
    for (int64_t j = first; j <= last; j++, slot = slot + 1 == c->cap ? 0 : slot + 1) {
        const edge_f16 *k = c->kc + slot * kv_stride + (int64_t)kvh * hd;
        const edge_f16 *v = c->vc + slot * kv_stride + (int64_t)kvh * hd;
        float s = 0.0f;
        for (int d = 0; d < hd; d++) s += edge_f16_to_f32(k[d]) * qr[d];
        s *= c->scale;
        if (c->softcap != 0.0f) s = c->softcap * tanhf(s);
        const float Mold = M;
        float ms = 1.0f, vs = 1.0f;
        if (s > M) {
            M = s;
            ms = expf(Mold - M);
            for (int d = 0; d < hd; d++) acc[d] = f32 ? acc[d] * ms : attn_f16r(acc[d] * ms);
        } else {
            vs = expf(s - M);
        }
        for (int d = 0; d < hd; d++) {
            const float a = fmaf(edge_f16_to_f32(v[d]), vs, acc[d]);
            acc[d] = f32 ? a : attn_f16r(a);
        }
        S = S * ms + vs;
    }
    float *o = c->out + (t * c->n_head + h) * (int64_t)hd;
    const float inv = S == 0.0f ? 0.0f : 1.0f / S;
    for (int d = 0; d < hd; d++) o[d] = acc[d] * inv;
}

#if defined(__x86_64__)
// Same arithmetic with F16C/FMA 8-lane vectors (hd a multiple of 8). The conversions are exact
// RNE like the scalar ones; only the K·Q summation order differs. The F16 form rounds every
// accumulator update to F16, as the scalar form does.
// S * ms + vs with one rounding, spelled out (a plain `S * ms + vs` is contracted at the
// compiler's choice), so attn_one_f16c and attn_group_f16c are the same arithmetic by construction.
__attribute__((target("avx2,fma,f16c")))
static inline float attn_fma_ss(float a, float b, float c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

__attribute__((target("avx2,fma,f16c")))
static inline __m256 attn_r8(__m256 x, const int f32) {
    return f32 ? x : _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

// The accumulators of the SIMD forms: kept as F16 vectors in the F16 form (half the registers
// and spill traffic of F32 ones) and as F32 vectors in the F32 form. Each kernel declares both
// arrays; with `f32` a constant of the inlined body, the unused one is optimized away.
#define ACC8_GET(a16, a32) (f32 ? (a32) : _mm256_cvtph_ps(a16))
#define ACC8_PUT(a16, a32, x) do { if (f32) (a32) = (x); else (a16) = _mm256_cvtps_ph((x), _MM_FROUND_TO_NEAREST_INT); } while (0)
#define ACC16_GET(a16, a32) (f32 ? (a32) : _mm512_cvtph_ps(a16))
#define ACC16_PUT(a16, a32, x) do { if (f32) (a32) = (x); else (a16) = _mm512_cvtps_ph((x), _MM_FROUND_TO_NEAREST_INT); } while (0)

// K·Q of one 8-lane product vector: the horizontal sum in a fixed order.
__attribute__((target("avx2,fma,f16c")))
static inline float attn_hsum8(__m256 sv) {
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(sv), _mm256_extractf128_ps(sv, 1));
    s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
    return _mm_cvtss_f32(s4);
}

__attribute__((target("avx2,fma,f16c")))
static inline __attribute__((always_inline)) void attn_one_f16c_impl(const attn_ctx *c, int64_t t, int h,
                                                             const int capped, const int f32) {
    const int hd = c->hd, group = c->n_head / c->n_kv, kvh = h / group;
    const int64_t kv_stride = (int64_t)c->n_kv * hd;
    const float *q = c->q + (t * c->n_head + h) * (int64_t)hd;
    __m256 qr[EDGE_MAX_HEAD_DIM / 8], acc32[EDGE_MAX_HEAD_DIM / 8];
    __m128i acc16[EDGE_MAX_HEAD_DIM / 8];
    const int nv = hd / 8;
    for (int i = 0; i < nv; i++) {
        qr[i] = attn_r8(_mm256_loadu_ps(q + 8 * i), f32);
        acc32[i] = _mm256_setzero_ps();
        acc16[i] = _mm_setzero_si128();
    }
    float S = 0.0f, M = -INFINITY;
    const int64_t last = c->pos[t];
    const int64_t first = attn_first(c, last);
    int64_t slot = first % c->cap;
    for (int64_t j = first; j <= last; j++, slot = slot + 1 == c->cap ? 0 : slot + 1) {
        const edge_f16 *k = c->kc + slot * kv_stride + (int64_t)kvh * hd;
        const edge_f16 *v = c->vc + slot * kv_stride + (int64_t)kvh * hd;
        __m256 sv = _mm256_setzero_ps();
        for (int i = 0; i < nv; i++)
            sv = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + 8 * i))), qr[i], sv);
        float s = attn_hsum8(sv) * c->scale;
        if (capped) s = c->softcap * tanhf(s);
        const float Mold = M;
        float ms = 1.0f, vs = 1.0f;
        if (s > M) {
            M = s;
            ms = expf(Mold - M);
            const __m256 msv = _mm256_set1_ps(ms);
            for (int i = 0; i < nv; i++) ACC8_PUT(acc16[i], acc32[i], _mm256_mul_ps(ACC8_GET(acc16[i], acc32[i]), msv));
        } else {
            vs = expf(s - M);
        }
        const __m256 vsv = _mm256_set1_ps(vs);
        for (int i = 0; i < nv; i++) {
            __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + 8 * i)));
            ACC8_PUT(acc16[i], acc32[i], _mm256_fmadd_ps(vv, vsv, ACC8_GET(acc16[i], acc32[i])));
        }
        S = attn_fma_ss(S, ms, vs);
    }
    float *o = c->out + (t * c->n_head + h) * (int64_t)hd;
    const __m256 inv = _mm256_set1_ps(S == 0.0f ? 0.0f : 1.0f / S);
    for (int i = 0; i < nv; i++) _mm256_storeu_ps(o + 8 * i, _mm256_mul_ps(ACC8_GET(acc16[i], acc32[i]), inv));
}

// attn_one_f16c_impl with the soft-cap test and the precision resolved once per call.
__attribute__((target("avx2,fma,f16c")))
static void attn_one_f16c(const attn_ctx *c, int64_t t, int h) {
    if (c->softcap != 0.0f) {
        if (c->f32) attn_one_f16c_impl(c, t, h, 1, 1); else attn_one_f16c_impl(c, t, h, 1, 0);
    } else {
        if (c->f32) attn_one_f16c_impl(c, t, h, 0, 1); else attn_one_f16c_impl(c, t, h, 0, 0);
    }
}

// Query heads per KV head that attn_group_f16c takes together.
#define EDGE_ATTN_MAX_GROUP 8

// All query heads of KV head kvh for token t, in lockstep over the keys: each head gets exactly
// attn_one_f16c's operations in the same order (its own M, S and accumulators), while the
// F16 -> F32 conversion of each K and V row is done once for the group and the heads' independent
// chains overlap. Requires group <= EDGE_ATTN_MAX_GROUP.
__attribute__((target("avx2,fma,f16c")))
static inline __attribute__((always_inline)) void attn_group_f16c_impl(const attn_ctx *c, int64_t t, int kvh,
                                                             const int capped, const int f32) {
    const int hd = c->hd, group = c->n_head / c->n_kv, nv = hd / 8;
    const int64_t kv_stride = (int64_t)c->n_kv * hd;
    __m256 qr[EDGE_ATTN_MAX_GROUP][EDGE_MAX_HEAD_DIM / 8];
    __m256 acc32[EDGE_ATTN_MAX_GROUP][EDGE_MAX_HEAD_DIM / 8];
    __m128i acc16[EDGE_ATTN_MAX_GROUP][EDGE_MAX_HEAD_DIM / 8];
    float S[EDGE_ATTN_MAX_GROUP], M[EDGE_ATTN_MAX_GROUP];
    for (int g = 0; g < group; g++) {
        const float *q = c->q + (t * c->n_head + kvh * group + g) * (int64_t)hd;
        for (int i = 0; i < nv; i++) {
            qr[g][i] = attn_r8(_mm256_loadu_ps(q + 8 * i), f32);
            acc32[g][i] = _mm256_setzero_ps();
            acc16[g][i] = _mm_setzero_si128();
        }
        S[g] = 0.0f;
        M[g] = -INFINITY;
    }
    const int64_t last = c->pos[t];
    __m256 kf[EDGE_MAX_HEAD_DIM / 8], vf[EDGE_MAX_HEAD_DIM / 8];
    const int64_t first = attn_first(c, last);
    int64_t slot = first % c->cap;
    for (int64_t j = first; j <= last; j++, slot = slot + 1 == c->cap ? 0 : slot + 1) {
        const edge_f16 *k = c->kc + slot * kv_stride + (int64_t)kvh * hd;
        const edge_f16 *v = c->vc + slot * kv_stride + (int64_t)kvh * hd;
        for (int i = 0; i < nv; i++) {
            kf[i] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + 8 * i)));
            vf[i] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + 8 * i)));
        }
        for (int g = 0; g < group; g++) {
            __m256 sv = _mm256_setzero_ps();
            for (int i = 0; i < nv; i++) sv = _mm256_fmadd_ps(kf[i], qr[g][i], sv);
            float s = attn_hsum8(sv) * c->scale;
            if (capped) s = c->softcap * tanhf(s);
            const float Mold = M[g];
            float ms = 1.0f, vs = 1.0f;
            if (s > Mold) {
                M[g] = s;
                ms = expf(Mold - s);
                const __m256 msv = _mm256_set1_ps(ms);
                for (int i = 0; i < nv; i++) ACC8_PUT(acc16[g][i], acc32[g][i], _mm256_mul_ps(ACC8_GET(acc16[g][i], acc32[g][i]), msv));
            } else {
                vs = expf(s - Mold);
            }
            const __m256 vsv = _mm256_set1_ps(vs);
            for (int i = 0; i < nv; i++) ACC8_PUT(acc16[g][i], acc32[g][i], _mm256_fmadd_ps(vf[i], vsv, ACC8_GET(acc16[g][i], acc32[g][i])));
            S[g] = attn_fma_ss(S[g], ms, vs);
        }
    }
    for (int g = 0; g < group; g++) {
        float *o = c->out + (t * c->n_head + kvh * group + g) * (int64_t)hd;
        const __m256 inv = _mm256_set1_ps(S[g] == 0.0f ? 0.0f : 1.0f / S[g]);
        for (int i = 0; i < nv; i++) _mm256_storeu_ps(o + 8 * i, _mm256_mul_ps(ACC8_GET(acc16[g][i], acc32[g][i]), inv));
    }
}

// attn_group_f16c_impl with the soft-cap test and the precision resolved once per call.
__attribute__((target("avx2,fma,f16c")))
static void attn_group_f16c(const attn_ctx *c, int64_t t, int kvh) {
    if (c->softcap != 0.0f) {
        if (c->f32) attn_group_f16c_impl(c, t, kvh, 1, 1); else attn_group_f16c_impl(c, t, kvh, 1, 0);
    } else {
        if (c->f32) attn_group_f16c_impl(c, t, kvh, 0, 1); else attn_group_f16c_impl(c, t, kvh, 0, 0);
    }
}

// attn_group_f16c with the V side in 16-lane vectors (hd a multiple of 16): the accumulators'
// update is element-wise, so converting, scaling and rounding 16 lanes at a time is the same
// arithmetic in half the conversions, which bound this loop. K·Q keeps the 8-lane order.
__attribute__((target("avx512f,avx512vl,avx2,fma,f16c")))
static inline __attribute__((always_inline)) void attn_group_avx512_impl(const attn_ctx *c, int64_t t, int kvh,
                                                             const int capped, const int f32) {
    const int hd = c->hd, group = c->n_head / c->n_kv, nv = hd / 8, nw = hd / 16;
    const int64_t kv_stride = (int64_t)c->n_kv * hd;
    __m256 qr[EDGE_ATTN_MAX_GROUP][EDGE_MAX_HEAD_DIM / 8];
    __m512 acc32[EDGE_ATTN_MAX_GROUP][EDGE_MAX_HEAD_DIM / 16];
    __m256i acc16[EDGE_ATTN_MAX_GROUP][EDGE_MAX_HEAD_DIM / 16];
    float S[EDGE_ATTN_MAX_GROUP], M[EDGE_ATTN_MAX_GROUP];
    for (int g = 0; g < group; g++) {
        const float *q = c->q + (t * c->n_head + kvh * group + g) * (int64_t)hd;
        for (int i = 0; i < nv; i++) qr[g][i] = attn_r8(_mm256_loadu_ps(q + 8 * i), f32);
        for (int i = 0; i < nw; i++) { acc32[g][i] = _mm512_setzero_ps(); acc16[g][i] = _mm256_setzero_si256(); }
        S[g] = 0.0f;
        M[g] = -INFINITY;
    }
    const int64_t last = c->pos[t];
    __m256 kf[EDGE_MAX_HEAD_DIM / 8];
    __m512 vf[EDGE_MAX_HEAD_DIM / 16];
    const int64_t first = attn_first(c, last);
    int64_t slot = first % c->cap;
    for (int64_t j = first; j <= last; j++, slot = slot + 1 == c->cap ? 0 : slot + 1) {
        const edge_f16 *k = c->kc + slot * kv_stride + (int64_t)kvh * hd;
        const edge_f16 *v = c->vc + slot * kv_stride + (int64_t)kvh * hd;
        for (int i = 0; i < nv; i++) kf[i] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + 8 * i)));
        for (int i = 0; i < nw; i++) vf[i] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(v + 16 * i)));
        for (int g = 0; g < group; g++) {
            __m256 sv = _mm256_setzero_ps();
            for (int i = 0; i < nv; i++) sv = _mm256_fmadd_ps(kf[i], qr[g][i], sv);
            float s = attn_hsum8(sv) * c->scale;
            if (capped) s = c->softcap * tanhf(s);
            const float Mold = M[g];
            float ms = 1.0f, vs = 1.0f;
            if (s > Mold) {
                M[g] = s;
                ms = expf(Mold - s);
                const __m512 msv = _mm512_set1_ps(ms);
                for (int i = 0; i < nw; i++) ACC16_PUT(acc16[g][i], acc32[g][i], _mm512_mul_ps(ACC16_GET(acc16[g][i], acc32[g][i]), msv));
            } else {
                vs = expf(s - Mold);
            }
            const __m512 vsv = _mm512_set1_ps(vs);
            for (int i = 0; i < nw; i++) ACC16_PUT(acc16[g][i], acc32[g][i], _mm512_fmadd_ps(vf[i], vsv, ACC16_GET(acc16[g][i], acc32[g][i])));
            S[g] = attn_fma_ss(S[g], ms, vs);
        }
    }
    for (int g = 0; g < group; g++) {
        float *o = c->out + (t * c->n_head + kvh * group + g) * (int64_t)hd;
        const __m512 inv = _mm512_set1_ps(S[g] == 0.0f ? 0.0f : 1.0f / S[g]);
        for (int i = 0; i < nw; i++) _mm512_storeu_ps(o + 16 * i, _mm512_mul_ps(ACC16_GET(acc16[g][i], acc32[g][i]), inv));
    }
}

// attn_group_avx512_impl with the soft-cap test and the precision resolved once per call.
__attribute__((target("avx512f,avx512vl,avx2,fma,f16c")))
static void attn_group_avx512(const attn_ctx *c, int64_t t, int kvh) {
    if (c->softcap != 0.0f) {
        if (c->f32) attn_group_avx512_impl(c, t, kvh, 1, 1); else attn_group_avx512_impl(c, t, kvh, 1, 0);
    } else {
        if (c->f32) attn_group_avx512_impl(c, t, kvh, 0, 1); else attn_group_avx512_impl(c, t, kvh, 0, 0);
    }
}

// Work items are (token, KV head) pairs: the group's heads go together.
static void attn_group_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const attn_ctx *c = vctx;
    const int wide = edge_isa_current() >= EDGE_ISA_AVX512 && c->hd % 16 == 0;
    for (int64_t i = b; i < e; i++) {
        if (wide) attn_group_avx512(c, i / c->n_kv, (int)(i % c->n_kv));
        else attn_group_f16c(c, i / c->n_kv, (int)(i % c->n_kv));
    }
}
#endif

static void attn_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const attn_ctx *c = vctx;
#if defined(__x86_64__)
    const int simd = edge_isa_current() >= EDGE_ISA_AVX2 && c->hd % 8 == 0;
#else
    const int simd = 0;
#endif
    for (int64_t i = b; i < e; i++) {
        const int64_t t = i / c->n_head;
        const int h = (int)(i % c->n_head);
#if defined(__x86_64__)
        if (simd) { attn_one_f16c(c, t, h); continue; }
#endif
        attn_one_scalar(c, t, h);
    }
}

void edge_op_attention(edge_pool *pool, const float *q, const edge_f16 *kc, const edge_f16 *vc,
                       const int32_t *pos, int64_t ntok, int n_head, int n_kv, int hd, float scale,
                       float *out, int64_t cap, int64_t window, float softcap, int f32) {
    attn_ctx c = { q, kc, vc, pos, n_head, n_kv, hd, softcap != 0.0f ? scale / softcap : scale, out,
                   cap, window, softcap, f32 != 0 };
#if defined(__x86_64__)
    if (edge_isa_current() >= EDGE_ISA_AVX2 && hd % 8 == 0 && n_head / n_kv <= EDGE_ATTN_MAX_GROUP) {
        edge_pool_for(pool, ntok * n_kv, 1, attn_group_range, &c);
        return;
    }
#endif
    edge_pool_for(pool, ntok * n_head, 1, attn_range, &c);
}

// ---------------------------------------------------------------- elementwise

typedef struct { const float *a, *b; float *out; } ew_ctx;

static void swiglu_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const ew_ctx *c = vctx;
    for (int64_t i = b; i < e; i++) {
        const float g = c->a[i];
        c->out[i] = (g / (1.0f + expf(-g))) * c->b[i];
    }
}

void edge_op_swiglu(edge_pool *pool, const float *gate, const float *up, float *out, int64_t count) {
    ew_ctx c = { gate, up, out };
    edge_pool_for(pool, count, 4096, swiglu_range, &c);
}

// GELU (tanh form) as ggml's CPU backend computes it for F32 (GGML_GELU_FP16): x at or below -10
// gives 0, at or above 10 gives x, and otherwise x is rounded to F16 and looked up in a table of
// gelu over every F16 value, itself rounded to F16.
static edge_f16 gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static float gelu_tanh(float x) {
    const float a = 0.044715f, k = 0.79788456080286535587989211986876f;
    return 0.5f * x * (1.0f + tanhf(k * x * (1.0f + a * x * x)));
}

static void gelu_table_init(void) {
    for (int i = 0; i < (1 << 16); i++) gelu_table[i] = edge_f32_to_f16(gelu_tanh(edge_f16_to_f32((edge_f16)i)));
}

float edge_gelu(float x) {
    pthread_once(&gelu_once, gelu_table_init);
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    return edge_f16_to_f32(gelu_table[edge_f32_to_f16(x)]);
}

static void geglu_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const ew_ctx *c = vctx;
    for (int64_t i = b; i < e; i++) c->out[i] = edge_gelu(c->a[i]) * c->b[i];
}

void edge_op_geglu(edge_pool *pool, const float *gate, const float *up, float *out, int64_t count) {
    pthread_once(&gelu_once, gelu_table_init);
    ew_ctx c = { gate, up, out };
    edge_pool_for(pool, count, 4096, geglu_range, &c);
}

typedef struct { float *x; float s; } scale_ctx;

static void scale_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const scale_ctx *c = vctx;
    for (int64_t i = b; i < e; i++) c->x[i] *= c->s;
}

void edge_op_scale(edge_pool *pool, float *x, int64_t count, float s) {
    scale_ctx c = { x, s };
    edge_pool_for(pool, count, 8192, scale_range, &c);
}

static void softcap_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const scale_ctx *c = vctx;
    for (int64_t i = b; i < e; i++) c->x[i] = tanhf(c->x[i] * (1.0f / c->s)) * c->s;
}

void edge_op_softcap(edge_pool *pool, float *x, int64_t count, float cap) {
    scale_ctx c = { x, cap };
    edge_pool_for(pool, count, 4096, softcap_range, &c);
}

static void add_range(void *vctx, int64_t b, int64_t e, int tid) {
    (void)tid;
    const ew_ctx *c = vctx;
    for (int64_t i = b; i < e; i++) c->out[i] += c->b[i];
}

void edge_op_add(edge_pool *pool, float *x, const float *y, int64_t count) {
    ew_ctx c = { NULL, y, x };
    edge_pool_for(pool, count, 8192, add_range, &c);
}

int edge_op_get_rows(int type, const void *table, size_t row_bytes, const int32_t *ids, int64_t ntok,
                     int64_t n, float *out) {
    for (int64_t t = 0; t < ntok; t++) {
        const char *row = (const char *)table + (size_t)ids[t] * row_bytes;
        if (edge_dequantize_row_ref(type, row, out + t * n, n) != 0) return -1;
    }
    return 0;
}
