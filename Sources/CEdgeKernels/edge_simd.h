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

// Type numbers are below 32 except BF16 (30), so a 32-slot table indexed by ggml type suffices.
#define EDGE_TYPE_SLOTS 32

typedef struct {
    edge_quantize_fn quantize[EDGE_TYPE_SLOTS];  // indexed by activation type
    edge_vec_dot_fn vec_dot[EDGE_TYPE_SLOTS];    // indexed by weight type
} edge_kernel_table;

// Fill the slots the ISA implements; leave the others untouched.
void edge_avx2_register(edge_kernel_table *t);
void edge_avx512_register(edge_kernel_table *t);
