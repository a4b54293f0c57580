// edge_quant.h — block layouts and the quantized-kernel API shared by the whole runtime.
//
// Block layouts are byte-compatible with ggml's (ggml/src/ggml-common.h), because the weights are
// used in place from the memory-mapped GGUF file. Type numbers are ggml's `ggml_type`.
//
// Arithmetic model (mirrors llama.cpp's CPU backend, so logits can be compared with its traces):
// a quantized weight row is never multiplied by float activations. The activation row is first
// rounded to the weight type's "activation type" (edge_vec_dot_type: Q8_0 blocks of 32 for
// Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K blocks of 256 for the K-quants and IQ4_XS, F16
// for F16, BF16 for BF16, F32 for F32) and the dot product is taken block by block in integers,
// scaled in float.
#pragma once
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint16_t edge_f16;   // IEEE half, bit pattern
typedef uint16_t edge_bf16;  // bfloat16, bit pattern

enum edge_type {
    EDGE_TYPE_F32 = 0, EDGE_TYPE_F16 = 1, EDGE_TYPE_Q4_0 = 2, EDGE_TYPE_Q4_1 = 3,
    EDGE_TYPE_Q5_0 = 6, EDGE_TYPE_Q5_1 = 7, EDGE_TYPE_Q8_0 = 8, EDGE_TYPE_Q8_1 = 9,
    EDGE_TYPE_Q2_K = 10, EDGE_TYPE_Q3_K = 11,
    EDGE_TYPE_Q4_K = 12, EDGE_TYPE_Q5_K = 13, EDGE_TYPE_Q6_K = 14, EDGE_TYPE_Q8_K = 15,
    EDGE_TYPE_IQ4_NL = 20, EDGE_TYPE_IQ4_XS = 23, EDGE_TYPE_BF16 = 30,
};

#define EDGE_QK 32     // elements per legacy block
#define EDGE_QK_K 256  // elements per K-quant super-block
#define EDGE_K_SCALE_SIZE 12

// (32 weights) w = d * (q - 8), q in 0..15; qs[j] low nibble = element j, high nibble = element j+16
typedef struct { edge_f16 d; uint8_t qs[EDGE_QK / 2]; } edge_block_q4_0;                       // 18 B
// (32) w = d * q + m
typedef struct { edge_f16 d; edge_f16 m; uint8_t qs[EDGE_QK / 2]; } edge_block_q4_1;           // 20 B
// (32) 5th bit of element j in bit j of qh (little-endian u32); w = d * (q - 16)
typedef struct { edge_f16 d; uint8_t qh[4]; uint8_t qs[EDGE_QK / 2]; } edge_block_q5_0;        // 22 B
// (32) w = d * q + m
typedef struct { edge_f16 d; edge_f16 m; uint8_t qh[4]; uint8_t qs[EDGE_QK / 2]; } edge_block_q5_1; // 24 B
// (32) w = d * q
typedef struct { edge_f16 d; int8_t qs[EDGE_QK]; } edge_block_q8_0;                            // 34 B
// (32) activation type for Q4_1/Q5_1: s = d * sum(qs)
typedef struct { edge_f16 d; edge_f16 s; int8_t qs[EDGE_QK]; } edge_block_q8_1;                // 36 B
// (32) w = d * kvalues[q] (edge_iq4_values: a fixed non-linear grid), nibbles as Q4_0
typedef struct { edge_f16 d; uint8_t qs[EDGE_QK / 2]; } edge_block_iq4_nl;                     // 18 B
// (256) 16 sub-blocks of 16: w = (d * (scales[j] & 15)) * q - (dmin * (scales[j] >> 4)), q 2 bits.
// Element 128h + 32k + l (h < 2, k < 4, l < 32) is bits 2k..2k+1 of qs[32h + l], sub-block 8h + 2k + l/16.
typedef struct { uint8_t scales[EDGE_QK_K / 16]; uint8_t qs[EDGE_QK_K / 4]; edge_f16 d; edge_f16 dmin; } edge_block_q2_K; // 84 B
// (256) 16 sub-blocks of 16: w = (d * (s_j - 32)) * (q - (hmask bit ? 0 : 4)), q 2 bits placed as
// Q2_K's, the mask bit of element 128h + 32k + l being bit 4h + k of hmask[l]; s_j 6 bits packed
// in `scales` (low nibbles in bytes 0..7, top 2 bits in bytes 8..11).
typedef struct { uint8_t hmask[EDGE_QK_K / 8]; uint8_t qs[EDGE_QK_K / 4]; uint8_t scales[12]; edge_f16 d; } edge_block_q3_K; // 110 B
// (256) 8 sub-blocks of 32: w = (d * (ls_j - 32)) * kvalues[q], ls_j 6 bits (low 4 in scales_l,
// top 2 in scales_h); sub-block j's nibbles in qs[16j ..< 16j + 16] as an IQ4_NL block's.
typedef struct { edge_f16 d; uint16_t scales_h; uint8_t scales_l[EDGE_QK_K / 64]; uint8_t qs[EDGE_QK_K / 2]; } edge_block_iq4_xs; // 136 B
// The IQ4_NL / IQ4_XS grid (ggml's kvalues_iq4nl).
extern const int8_t edge_iq4_values[16];

