// edge_simd.h — private to CEdgeKernels: the per-type kernel signatures and the tables the
// dispatcher (edge_dispatch.c) builds from the ISA files (edge_avx2.c, edge_avx512.c).
//
// A kernel slot is NULL when that ISA has no variant of it; the dispatcher then falls back to the
// next lower ISA and finally to the scalar reference.
#pragma once
#include "edge_quant.h"
#include "edge_packed.h"

// Round n floats (n a multiple of the act type's block size) into act-type blocks at y.
typedef void (*edge_quantize_fn)(const float *x, void *y, int64_t n);
// Dot of one weight row (n elements) with one activation row in the weight's vec_dot type.
typedef float (*edge_vec_dot_fn)(int64_t n, const void *w, const void *a);

// Y[c * y_stride + r] = dot(W row r, A row c) for r in [r0, r1), c in [0, ncols): a tiled kernel
// that reuses decoded weight blocks across tokens. Must give bit-identical results to the same
// table's vec_dot for every element. Returns 0, or -1 to leave the work to the per-element loop.
typedef int (*edge_matmul_fn)(int64_t n, const void *W, size_t w_row_bytes, int64_t r0, int64_t r1,
                              const void *A, size_t a_row_bytes, int64_t ncols, float *Y, int64_t y_stride);

// Type numbers are below 32 except BF16 (30), so a 32-slot table indexed by ggml type suffices.
#define EDGE_TYPE_SLOTS 32

// The x16 packed matmul (see edge_packed.h): rows [r0, r1), multiples of 16, of the packed P.
typedef void (*edge_packed_matmul_fn)(int64_t n, const void *P, int64_t r0, int64_t r1, const void *A,
                                      size_t a_row_bytes, int64_t ncols, float *Y, int64_t y_stride);

// The x16 records (layouts documented in edge_packed.h). Sizes are asserted in edge_packed.c.
typedef struct { edge_f16 d[16]; uint8_t qs[8][64]; } edge_x16_q8_0;                 // 544 B
typedef struct { edge_f16 d[16]; uint8_t qs[4][64]; } edge_x16_q4_0;                 // 288 B
typedef struct { edge_f16 d[16]; edge_f16 m[16]; uint8_t qs[4][64]; } edge_x16_q4_1; // 320 B
typedef struct { edge_f16 d[16]; uint32_t qh[16]; uint8_t qs[4][64]; } edge_x16_q5_0; // 352 B
typedef struct {
    edge_f16 d[16]; edge_f16 dmin[16]; uint8_t scales[12][16]; uint8_t qs[4][8][64];
} edge_x16_q4_K;                                                                      // 2304 B
typedef struct {
    edge_f16 d[16]; edge_f16 m[16]; uint32_t qh[16]; uint8_t qs[4][64];
} edge_x16_q5_1;                                                                      // 384 B
typedef struct {
    edge_f16 d[16]; edge_f16 dmin[16]; uint8_t scales[12][16]; uint8_t qh[8][64]; uint8_t qs[4][8][64];
} edge_x16_q5_K;                                                                      // 2816 B
typedef struct {
    edge_f16 d[16]; int8_t scales[16][16]; uint8_t qh[2][8][64]; uint8_t ql[2][16][64];
} edge_x16_q6_K;                                                                      // 3360 B
typedef struct { edge_f16 d[16]; uint8_t qs[4][64]; } edge_x16_iq4_nl;               // 288 B
typedef struct {
    edge_f16 d[16]; uint16_t scales_h[16]; uint8_t scales_l[4][16]; uint8_t qs[8][4][64];
} edge_x16_iq4_xs;                                                                    // 2176 B
typedef struct {
    edge_f16 d[16]; edge_f16 dmin[16]; uint8_t scales[16][16]; uint8_t qs[2][8][64];
} edge_x16_q2_K;                                                                      // 1344 B
typedef struct {
    edge_f16 d[16]; uint8_t scales[12][16]; uint8_t hmask[8][64]; uint8_t qs[2][8][64];
} edge_x16_q3_K;                                                                      // 1760 B

typedef struct {
    edge_packed_matmul_fn packed[EDGE_TYPE_SLOTS]; // indexed by weight type; NULL: scalar reference
    edge_quantize_fn quantize[EDGE_TYPE_SLOTS];  // indexed by activation type
    edge_vec_dot_fn vec_dot[EDGE_TYPE_SLOTS];    // indexed by weight type
    edge_matmul_fn matmul[EDGE_TYPE_SLOTS];      // indexed by weight type; NULL: per-element loop
} edge_kernel_table;

// Fill the slots the ISA implements; leave the others untouched.
void edge_avx2_register(edge_kernel_table *t);
void edge_avx512_register(edge_kernel_table *t);
