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
_Static_assert(sizeof(edge_x16_q5_1) == 16 * sizeof(edge_block_q5_1), "x16 Q5_1 record is 16 blocks");
_Static_assert(sizeof(edge_x16_q5_K) == 16 * sizeof(edge_block_q5_K), "x16 Q5_K record is 16 blocks");
_Static_assert(sizeof(edge_x16_q6_K) == 16 * sizeof(edge_block_q6_K), "x16 Q6_K record is 16 blocks");
_Static_assert(sizeof(edge_x16_iq4_nl) == 16 * sizeof(edge_block_iq4_nl), "x16 IQ4_NL record is 16 blocks");
_Static_assert(sizeof(edge_x16_iq4_xs) == 16 * sizeof(edge_block_iq4_xs), "x16 IQ4_XS record is 16 blocks");
_Static_assert(sizeof(edge_x16_q2_K) == 16 * sizeof(edge_block_q2_K), "x16 Q2_K record is 16 blocks");
_Static_assert(sizeof(edge_x16_q3_K) == 16 * sizeof(edge_block_q3_K), "x16 Q3_K record is 16 blocks");

int edge_packed_supported(int t) {
    return t == EDGE_TYPE_Q8_0 || t == EDGE_TYPE_Q4_0 || t == EDGE_TYPE_Q4_1 || t == EDGE_TYPE_Q5_0 ||
           t == EDGE_TYPE_Q5_1 || t == EDGE_TYPE_Q4_K || t == EDGE_TYPE_Q5_K || t == EDGE_TYPE_Q6_K ||
           t == EDGE_TYPE_Q2_K || t == EDGE_TYPE_Q3_K || t == EDGE_TYPE_IQ4_NL || t == EDGE_TYPE_IQ4_XS;
}

int edge_packed_used(int t) { return edge_packed_supported(t); }

size_t edge_packed_record_bytes(int t) {
    switch (t) {
    case EDGE_TYPE_Q8_0: return sizeof(edge_x16_q8_0);
    case EDGE_TYPE_Q4_0: return sizeof(edge_x16_q4_0);
    case EDGE_TYPE_Q4_1: return sizeof(edge_x16_q4_1);
    case EDGE_TYPE_Q5_0: return sizeof(edge_x16_q5_0);
    case EDGE_TYPE_Q5_1: return sizeof(edge_x16_q5_1);
    case EDGE_TYPE_Q4_K: return sizeof(edge_x16_q4_K);
    case EDGE_TYPE_Q5_K: return sizeof(edge_x16_q5_K);
    case EDGE_TYPE_Q6_K: return sizeof(edge_x16_q6_K);
    case EDGE_TYPE_Q2_K: return sizeof(edge_x16_q2_K);
    case EDGE_TYPE_Q3_K: return sizeof(edge_x16_q3_K);
    case EDGE_TYPE_IQ4_NL: return sizeof(edge_x16_iq4_nl);
    case EDGE_TYPE_IQ4_XS: return sizeof(edge_x16_iq4_xs);
    default: return 0;
    }
}

// Block columns per row: n / 32, or n / 256 for the K-quants.
static int64_t x16_cols(int t, int64_t n) { return n / edge_type_block_elems(t); }

