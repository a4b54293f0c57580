// edge_types.c — block sizes and activation types of the ggml types edgert computes with.
// Sizes: ggml/src/ggml-common.h (block structs); activation types: the vec_dot_type column of
// ggml/src/ggml-cpu/ggml-cpu.c type_traits_cpu.
#include "edge_quant.h"

_Static_assert(sizeof(edge_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(edge_block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(edge_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(edge_block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(edge_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(edge_block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(edge_block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(edge_block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(edge_block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(edge_block_q8_K) == 292, "q8_K layout");
_Static_assert(sizeof(edge_block_q2_K) == 84, "q2_K layout");
_Static_assert(sizeof(edge_block_q3_K) == 110, "q3_K layout");
_Static_assert(sizeof(edge_block_iq4_nl) == 18, "iq4_nl layout");
_Static_assert(sizeof(edge_block_iq4_xs) == 136, "iq4_xs layout");

const int8_t edge_iq4_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

int edge_type_supported(int type) {
    switch (type) {
    case EDGE_TYPE_F32: case EDGE_TYPE_F16: case EDGE_TYPE_BF16:
    case EDGE_TYPE_Q4_0: case EDGE_TYPE_Q4_1: case EDGE_TYPE_Q5_0: case EDGE_TYPE_Q5_1:
    case EDGE_TYPE_Q8_0: case EDGE_TYPE_Q4_K: case EDGE_TYPE_Q5_K: case EDGE_TYPE_Q6_K:
    case EDGE_TYPE_Q2_K: case EDGE_TYPE_Q3_K: case EDGE_TYPE_IQ4_NL: case EDGE_TYPE_IQ4_XS:
        return 1;
    default:
        return 0;
    }
}

int64_t edge_type_block_elems(int type) {
    switch (type) {
    case EDGE_TYPE_F32: case EDGE_TYPE_F16: case EDGE_TYPE_BF16: return 1;
    case EDGE_TYPE_Q4_0: case EDGE_TYPE_Q4_1: case EDGE_TYPE_Q5_0: case EDGE_TYPE_Q5_1:
    case EDGE_TYPE_Q8_0: case EDGE_TYPE_Q8_1: case EDGE_TYPE_IQ4_NL: return EDGE_QK;
    case EDGE_TYPE_Q4_K: case EDGE_TYPE_Q5_K: case EDGE_TYPE_Q6_K: case EDGE_TYPE_Q8_K:
    case EDGE_TYPE_Q2_K: case EDGE_TYPE_Q3_K: case EDGE_TYPE_IQ4_XS: return EDGE_QK_K;
    default: return 0;
    }
}

int64_t edge_type_block_bytes(int type) {
    switch (type) {
    case EDGE_TYPE_F32: return 4;
    case EDGE_TYPE_F16: case EDGE_TYPE_BF16: return 2;
    case EDGE_TYPE_Q4_0: return sizeof(edge_block_q4_0);
    case EDGE_TYPE_Q4_1: return sizeof(edge_block_q4_1);
    case EDGE_TYPE_Q5_0: return sizeof(edge_block_q5_0);
    case EDGE_TYPE_Q5_1: return sizeof(edge_block_q5_1);
    case EDGE_TYPE_Q8_0: return sizeof(edge_block_q8_0);
    case EDGE_TYPE_Q8_1: return sizeof(edge_block_q8_1);
    case EDGE_TYPE_Q4_K: return sizeof(edge_block_q4_K);
    case EDGE_TYPE_Q5_K: return sizeof(edge_block_q5_K);
    case EDGE_TYPE_Q6_K: return sizeof(edge_block_q6_K);
    case EDGE_TYPE_Q8_K: return sizeof(edge_block_q8_K);
    case EDGE_TYPE_Q2_K: return sizeof(edge_block_q2_K);
    case EDGE_TYPE_Q3_K: return sizeof(edge_block_q3_K);
    case EDGE_TYPE_IQ4_NL: return sizeof(edge_block_iq4_nl);
    case EDGE_TYPE_IQ4_XS: return sizeof(edge_block_iq4_xs);
    default: return 0;
    }
}

int edge_vec_dot_type(int weight_type) {
    switch (weight_type) {
    case EDGE_TYPE_F32: return EDGE_TYPE_F32;
    case EDGE_TYPE_F16: return EDGE_TYPE_F16;
    case EDGE_TYPE_BF16: return EDGE_TYPE_BF16;
    case EDGE_TYPE_Q4_0: case EDGE_TYPE_Q5_0: case EDGE_TYPE_Q8_0: case EDGE_TYPE_IQ4_NL: return EDGE_TYPE_Q8_0;
    case EDGE_TYPE_Q4_1: case EDGE_TYPE_Q5_1: return EDGE_TYPE_Q8_1;
    case EDGE_TYPE_Q4_K: case EDGE_TYPE_Q5_K: case EDGE_TYPE_Q6_K:
    case EDGE_TYPE_Q2_K: case EDGE_TYPE_Q3_K: case EDGE_TYPE_IQ4_XS: return EDGE_TYPE_Q8_K;
    default: return -1;
    }
}

size_t edge_act_row_bytes(int weight_type, int64_t n) {
    const int act = edge_vec_dot_type(weight_type);
    if (act < 0 || n < 0) return 0;
    const int64_t be = edge_type_block_elems(act);
    return (size_t)((n + be - 1) / be * edge_type_block_bytes(act));
}
