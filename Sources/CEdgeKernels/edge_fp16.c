// edge_fp16.c — IEEE half and bfloat16 <-> float conversions in portable C.
//
// f16: round to nearest, ties to even, in integer arithmetic, so the result does not depend on the
// FPU's rounding mode or on F16C being present. Matches VCVTPS2PH (imm 0) / VCVTPH2PS bit for bit,
// including subnormals, infinities and NaN (a NaN comes back quiet, payload kept where it fits),
// which Tests/EdgeKernelsTests/ReferenceConversionTests.swift checks exhaustively.
// bf16: as ggml's ggml_compute_fp32_to_bf16 (ggml/src/ggml-impl.h): NaN forced quiet by setting
// bit 6 of the bf16 pattern, everything else rounded to nearest even; subnormals are not flushed.
#include "edge_quant.h"
#include <string.h>

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float edge_f16_to_f32(edge_f16 h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) {
        // inf keeps its zero mantissa; a NaN gets the quiet bit (as VCVTPH2PS does).
        return bits_f32(sign | 0x7f800000u | (mant << 13) | (mant ? 0x00400000u : 0));
    }
    if (exp == 0) {
        if (mant == 0) return bits_f32(sign);
        // subnormal: value = mant * 2^-24; normalise so the leading 1 is at bit 10.
        int e = 0;
        do { mant <<= 1; e++; } while (!(mant & 0x400u));
        // now value = 1.xxx * 2^(-14 - e)
        return bits_f32(sign | ((uint32_t)(127 - 14 - e) << 23) | ((mant & 0x3ffu) << 13));
    }
    return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

edge_f16 edge_f32_to_f16(float f) {
    const uint32_t x = f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (edge_f16)(sign | 0x7e00u | ((ax & 0x7fffffu) >> 13));  // NaN: quiet, payload truncated
    if (ax >= 0x477ff000u) return (edge_f16)(sign | 0x7c00u);  // >= 65520 (halfway 65504..65536) or inf
    if (ax < 0x38800000u) {                                      // below 2^-14: subnormal half or zero
        if (ax <= 0x33000000u) return sign;                      // <= 2^-25 (a tie with 0 goes to even 0)
        const uint32_t e = ax >> 23;                             // 102 ... 112
        const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - e;                         // units of 2^-24: m * 2^(e - 126)
        uint32_t q = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u))) q++;        // may carry into the smallest normal
        return (edge_f16)(sign | q);
    }
    ax += 0x0fffu + ((ax >> 13) & 1u);                           // round the 13 dropped bits, ties to even
    return (edge_f16)(sign | ((ax - (112u << 23)) >> 13));
}

float edge_bf16_to_f32(edge_bf16 h) { return bits_f32((uint32_t)h << 16); }

edge_bf16 edge_f32_to_bf16(float f) {
    const uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (edge_bf16)((u >> 16) | 64u);
    return (edge_bf16)((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}