static int x16_shape_ok(int t, int64_t n, int64_t rows) {
    if (!edge_packed_supported(t)) return 0;
    const int64_t be = edge_type_block_elems(t);
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
    case EDGE_TYPE_Q5_1: {
        edge_x16_q5_1 *x = rec;
        edge_block_q5_1 *b = blk;
        if (dir) { x->d[r] = b->d; x->m[r] = b->m; memcpy(&x->qh[r], b->qh, 4); }
        else { b->d = x->d[r]; b->m = x->m[r]; memcpy(b->qh, &x->qh[r], 4); }
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 4; i++) {
                if (dir) x->qs[k][4 * r + i] = b->qs[4 * k + i];
                else b->qs[4 * k + i] = x->qs[k][4 * r + i];
            }
        break;
    }
    case EDGE_TYPE_Q5_K: {
        edge_x16_q5_K *x = rec;
        edge_block_q5_K *b = blk;
        if (dir) {
            x->d[r] = b->d, x->dmin[r] = b->dmin;
            for (int i = 0; i < EDGE_K_SCALE_SIZE; i++) x->scales[i][r] = b->scales[i];
        } else {
            b->d = x->d[r], b->dmin = x->dmin[r];
            for (int i = 0; i < EDGE_K_SCALE_SIZE; i++) b->scales[i] = x->scales[i][r];
        }
        for (int k = 0; k < 8; k++)
            for (int i = 0; i < 4; i++) {
                if (dir) x->qh[k][4 * r + i] = b->qh[4 * k + i];
                else b->qh[4 * k + i] = x->qh[k][4 * r + i];
            }
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < 8; k++)
                for (int i = 0; i < 4; i++) {
                    if (dir) x->qs[c][k][4 * r + i] = b->qs[32 * c + 4 * k + i];
                    else b->qs[32 * c + 4 * k + i] = x->qs[c][k][4 * r + i];
                }
        break;
    }
    case EDGE_TYPE_Q6_K: {
        edge_x16_q6_K *x = rec;
        edge_block_q6_K *b = blk;
        if (dir) x->d[r] = b->d; else b->d = x->d[r];
        for (int j = 0; j < 16; j++) {
            if (dir) x->scales[j][r] = b->scales[j]; else b->scales[j] = x->scales[j][r];
        }
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 4; i++) {
                for (int k = 0; k < 16; k++) {
                    if (dir) x->ql[h][k][4 * r + i] = b->ql[64 * h + 4 * k + i];
                    else b->ql[64 * h + 4 * k + i] = x->ql[h][k][4 * r + i];
                }
                for (int k = 0; k < 8; k++) {
                    if (dir) x->qh[h][k][4 * r + i] = b->qh[32 * h + 4 * k + i];
                    else b->qh[32 * h + 4 * k + i] = x->qh[h][k][4 * r + i];
                }
            }
        break;
    }
    case EDGE_TYPE_IQ4_NL: {  // the Q4_0 record
        edge_x16_iq4_nl *x = rec;
        edge_block_iq4_nl *b = blk;
        if (dir) x->d[r] = b->d; else b->d = x->d[r];
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 4; i++) {
                if (dir) x->qs[k][4 * r + i] = b->qs[4 * k + i];
                else b->qs[4 * k + i] = x->qs[k][4 * r + i];
            }
        break;
    }
    case EDGE_TYPE_IQ4_XS: {
        edge_x16_iq4_xs *x = rec;
        edge_block_iq4_xs *b = blk;
        if (dir) { x->d[r] = b->d; x->scales_h[r] = b->scales_h; } else { b->d = x->d[r]; b->scales_h = x->scales_h[r]; }
        for (int i = 0; i < 4; i++) {
            if (dir) x->scales_l[i][r] = b->scales_l[i]; else b->scales_l[i] = x->scales_l[i][r];
        }
        for (int j = 0; j < 8; j++)
            for (int k = 0; k < 4; k++)
                for (int i = 0; i < 4; i++) {
                    if (dir) x->qs[j][k][4 * r + i] = b->qs[16 * j + 4 * k + i];
                    else b->qs[16 * j + 4 * k + i] = x->qs[j][k][4 * r + i];
                }
        break;
    }
    case EDGE_TYPE_Q2_K: {
        edge_x16_q2_K *x = rec;
        edge_block_q2_K *b = blk;
        if (dir) { x->d[r] = b->d; x->dmin[r] = b->dmin; } else { b->d = x->d[r]; b->dmin = x->dmin[r]; }
        for (int j = 0; j < 16; j++) {
            if (dir) x->scales[j][r] = b->scales[j]; else b->scales[j] = x->scales[j][r];
        }
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 8; k++)
                for (int i = 0; i < 4; i++) {
                    if (dir) x->qs[h][k][4 * r + i] = b->qs[32 * h + 4 * k + i];
                    else b->qs[32 * h + 4 * k + i] = x->qs[h][k][4 * r + i];
                }
        break;
    }
    case EDGE_TYPE_Q3_K: {
        edge_x16_q3_K *x = rec;
        edge_block_q3_K *b = blk;
        if (dir) x->d[r] = b->d; else b->d = x->d[r];
        for (int j = 0; j < 12; j++) {
            if (dir) x->scales[j][r] = b->scales[j]; else b->scales[j] = x->scales[j][r];
        }
        for (int k = 0; k < 8; k++)
            for (int i = 0; i < 4; i++) {
                if (dir) x->hmask[k][4 * r + i] = b->hmask[4 * k + i];
                else b->hmask[4 * k + i] = x->hmask[k][4 * r + i];
                for (int h = 0; h < 2; h++) {
                    if (dir) x->qs[h][k][4 * r + i] = b->qs[32 * h + 4 * k + i];
                    else b->qs[32 * h + 4 * k + i] = x->qs[h][k][4 * r + i];
                }
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

// One group of 16 rows (rp[r]: row r's first block) into nb records at dst.
static void x16_pack_group(int t, int64_t nb, const char *const *rp, void *dst) {
    const size_t rec = edge_packed_record_bytes(t), blk = (size_t)edge_type_block_bytes(t);
    for (int64_t b = 0; b < nb; b++) {
        char *out = (char *)dst + (size_t)b * rec;
        for (int r = 0; r < EDGE_PACK_ROWS; r++) {
            const char *src = rp[r] + (size_t)b * blk;
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
            case EDGE_TYPE_Q5_1: {
                edge_x16_q5_1 *x = (edge_x16_q5_1 *)out;
                const edge_block_q5_1 *bl = (const edge_block_q5_1 *)src;
                x->d[r] = bl->d;
                x->m[r] = bl->m;
                x->qh[r] = x16_ld32(bl->qh);
                x16_put_q4(x->qs, r, bl->qs);
                break;
            }
            case EDGE_TYPE_Q5_K: {
                edge_x16_q5_K *x = (edge_x16_q5_K *)out;
                const edge_block_q5_K *bl = (const edge_block_q5_K *)src;
                x->d[r] = bl->d;
                x->dmin[r] = bl->dmin;
                for (int i = 0; i < EDGE_K_SCALE_SIZE; i++) x->scales[i][r] = bl->scales[i];
                for (int k = 0; k < 8; k++) x16_st32(&x->qh[k][4 * r], x16_ld32(bl->qh + 4 * k));
                for (int c = 0; c < 4; c++)
                    for (int k = 0; k < 8; k++) x16_st32(&x->qs[c][k][4 * r], x16_ld32(bl->qs + 32 * c + 4 * k));
                break;
            }
            case EDGE_TYPE_Q6_K: {
                edge_x16_q6_K *x = (edge_x16_q6_K *)out;
                const edge_block_q6_K *bl = (const edge_block_q6_K *)src;
                x->d[r] = bl->d;
                for (int j = 0; j < 16; j++) x->scales[j][r] = bl->scales[j];
                for (int h = 0; h < 2; h++) {
                    for (int k = 0; k < 16; k++) x16_st32(&x->ql[h][k][4 * r], x16_ld32(bl->ql + 64 * h + 4 * k));
                    for (int k = 0; k < 8; k++) x16_st32(&x->qh[h][k][4 * r], x16_ld32(bl->qh + 32 * h + 4 * k));
                }
                break;
            }
            case EDGE_TYPE_IQ4_NL: {
                edge_x16_iq4_nl *x = (edge_x16_iq4_nl *)out;
                const edge_block_iq4_nl *bl = (const edge_block_iq4_nl *)src;
                x->d[r] = bl->d;
                x16_put_q4(x->qs, r, bl->qs);
                break;
            }
            case EDGE_TYPE_IQ4_XS: {
                edge_x16_iq4_xs *x = (edge_x16_iq4_xs *)out;
                const edge_block_iq4_xs *bl = (const edge_block_iq4_xs *)src;
                x->d[r] = bl->d;
                x->scales_h[r] = bl->scales_h;
                for (int i = 0; i < 4; i++) x->scales_l[i][r] = bl->scales_l[i];
                for (int j = 0; j < 8; j++) x16_put_q4(x->qs[j], r, bl->qs + 16 * j);
                break;
            }
            case EDGE_TYPE_Q2_K: {
                edge_x16_q2_K *x = (edge_x16_q2_K *)out;
                const edge_block_q2_K *bl = (const edge_block_q2_K *)src;
                x->d[r] = bl->d;
                x->dmin[r] = bl->dmin;
                for (int j = 0; j < 16; j++) x->scales[j][r] = bl->scales[j];
                for (int h = 0; h < 2; h++)
                    for (int k = 0; k < 8; k++) x16_st32(&x->qs[h][k][4 * r], x16_ld32(bl->qs + 32 * h + 4 * k));
                break;
            }
            case EDGE_TYPE_Q3_K: {
                edge_x16_q3_K *x = (edge_x16_q3_K *)out;
                const edge_block_q3_K *bl = (const edge_block_q3_K *)src;
                x->d[r] = bl->d;
                for (int j = 0; j < 12; j++) x->scales[j][r] = bl->scales[j];
                for (int k = 0; k < 8; k++) {
                    x16_st32(&x->hmask[k][4 * r], x16_ld32(bl->hmask + 4 * k));
                    for (int h = 0; h < 2; h++) x16_st32(&x->qs[h][k][4 * r], x16_ld32(bl->qs + 32 * h + 4 * k));
                }
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
        const char *rp[EDGE_PACK_ROWS];
        for (int r = 0; r < EDGE_PACK_ROWS; r++) rp[r] = (const char *)W + (size_t)(g * EDGE_PACK_ROWS + r) * w_row_bytes;
        x16_pack_group(t, nb, rp, (char *)dst + (size_t)g * (size_t)nb * rec);
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

int edge_matvec_gather_via_packed(int t, int64_t n, const void *W, size_t wrb, const int32_t *idx, int64_t count,
                                  const void *a, float *Y) {
    if (!x16_shape_ok(t, n, 0) || count <= 0) return count <= 0 ? 0 : -1;
    const size_t gbytes = edge_packed_bytes(t, EDGE_PACK_ROWS, n);
    void *g = x16_scratch(gbytes);
    if (!g) return -1;
    const int64_t nb = x16_cols(t, n);
    float out[EDGE_PACK_ROWS];
    for (int64_t k = 0; k < count; k += EDGE_PACK_ROWS) {
        const int64_t m = count - k < EDGE_PACK_ROWS ? count - k : EDGE_PACK_ROWS;
        // A short last group repeats its last row; those lanes' results are dropped.
        const char *rp[EDGE_PACK_ROWS];
        for (int j = 0; j < EDGE_PACK_ROWS; j++) rp[j] = (const char *)W + (size_t)idx[k + (j < m ? j : m - 1)] * wrb;
        x16_pack_group(t, nb, rp, g);
        edge_packed_matmul(t, n, g, 0, EDGE_PACK_ROWS, a, 0, 1, out, EDGE_PACK_ROWS);
        for (int64_t j = 0; j < m; j++) Y[idx[k + j]] = out[j];
    }
    return 0;
}
