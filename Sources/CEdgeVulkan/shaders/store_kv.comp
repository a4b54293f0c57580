#version 450
#extension GL_GOOGLE_include_directive : require
// K and V rows of ntok tokens into the F16 caches at slot pos % capacity, two values per word.
// Bindings: 0 activations, 1 K cache, 2 V cache (F16 pairs), 3 positions.
// Push: 0 k offset, 1 v offset, 2 kv dim, 3 ntok, 4 capacity (rows), 5 position offset.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer Ab { float a[]; };
layout(std430, binding = 1) buffer Kb { uint kc[]; };
layout(std430, binding = 2) buffer Vb { uint vc[]; };
layout(std430, binding = 3) readonly buffer Pb { int pos[]; };
void main() {
    const uint pairs = pc.u[2] / 2u;
    const uint id = linearIndex();
    const uint i = id % pairs, t = id / pairs;
    if (t >= pc.u[3]) return;
    const uint slot = uint(pos[pc.u[5] + t]) % pc.u[4];
    const uint k = pc.u[0] + t * pc.u[2] + 2u * i, v = pc.u[1] + t * pc.u[2] + 2u * i;
    kc[slot * pairs + i] = packHalf2x16(vec2(a[k], a[k + 1u]));
    vc[slot * pairs + i] = packHalf2x16(vec2(a[v], a[v + 1u]));
}
