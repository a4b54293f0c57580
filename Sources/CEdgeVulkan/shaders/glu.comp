#version 450
#extension GL_GOOGLE_include_directive : require
// gate = act(gate) · up, element-wise: SiLU (kind 0) or GELU, tanh form (kind 1), as edge_op_swiglu / edge_op_geglu.
// Binding 0 activations. Push: 0 gate offset, 1 up offset, 2 count, 3 kind.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Ab { float a[]; };
void main() {
    const uint i = linearIndex();
    if (i >= pc.u[2]) return;
    const float g = a[pc.u[0] + i], u = a[pc.u[1] + i];
    float r;
    if (pc.u[3] == 0u) {
        r = g / (1.0 + exp(-g));
    } else if (g <= -10.0) {
        r = 0.0;
    } else if (g >= 10.0) {
        r = g;
    } else {
        // As the CPU (ggml's GELU_FP16 table): g rounded to F16, GELU of it rounded to F16.
        const float h = unpackHalf2x16(packHalf2x16(vec2(g, 0.0))).x;
        r = unpackHalf2x16(packHalf2x16(vec2(0.5 * h * (1.0 + tanh(0.7978845608 * h * (1.0 + 0.044715 * h * h))), 0.0))).x;
    }
    a[pc.u[0] + i] = r * u;
}
