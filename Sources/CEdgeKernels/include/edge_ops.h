// edge_ops.h — the transformer operations of one forward pass, parallel over an edge_pool.
//
// Shapes are given innermost last in comments, e.g. x: [ntok][n] means ntok rows of n floats.
// The arithmetic follows llama.cpp's CPU backend where it affects results (noted per function).
#pragma once
#include <stdint.h>
#include <stddef.h>
#include "edge_pool.h"
#include "edge_quant.h"
#include "edge_packed.h"

#ifdef __cplusplus
extern "C" {
#endif

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w.  x, out: [ntok][n]; w: [n].
// Sum of squares accumulated in double, scale = 1/sqrtf(mean + eps) in float (as ggml's rms_norm).
void edge_op_rmsnorm(edge_pool *pool, const float *x, const float *w, float *out,
                     int64_t ntok, int64_t n, float eps);

// Rounds activation rows to the activation type of `weight_type`. x: [ntok][n] floats;
// out: ntok rows of edge_act_row_bytes(weight_type, n) bytes.
void edge_op_quantize(edge_pool *pool, int weight_type, const float *x, int64_t ntok, int64_t n, void *out);

// Y[t * y_stride + r] = dot(W row r, A row t) for r < rows, t < ntok. W: [rows] rows of
// w_row_bytes; A: [ntok] rows of a_row_bytes (already quantized with edge_op_quantize).
// Parallel over row chunks; bit-identical for any thread count and batch size. Types with an x16
// layout (edge_packed.h) run through edge_matmul_via_packed: bit-identical to edge_vec_dot_ref and
// to edge_op_matmul_packed over the same matrix repacked.
void edge_op_matmul(edge_pool *pool, int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                    int64_t rows, const void *A, size_t a_row_bytes, int64_t ntok,
                    float *Y, int64_t y_stride);

// The same product over a weight matrix repacked with edge_pack_rows (x16 layout, rows a multiple
// of 16): parallel over chunks of whole 16-row groups. Bit-identical to the scalar reference
// (edge_vec_dot_ref per element) for any thread count and batch size.
void edge_op_matmul_packed(edge_pool *pool, int weight_type, int64_t n, const void *P, int64_t rows,
                           const void *A, size_t a_row_bytes, int64_t ntok, float *Y, int64_t y_stride);

// Same product with F32 activations: each weight row is dequantized and multiplied with the float
// input x: [ntok][n] (no activation rounding). The reference path for checking the fast one.
void edge_op_matmul_f32(edge_pool *pool, int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                        int64_t rows, const float *x, int64_t ntok, float *Y, int64_t y_stride);

// Rotary position embedding in place. x: [ntok][nhead][hd]; rotates the first n_rot values of each
// head by position pos[t]. theta_i = pos * base^(-2i/n_rot) (computed by repeated multiplication in
// float as ggml does), divided by freq_factors[i] when given (Llama-3 rope_freqs), times freq_scale.
// neox = 0: pairs (2i, 2i+1) (llama); neox = 1: pairs (i, i + n_rot/2) (qwen2).
void edge_op_rope(edge_pool *pool, float *x, int64_t ntok, int nhead, int hd, int n_rot,
                  const int32_t *pos, float base, float freq_scale, const float *freq_factors, int neox);

// Writes K and V rows of ntok tokens into an F16 cache of `cap` rows, position p at row p % cap
// (cap >= the context: row p; a sliding-window layer's ring of window + batch - 1 rows).
// k, v: [ntok][kv_dim] floats; kc, vc: [cap][kv_dim] halves (one layer).
void edge_op_store_kv(edge_pool *pool, const float *k, const float *v, int64_t ntok, int64_t kv_dim,
                      const int32_t *pos, edge_f16 *kc, edge_f16 *vc, int64_t cap);

// Causal attention of ntok queries against an F16 cache holding positions 0...pos[t], position p
// at row p % cap. With window > 0, query position P sees positions P - window + 1 ... P only
// (sliding-window attention as llama.cpp's "standard" SWA masks it). With softcap != 0 each score
// s = scale * q.k becomes softcap * tanh(s / softcap) (Gemma-2's attention logit soft-cap; the
// division is folded into the scale, as ggml does).
// q: [ntok][n_head][hd] floats; kc, vc: [cap][n_kv][hd] halves; out: [ntok][n_head][hd].
// Grouped-query: query head h reads KV head h / (n_head / n_kv). One pass with an online softmax,
// no [ntok][n_ctx] buffer; K·Q in F32. The two precisions of ggml's flash-attention CPU path:
// f32 == 0: Q rounded to F16 and V accumulated in an F16 vector, rescaled when the running max
// grows (its one-query path, which it takes for fewer than EDGE_ATTN_F32_MIN_ROWS query rows);
// f32 != 0: Q and the accumulator in F32 (its tiled prompt path, taken from that many rows on).
void edge_op_attention(edge_pool *pool, const float *q, const edge_f16 *kc, const edge_f16 *vc,
                       const int32_t *pos, int64_t ntok, int n_head, int n_kv, int hd, float scale,
                       float *out, int64_t cap, int64_t window, float softcap, int f32);

// Query rows from which a batch's attention runs in F32 (ggml's GGML_FA_TILE_Q: llama.cpp's CPU
// flash attention switches to its tiled F32 kernel for a batch of at least this many queries).
#define EDGE_ATTN_F32_MIN_ROWS 64

// out = silu(gate) * up, elementwise over count values; silu(x) = x / (1 + exp(-x)).
void edge_op_swiglu(edge_pool *pool, const float *gate, const float *up, float *out, int64_t count);

// GELU, tanh approximation, rounded as ggml's F32 CPU path does (through an F16 table): edge_gelu
// for one value, out = gelu(gate) * up elementwise over count values for GeGLU.
float edge_gelu(float x);
void edge_op_geglu(edge_pool *pool, const float *gate, const float *up, float *out, int64_t count);

// x *= s over count values (Gemma's embedding scale).
void edge_op_scale(edge_pool *pool, float *x, int64_t count, float s);

// x = cap * tanh(x / cap) over count values (a final-logit soft-cap).
void edge_op_softcap(edge_pool *pool, float *x, int64_t count, float cap);

// x += y over count values.
void edge_op_add(edge_pool *pool, float *x, const float *y, int64_t count);

// out[t] = dequantized row ids[t] of a [rows][n] table of `type`. Returns 0, or -1 on an
// unsupported type. (token embeddings)
int edge_op_get_rows(int type, const void *table, size_t row_bytes, const int32_t *ids, int64_t ntok,
                     int64_t n, float *out);

#ifdef __cplusplus
}
#endif
