// edge_simd.h — private to CEdgeKernels: the per-type kernel signatures and the tables the
// dispatcher (edge_dispatch.c) builds from the ISA files (edge_avx2.c, edge_avx512.c).
//
// A kernel slot is NULL when that ISA has no variant of it; the dispatcher then falls back to the
// next lower ISA and finally to the scalar reference.
#pragma once
#include "edge_quant.h"

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

typedef struct {
    edge_quantize_fn quantize[EDGE_TYPE_SLOTS];  // indexed by activation type
    edge_vec_dot_fn vec_dot[EDGE_TYPE_SLOTS];    // indexed by weight type
    edge_matmul_fn matmul[EDGE_TYPE_SLOTS];      // indexed by weight type; NULL: per-element loop
} edge_kernel_table;

// Fill the slots the ISA implements; leave the others untouched.
void edge_avx2_register(edge_kernel_table *t);
void edge_avx512_register(edge_kernel_table *t);
