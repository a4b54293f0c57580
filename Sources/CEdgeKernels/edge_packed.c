// edge_packed.c — the x16 row-interleaved layouts (see edge_packed.h): repacking, unpacking and the
// scalar reference of the packed matmul. The SIMD variants live in edge_x86_packed.h.
#include "edge_simd.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(edge_x16_q8_0) == 16 * sizeof(edge_block_q8_0), "x16 Q8_0 record is 16 blocks");
_Static_assert(sizeof(edge_x16_q4_0) == 16 * sizeof(edge_block_q4_0), "x16 Q4_0 record is 16 blocks");
_Static_assert(sizeof(edge_x16_q4_1) == 16 * sizeof(edge_block_q4_1), "x16 Q4_1 record is 16 blocks");
_Static_assert(sizeof(edge_x16_q5_0) == 16 * sizeof(edge_block_q5_0), "x16 Q5_0 record is 16 blocks");
_Static_assert(sizeof(edge_x16_q4_K) == 16 * sizeof(edge_block_q4_K), "x16 Q4_K record is 16 blocks");

int edge_packed_supported(int t) {
    return t == EDGE_TYPE_Q8_0 || t == EDGE_TYPE_Q4_0 || t == EDGE_TYPE_Q4_1 || t == EDGE_TYPE_Q5_0 ||
           t == EDGE_TYPE_Q4_K;
}

int edge_packed_used(int t) { return edge_packed_supported(t) && t != EDGE_TYPE_Q5_0; }

size_t edge_packed_record_bytes(int t) {
    switch (t) {
    case EDGE_TYPE_Q8_0: return sizeof(edge_x16_q8_0);
    case EDGE_TYPE_Q4_0: return sizeof(edge_x16_q4_0);
    case EDGE_TYPE_Q4_1: return sizeof(edge_x16_q4_1);
    case EDGE_TYPE_Q5_0: return sizeof(edge_x16_q5_0);
    case EDGE_TYPE_Q4_K: return sizeof(edge_x16_q4_K);
    default: return 0;
    }
}

// Block columns per row: n / 32, or n / 256 for Q4_K.
static int64_t x16_cols(int t, int64_t n) { return n / (t == EDGE_TYPE_Q4_K ? EDGE_QK_K : EDGE_QK); }

static int x16_shape_ok(int t, int64_t n, int64_t rows) {
    const int64_t be = t == EDGE_TYPE_Q4_K ? EDGE_QK_K : EDGE_QK;
    return edge_packed_supported(t) && n > 0 && n % be == 0 && rows >= 0 && rows % EDGE_PACK_ROWS == 0;
}

size_t edge_packed_bytes(int t, int64_t rows, int64_t n) {
    if (!x16_shape_ok(t, n, rows)) return 0;
    return (size_t)(rows / EDGE_PACK_ROWS) * (size_t)x16_cols(t, n) * edge_packed_record_bytes(t);
}

// Block b of row r (file layout) <-> lane r of record rec. dir 1: pack, 0: unpack. (The byte-wise
// form, kept as the plain statement of the layout; edge_pack_rows has a word-wise copy of dir 1.)
static void x16_lane(int t, void *rec, int r, void *blk, int dir) {
    switch (t) {
    case EDGE_TYPE_Q8_0: {
        edge_x16_q8_0 *x = rec;
        edge_block_q8_0 *b = blk;
        if (dir) x->d[r] = b->d; else b->d = x->d[r];
        for (int k = 0; k < 8; k++)
            for (int i = 0; i < 4; i++) {
                if (dir) x->qs[k][4 * r + i] = (uint8_t)b->qs[4 * k + i] ^ 0x80;
                else b->qs[4 * k + i] = (int8_t)(x->qs[k][4 * r + i] ^ 0x80);
            }
        break;
    }
    case EDGE_TYPE_Q4_0: {
        edge_x16_q4_0 *x = rec;
        edge_block_q4_0 *b = blk;
        if (dir) x->d[r] = b->d; else b->d = x->d[r];
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 4; i++) {
                if (dir) x->qs[k][4 * r + i] = b->qs[4 * k + i];
                else b->qs[4 * k + i] = x->qs[k][4 * r + i];
            }
        break;
    }
    case EDGE_TYPE_Q4_1: {
        edge_x16_q4_1 *x = rec;
        edge_block_q4_1 *b = blk;
        if (dir) { x->d[r] = b->d; x->m[r] = b->m; } else { b->d = x->d[r]; b->m = x->m[r]; }
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 4; i++) {
                if (dir) x->qs[k][4 * r + i] = b->qs[4 * k + i];
                else b->qs[4 * k + i] = x->qs[k][4 * r + i];
            }
        break;
    }
    case EDGE_TYPE_Q5_0: {
        edge_x16_q5_0 *x = rec;
        edge_block_q5_0 *b = blk;
        if (dir) { x->d[r] = b->d; memcpy(&x->qh[r], b->qh, 4); } else { b->d = x->d[r]; memcpy(b->qh, &x->qh[r], 4); }
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 4; i++) {
                if (dir) x->qs[k][4 * r + i] = b->qs[4 * k + i];
                else b->qs[4 * k + i] = x->qs[k][4 * r + i];
            }
        break;
    }
    default: {  // Q4_K
        edge_x16_q4_K *x = rec;
        edge_block_q4_K *b = blk;
        if (dir) {
            x->d[r] = b->d, x->dmin[r] = b->dmin;
            for (int i = 0; i < EDGE_K_SCALE_SIZE; i++) x->scales[i][r] = b->scales[i];
        } else {
            b->d = x->d[r], b->dmin = x->dmin[r];
            for (int i = 0; i < EDGE_K_SCALE_SIZE; i++) b->scales[i] = x->scales[i][r];
        }
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < 8; k++)
                for (int i = 0; i < 4; i++) {
                    if (dir) x->qs[c][k][4 * r + i] = b->qs[32 * c + 4 * k + i];
                    else b->qs[32 * c + 4 * k + i] = x->qs[c][k][4 * r + i];
                }
        break;
    }
    }
}