// (256) 8 sub-blocks of 32 with 6-bit scales and mins packed in `scales`
typedef struct { edge_f16 d; edge_f16 dmin; uint8_t scales[EDGE_K_SCALE_SIZE]; uint8_t qs[EDGE_QK_K / 2]; } edge_block_q4_K; // 144 B
typedef struct { edge_f16 d; edge_f16 dmin; uint8_t scales[EDGE_K_SCALE_SIZE]; uint8_t qh[EDGE_QK_K / 8]; uint8_t qs[EDGE_QK_K / 2]; } edge_block_q5_K; // 176 B
// (256) 16 sub-blocks of 16 with int8 scales; 6-bit quants split in ql (low 4) and qh (high 2)
typedef struct { uint8_t ql[EDGE_QK_K / 2]; uint8_t qh[EDGE_QK_K / 4]; int8_t scales[EDGE_QK_K / 16]; edge_f16 d; } edge_block_q6_K; // 210 B
// (256) activation type for the K-quants: bsums[i] = sum of qs[16i ..< 16i+16]
typedef struct { float d; int8_t qs[EDGE_QK_K]; int16_t bsums[EDGE_QK_K / 16]; } edge_block_q8_K; // 292 B

// ---- conversions (exact IEEE round-to-nearest-even, identical to F16C hardware) ----
float edge_f16_to_f32(edge_f16 h);
edge_f16 edge_f32_to_f16(float f);
float edge_bf16_to_f32(edge_bf16 h);
edge_bf16 edge_f32_to_bf16(float f);  // round to nearest even, NaN kept quiet (as ggml)

// ---- type facts ----
// 1 if `type` is one of the weight types above that the kernels compute with.
int edge_type_supported(int type);
// Elements per block and bytes per block (1 and 4 for F32, etc.); 0 for unknown types.
int64_t edge_type_block_elems(int type);
int64_t edge_type_block_bytes(int type);
// The activation type that `weight_type`'s dot product consumes (see the comment at the top).
int edge_vec_dot_type(int weight_type);
// Bytes an activation row of n elements takes once quantized to edge_vec_dot_type(weight_type).
size_t edge_act_row_bytes(int weight_type, int64_t n);

// ---- scalar references (portable C; every SIMD variant is tested against these) ----
// Dequantize n elements (n a multiple of the block size) of `type` into dst. Returns 0, or -1 if
// the type is not supported.
int edge_dequantize_row_ref(int type, const void *src, float *dst, int64_t n);
// Round an F32 activation row to `act_type` (Q8_0, Q8_1, Q8_K, F16, BF16 or F32 = copy), exactly as
// llama.cpp's x86 CPU backend does. Returns 0, or -1 for an unknown act_type.
int edge_quantize_act_ref(int act_type, const float *x, void *y, int64_t n);
// Dot product of one weight row (type `weight_type`, n elements) with an activation row already in
// edge_vec_dot_type(weight_type).
float edge_vec_dot_ref(int weight_type, int64_t n, const void *w, const void *a);

// ---- dispatched kernels (best ISA available at run time: AVX-512 VNNI, AVX2, else reference) ----
enum edge_isa { EDGE_ISA_SCALAR = 0, EDGE_ISA_AVX2 = 1, EDGE_ISA_AVX512 = 2 };
// The best ISA this CPU supports.
int edge_isa_detect(void);
// The ISA the dispatched kernels use now; edge_isa_force selects another (clamped to what the CPU
// supports; returns the one selected). For tests and benchmarks, not for concurrent use with kernels.
int edge_isa_current(void);
int edge_isa_force(int isa);

// AMX (tile matrix multiply) for prompt processing: detected at run time, with the OS permission a
// process needs. No AMX kernel exists yet; the prompt path always uses the AVX-512/AVX2 kernels,
// which are also the fallback an AMX kernel would need. EDGE_AMX_ABSENT: the CPU lacks AMX-TILE or
// AMX-INT8; EDGE_AMX_OS_DISABLED: the CPU has it but the OS does not enable or grant the tile
// state; EDGE_AMX_USABLE: usable by this process (the permission request is made by this call).
enum edge_amx { EDGE_AMX_ABSENT = 0, EDGE_AMX_OS_DISABLED = 1, EDGE_AMX_USABLE = 2 };
int edge_amx_status(void);

int edge_quantize_act(int act_type, const float *x, void *y, int64_t n);
float edge_vec_dot(int weight_type, int64_t n, const void *w, const void *a);

// y[r - r0] = dot(W row r, a) for r in [r0, r1). W rows are `w_row_bytes` apart; `a` is one
// activation row in edge_vec_dot_type(weight_type). (generation: one token)
void edge_matvec(int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                 int64_t r0, int64_t r1, const void *a, float *y);
// For each weight row r in [r0, r1) and each activation row c in [0, ncols):
//   Y[c * y_stride + r] = dot(W row r, A row c)   (A rows `a_row_bytes` apart).
// Same per-element arithmetic as edge_matvec, so a batch gives bit-identical results however the
// rows are split into ranges. With 4 or more columns the ISA's tiled kernel runs when it has one
// (AVX-512: every quantized type except an odd count of 32-element blocks); it uses a per-thread
// scratch buffer of about (64 rows + 64 tokens) x n x 3 bytes, kept until the thread exits. (prompt)
void edge_matmul(int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                 int64_t r0, int64_t r1, const void *A, size_t a_row_bytes, int64_t ncols,
                 float *Y, int64_t y_stride);

#ifdef __cplusplus
}
#endif
