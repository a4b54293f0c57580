#version 450
#extension GL_GOOGLE_include_directive : require
// y[r][i] += b[i] for rows r. Bindings: 0 activations, 1 weights (floats).
// Push: 0 y offset, 1 bias offset, 2 width, 3 rows.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Ab { float a[]; };
layout(std430, binding = 1) readonly buffer Wb { float wt[]; };
void main() {
    const uint i = linearIndex();
    if (i < pc.u[2] * pc.u[3]) a[pc.u[0] + i] += wt[pc.u[1] + i % pc.u[2]];
}
