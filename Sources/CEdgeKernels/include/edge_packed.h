// edge_packed.h — row-interleaved ("x16") weight layouts for generation and their kernels.
//
// Why. Over ggml's block layout a matvec takes one row at a time: every 32-weight block needs its
// own scale conversion, and every row ends in a horizontal sum. Interleaving 16 rows inside each
// block makes one 32-bit SIMD lane one row: a VPDPBUSD consumes 4 weights of each of 16 rows against
// 4 activation bytes broadcast to all lanes, the 16 rows' scales convert with one VCVTPH2PS, and no
// horizontal sum is left (the measurement on another CPU: 80-87% of bandwidth for the block
// layout, 94-100% interleaved). The matrix is repacked once at load; the repacked copy replaces the
// file bytes for that matrix. Every record is exactly 16 file blocks in size, so a matrix can be
// repacked in place (resident blocks under a memory budget are).
//
// Layout. Rows are taken in groups of EDGE_PACK_ROWS = 16 (the matrix must have a multiple of 16
// rows). Group g is one contiguous run of records, one record per block column b (nb = n / 32 for
// the legacy types, n / 256 for the K-quants), and groups follow each other: record (g, b) is at
// P + (g * nb + b) * edge_packed_record_bytes(type). Inside a record, "lane r" means row 16g + r, and
// [k][4r + i] is byte i of lane r in the k-th 64-byte vector:
//
//   Q8_0 (544 B = 16 x 34): d[16] (f16, lane r = row r's d); qs[8][64]: qs[k][4r + i] = row r's
//        quant of element 4k + i, stored XOR 0x80 (q + 128 as an unsigned byte, for VPDPBUSD).
//   Q4_0 (288 B = 16 x 18): d[16]; qs[4][64]: qs[k][4r + i] = row r's qs byte 4k + i (low nibble:
//        element 4k + i, high nibble: element 16 + 4k + i, as in the file).
//   Q4_1 (320 B = 16 x 20): d[16]; m[16]; qs[4][64] as Q4_0.
//   Q5_0 (352 B = 16 x 22): d[16]; qh[16] (lane r = row r's 32 fifth bits, a little-endian u32);
//        qs[4][64] as Q4_0.
//   Q5_1 (384 B = 16 x 24): d[16]; m[16]; qh[16] as Q5_0; qs[4][64] as Q4_0.
//   Q4_K (2304 B = 16 x 144): d[16]; dmin[16]; scales[12][16]: scales[i][r] = row r's packed
//        scale byte i (ggml's 6-bit scales and mins, unpacked in the kernel 16 rows at a time);
//        qs[4][8][64]: qs[c][k][4r + i] = row r's qs byte 32c + 4k + i (low nibble: element
//        64c + 4k + i of sub-block 2c, high nibble: element 64c + 32 + 4k + i of sub-block 2c + 1).
//   Q5_K (2816 B = 16 x 176): d[16]; dmin[16]; scales[12][16] as Q4_K; qh[8][64]: qh[k][4r + i] =
//        row r's qh byte 4k + i (bit 2c: fifth bit of the low nibble of qs byte 32c + 4k + i, bit
//        2c + 1: of its high nibble); qs[4][8][64] as Q4_K.
//   Q6_K (3360 B = 16 x 210): d[16]; scales[16][16]: scales[j][r] = row r's int8 scale of
//        sub-block j (16 elements); qh[2][8][64]: qh[h][k][4r + i] = row r's qh byte 32h + 4k + i;
//        ql[2][16][64]: ql[h][k][4r + i] = row r's ql byte 64h + 4k + i. In half h, ql byte m's
//        low nibble is element 128h + m and its high nibble element 128h + m + 64; their two top
//        bits are bits 0-1 and 4-5 of qh byte 32h + m (m < 32), or bits 2-3 and 6-7 of qh byte
//        32h + m - 32 (m >= 32), as in the file.
//
// Arithmetic. Every packed kernel (scalar, AVX2, AVX-512) gives results bit-identical to
// edge_vec_dot_ref on the unpacked row: integer block sums are exact, and the float operations
// per row are the reference's, in its order (block by block, separate multiply and add, no FMA).
#pragma once
#include <stdint.h>
#include <stddef.h>
#include "edge_quant.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDGE_PACK_ROWS 16