static inline uint32_t x16_ld32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void x16_st32(void *p, uint32_t v) { memcpy(p, &v, 4); }

// Row r's 16 quant bytes per 32 elements (Q4_0, Q4_1), as four 4-byte words, into lane r.
static inline void x16_put_q4(uint8_t (*qs)[64], int r, const uint8_t *src) {
    for (int k = 0; k < 4; k++) x16_st32(&qs[k][4 * r], x16_ld32(src + 4 * k));
}

#ifndef EDGE_PACK_PREFETCH
#define EDGE_PACK_PREFETCH 512
#endif

int edge_pack_rows(int t, int64_t n, const void *W, size_t w_row_bytes, int64_t rows, void *dst) {
    if (!x16_shape_ok(t, n, rows)) return -1;
    const int64_t nb = x16_cols(t, n);
    const size_t rec = edge_packed_record_bytes(t), blk = (size_t)edge_type_block_bytes(t);
    if (w_row_bytes < (size_t)nb * blk) return -1;
    // Word copies per lane (this runs on every streamed group, so it must not be byte by byte),
    // record by record; each of the 16 source rows is prefetched EDGE_PACK_PREFETCH bytes ahead,
    // since 16 concurrent row streams may be more than the hardware prefetcher follows. (Measured
    // under other load, two pairs of runs, 0 vs 512 on-the-fly Q8_0: 4.4 vs 12.3 GB/s, then 6.6
    // vs 6.0: inconclusive; kept since it costs one instruction per 34-byte block.)
    for (int64_t g = 0; g < rows / EDGE_PACK_ROWS; g++) {
        const char *row0 = (const char *)W + (size_t)(g * EDGE_PACK_ROWS) * w_row_bytes;
        for (int64_t b = 0; b < nb; b++) {
            char *out = (char *)dst + ((size_t)g * (size_t)nb + (size_t)b) * rec;
            for (int r = 0; r < EDGE_PACK_ROWS; r++) {
                const char *src = row0 + (size_t)r * w_row_bytes + (size_t)b * blk;
                if (EDGE_PACK_PREFETCH) __builtin_prefetch(src + EDGE_PACK_PREFETCH, 0, 0);
                switch (t) {
                case EDGE_TYPE_Q8_0: {
                    edge_x16_q8_0 *x = (edge_x16_q8_0 *)out;
                    const edge_block_q8_0 *bl = (const edge_block_q8_0 *)src;
                    x->d[r] = bl->d;
                    for (int k = 0; k < 8; k++) x16_st32(&x->qs[k][4 * r], x16_ld32(bl->qs + 4 * k) ^ 0x80808080u);
                    break;
                }
                case EDGE_TYPE_Q4_0: {
                    edge_x16_q4_0 *x = (edge_x16_q4_0 *)out;
                    const edge_block_q4_0 *bl = (const edge_block_q4_0 *)src;
                    x->d[r] = bl->d;
                    x16_put_q4(x->qs, r, bl->qs);
                    break;
                }
                case EDGE_TYPE_Q4_1: {
                    edge_x16_q4_1 *x = (edge_x16_q4_1 *)out;
                    const edge_block_q4_1 *bl = (const edge_block_q4_1 *)src;
                    x->d[r] = bl->d;
                    x->m[r] = bl->m;
                    x16_put_q4(x->qs, r, bl->qs);
                    break;
                }
                case EDGE_TYPE_Q5_0: {
                    edge_x16_q5_0 *x = (edge_x16_q5_0 *)out;
                    const edge_block_q5_0 *bl = (const edge_block_q5_0 *)src;
                    x->d[r] = bl->d;
                    x->qh[r] = x16_ld32(bl->qh);
                    x16_put_q4(x->qs, r, bl->qs);
                    break;
                }
                default: {  // Q4_K
                    edge_x16_q4_K *x = (edge_x16_q4_K *)out;
                    const edge_block_q4_K *bl = (const edge_block_q4_K *)src;
                    x->d[r] = bl->d;
                    x->dmin[r] = bl->dmin;
                    for (int i = 0; i < EDGE_K_SCALE_SIZE; i++) x->scales[i][r] = bl->scales[i];
                    for (int c = 0; c < 4; c++)
                        for (int k = 0; k < 8; k++) x16_st32(&x->qs[c][k][4 * r], x16_ld32(bl->qs + 32 * c + 4 * k));
                    break;
                }
                }
            }
        }
    }
    return 0;
}

