// edge_sparse.h — the feed-forward computed for the neurons that fire (contextual sparsity).
//
// A SwiGLU feed-forward out = W_down (silu(W_gate x) * (W_up x)) has one neuron per row i of
// W_gate and W_up and per column i of W_down. With a per-layer threshold tau (from calibration,
// CATS-style), neuron i is selected when |silu(g_i)| >= tau; the others are treated as zero. The
// gate is computed densely, the up rows only for the selected neurons
// (edge_matvec_gather_via_packed), and W_down only over the selected columns, read from a
// neuron-major copy made once at load, in which column i is contiguous.
//
// Exactness: the copy holds the weight block's integers and scales unchanged (no requantization),
// and edge_op_sparse_down computes each block's integer sums over the nonzero activations and
// combines them in the order of the scalar dot product (edge_vec_dot_ref): its result is
// bit-identical to a dense product of the same activation row (zeros and all) with W_down. The up
// rows are exact too with edge_sparse_exact_set(1) (see edge_op_matvec_gather).
#pragma once
#include <stdint.h>
#include <stddef.h>
#include "edge_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

// One weight block of `type` as integers: w_j = d * sc[j / S] * q[j] - dmin * mn[j / S] (S the
// sub-block size: 32, 16 for Q6_K; legacy types have no sc/mn). q: block elements; sc, mn:
// sub-blocks; dmin only for Q4_K/Q5_K. Returns -1 for a type without this form.
int edge_block_integers(int type, const void *block, int8_t *q, int16_t *sc, int16_t *mn, float *d, float *dmin);

// 1 when W_down of `type` with `rows` (d_model, a multiple of 16) rows of `cols` (d_ff) values
// has a neuron-major copy: Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K.
int edge_sparse_down_supported(int type, int64_t rows, int64_t cols);

// Bytes of the neuron-major copy (0 when unsupported): cols * rows bytes of integers, plus the
// scales ((cols / S) * rows int16 each for sc and mn, (cols / B) * rows floats for d and dmin).
size_t edge_sparse_down_bytes(int type, int64_t rows, int64_t cols);

// Writes the neuron-major copy of W (rows of w_row_bytes, file layout) to dst (64-byte aligned,
// edge_sparse_down_bytes long). Returns 0, or -1 when unsupported.
int edge_sparse_down_build(int type, int64_t rows, int64_t cols, const void *W, size_t w_row_bytes, void *dst);

// Y[r] = dot(W_down row r, a) for r < rows, from the neuron-major copy T, reading only the columns
// whose activation value in `a` (one row quantized with edge_op_quantize for `type`) is nonzero.
// Parallel over row chunks; bit-identical to edge_vec_dot_ref for any thread count.
void edge_op_sparse_down(edge_pool *pool, int type, int64_t rows, int64_t cols, const void *T, const void *a, float *Y);

// Y[idx[k]] = dot(W row idx[k], a), parallel over chunks of selected rows, each row with the
// dispatched vec_dot (one SIMD dot product per row: its float additions are ordered differently
// from the x16 kernels', so a result may differ from edge_op_matmul's in the last bits). With
// edge_sparse_exact_set(1), x16 types are gathered 16 rows at a time into the x16 layout and run
// through the packed kernel instead: the bits of edge_op_matmul, about 2x slower (the check that
// the sparse path with every neuron selected is the dense path). Other entries of Y are not written.
void edge_op_matvec_gather(edge_pool *pool, int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                           const int32_t *idx, int64_t count, const void *a, float *Y);

// Process-wide: 1 selects the exact gather of edge_op_matvec_gather. Returns the previous setting.
int edge_sparse_exact_set(int on);

// |silu(g)|, the score a neuron is selected by (the same function for every path that selects).
float edge_sparse_score(float g);

// Indices i < n with edge_sparse_score(gate[i]) >= tau, ascending, into idx; returns how many.
int64_t edge_sparse_select(const float *gate, int64_t n, float tau, int32_t *idx);

// up[i] = 0 where edge_sparse_score(gate[i]) < tau (the same selection, for batched rows that
// are computed densely and masked). Returns how many were kept.
int64_t edge_sparse_mask(const float *gate, float *up, int64_t n, float tau);

// Calibration: adds the scores of rows x width gate values to `hist` (bin 0: scores below
// `lowest`; bin b >= 1: [lowest 10^((b-1)/per_decade), lowest 10^(b/per_decade)), the last bin also
// everything above) and each neuron's score to sums[i].
void edge_sparse_histogram(const float *gate, int64_t rows, int64_t width, float lowest, int per_decade, int64_t bins,
                           int64_t *hist, double *sums);

// Calibration: counts[i] += 1 for each row whose neuron i scores at least tau.
void edge_sparse_fire_count(const float *gate, int64_t rows, int64_t width, float tau, int64_t *counts);

#ifdef __cplusplus
}
#endif
