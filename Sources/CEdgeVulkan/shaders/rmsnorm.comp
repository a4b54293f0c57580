#version 450
#extension GL_GOOGLE_include_directive : require
// out[r] = x[r] / sqrt(mean(x[r]²) + eps) * w, one workgroup per row (in place allowed).
// Bindings: 0 activations, 1 weights (floats). Push: 0 x offset, 1 w offset, 2 out offset, 3 width,
// 4 eps (float bits), 5 rows, 6 rows per grid line.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Ab { float a[]; };
layout(std430, binding = 1) readonly buffer Wb { float wt[]; };
shared float red[64];
void main() {
    const uint r = gl_WorkGroupID.x + gl_WorkGroupID.y * pc.u[6];
    const uint tid = gl_LocalInvocationID.x, n = pc.u[3];
    const bool live = r < pc.u[5];
    const uint xi = pc.u[0] + r * n, oi = pc.u[2] + r * n;
    float s = 0.0;
    if (live) for (uint i = tid; i < n; i += 64u) { const float v = a[xi + i]; s += v * v; }
    red[tid] = s;
    barrier();
    for (uint k = 32u; k > 0u; k >>= 1) { if (tid < k) red[tid] += red[tid + k]; barrier(); }
    const float scale = 1.0 / sqrt(red[0] / float(n) + PF(4));
    if (live) for (uint i = tid; i < n; i += 64u) a[oi + i] = (a[xi + i] * scale) * wt[pc.u[1] + i];
}