int edge_unpack_row(int t, int64_t n, const void *P, int64_t r, void *dst) {
    if (!x16_shape_ok(t, n, 0) || r < 0) return -1;
    const int64_t nb = x16_cols(t, n), g = r / EDGE_PACK_ROWS;
    const size_t rec = edge_packed_record_bytes(t), blk = (size_t)edge_type_block_bytes(t);
    for (int64_t b = 0; b < nb; b++) {
        const char *in = (const char *)P + ((size_t)g * (size_t)nb + (size_t)b) * rec;
        x16_lane(t, (void *)in, (int)(r % EDGE_PACK_ROWS), (char *)dst + (size_t)b * blk, 0);
    }
    return 0;
}

// The reference: each row unpacked to file layout, then edge_vec_dot_ref with each column.
void edge_packed_matmul_ref(int t, int64_t n, const void *P, int64_t r0, int64_t r1,
                            const void *A, size_t arb, int64_t ncols, float *Y, int64_t ys) {
    if (!x16_shape_ok(t, n, 0)) return;
    const size_t row_bytes = (size_t)x16_cols(t, n) * (size_t)edge_type_block_bytes(t);
    void *row = malloc(row_bytes);
    if (!row) return;
    for (int64_t r = r0; r < r1; r++) {
        edge_unpack_row(t, n, P, r, row);
        for (int64_t c = 0; c < ncols; c++)
            Y[c * ys + r] = edge_vec_dot_ref(t, n, row, (const char *)A + (size_t)c * arb);
    }
    free(row);
}

// ---- file-layout rows through the packed kernels ----

static pthread_key_t x16_key;
static pthread_once_t x16_key_once = PTHREAD_ONCE_INIT;
static void x16_key_make(void) { (void)pthread_key_create(&x16_key, free); }

// 64-byte aligned scratch of at least `bytes`, owned by the calling thread (freed at its exit);
// NULL if out of memory.
static void *x16_scratch(size_t bytes) {
    pthread_once(&x16_key_once, x16_key_make);
    size_t *h = pthread_getspecific(x16_key);
    if (h && h[0] >= bytes) return (char *)h + 64;
    free(h);
    h = aligned_alloc(64, (bytes + 64 + 63) & ~(size_t)63);
    (void)pthread_setspecific(x16_key, h);
    if (!h) return NULL;
    h[0] = bytes;
    return (char *)h + 64;
}

int edge_matmul_via_packed(int t, int64_t n, const void *W, size_t wrb, int64_t r0, int64_t r1,
                           const void *A, size_t arb, int64_t ncols, float *Y, int64_t ys) {
    if (!x16_shape_ok(t, n, 0)) return -1;
    const size_t gbytes = edge_packed_bytes(t, EDGE_PACK_ROWS, n);
    void *g = x16_scratch(gbytes);
    if (!g) return -1;
    int64_t r = r0;
    for (; r + EDGE_PACK_ROWS <= r1; r += EDGE_PACK_ROWS) {
        (void)edge_pack_rows(t, n, (const char *)W + (size_t)r * wrb, wrb, EDGE_PACK_ROWS, g);
        edge_packed_matmul(t, n, g, 0, EDGE_PACK_ROWS, A, arb, ncols, Y + r, ys);
    }
    for (; r < r1; r++)  // rows that do not fill a group: the reference, which the kernels equal
        for (int64_t c = 0; c < ncols; c++)
            Y[c * ys + r] = edge_vec_dot_ref(t, n, (const char *)W + (size_t)r * wrb, (const char *)A + (size_t)c * arb);
    return 0;
}
