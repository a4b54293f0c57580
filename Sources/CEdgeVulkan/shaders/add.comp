#version 450
#extension GL_GOOGLE_include_directive : require
// into += from, element-wise. Binding 0 activations. Push: 0 into offset, 1 from offset, 2 count.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Ab { float a[]; };
void main() {
    const uint i = linearIndex();
    if (i < pc.u[2]) a[pc.u[0] + i] += a[pc.u[1] + i];
}