// 1 if weight_type has an x16 layout (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K).
int edge_packed_supported(int weight_type);
// 1 if the runtime uses the x16 layout for weight_type (repacking at load, and routing file-layout
// pieces through the packed kernels): every type that has one. (Q5_0 was once kept off because
// float order alone moved a perplexity past the suite's bound; the bounds are now set from what
// float order does to llama.cpp's own figures: see PerplexityReferenceTests.)
int edge_packed_used(int weight_type);
// Bytes of one record (16 rows x one block column); 0 when not supported.
size_t edge_packed_record_bytes(int weight_type);
// Bytes of the packed form of a rows x n matrix (rows a multiple of 16); 0 when not supported.
size_t edge_packed_bytes(int weight_type, int64_t rows, int64_t n);

// Repacks rows [0, rows) (a multiple of 16) of the file-layout matrix W (rows w_row_bytes apart)
// into dst (edge_packed_bytes bytes). Returns 0, or -1 for an unsupported type or shape.
int edge_pack_rows(int weight_type, int64_t n, const void *W, size_t w_row_bytes, int64_t rows, void *dst);
// The inverse for one row: row r of packed P back into file layout at dst (w_row_bytes bytes).
int edge_unpack_row(int weight_type, int64_t n, const void *P, int64_t r, void *dst);

// Y[c * y_stride + r] = dot(W row r, A row c) for r in [r0, r1) (both multiples of 16) and c in
// [0, ncols), W given packed (P is the whole packed matrix; r0 / 16 selects the first group).
// A rows are a_row_bytes apart, in edge_vec_dot_type(weight_type). Bit-identical to
// edge_vec_dot_ref for every element, for any row range and any ncols.
// The dispatched kernel (AVX-512 VNNI, AVX2 or the scalar reference, by edge_isa_current):
void edge_packed_matmul(int weight_type, int64_t n, const void *P, int64_t r0, int64_t r1,
                        const void *A, size_t a_row_bytes, int64_t ncols, float *Y, int64_t y_stride);
// The scalar reference of the same.
void edge_packed_matmul_ref(int weight_type, int64_t n, const void *P, int64_t r0, int64_t r1,
                            const void *A, size_t a_row_bytes, int64_t ncols, float *Y, int64_t y_stride);

// How the x16 kernels bring a weight record's bytes in from main memory, per weight type: 0 (the
// hardware prefetchers alone), a software-prefetch distance in bytes (> 0), or EDGE_STREAM_TOUCH
// (load every cache line of a record before its products). Results are the same bits in every
// mode; only the speed from memory differs, and which mode wins depends on the host (see
// edge_x86_packed.h), so `edgert profile` measures each and the runtime sets the winner.
// Defaults: 8192 for the types edge_stream_mode_tunable names, 0 for the others. Process-wide.
#define EDGE_STREAM_TOUCH (-1)
// 1 for the types whose kernels take a stream mode (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS).
int edge_stream_mode_tunable(int weight_type);
int edge_stream_mode_get(int weight_type);
// Returns 0, or -1 (nothing changed) for a type that is not tunable or a mode below -1.
int edge_stream_mode_set(int weight_type, int mode);

// The same product for rows [r0, r1) (any range) of a FILE-layout matrix W (rows w_row_bytes
// apart): each whole 16-row group is repacked into a per-thread scratch buffer (16 rows, kept
// until the thread exits) and multiplied by edge_packed_matmul; the rows left over use
// edge_vec_dot_ref. So a matrix gives the same bits whether it was repacked at load, is read from
// the mapping, or is streamed from disk. Returns 0, or -1 for an unsupported type or when the
// scratch cannot be allocated (nothing written).
int edge_matmul_via_packed(int weight_type, int64_t n, const void *W, size_t w_row_bytes, int64_t r0, int64_t r1,
                           const void *A, size_t a_row_bytes, int64_t ncols, float *Y, int64_t y_stride);

// Y[idx[k]] = dot(W row idx[k], a) for k < count: the rows a sparse feed-forward selected, read
// from the file layout (row stride w_row_bytes), gathered 16 at a time into the x16 layout and run
// through the packed kernel, so each result has the bits edge_op_matmul gives the same row.
// Returns -1 (nothing written) when the type has no x16 layout or n does not fit it.
int edge_matvec_gather_via_packed(int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                                  const int32_t *idx, int64_t count, const void *a, float *Y);

#ifdef __cplusplus
}
#endif
