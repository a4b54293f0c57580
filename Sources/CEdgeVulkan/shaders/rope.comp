#version 450
#extension GL_GOOGLE_include_directive : require
// Rotary position embedding in place, as edge_op_rope: pair i of head h of token t; the angle is
// pos · base^(-2i/n_rot) by repeated multiplication (the reference's order), divided by the pair's
// frequency factor and scaled. neox: pairs (i, i + n_rot/2), else (2i, 2i + 1).
// Bindings: 0 activations, 1 positions (int), 2 frequency factors (floats, when push 8 is 1).
// Push: 0 x offset, 1 ntok, 2 heads, 3 head dim, 4 n_rot, 5 base, 6 freq scale, 7 neox, 8 has factors,
//       9 position offset.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Ab { float a[]; };
layout(std430, binding = 1) readonly buffer Pb { int pos[]; };
layout(std430, binding = 2) readonly buffer Fb { float ff[]; };
void main() {
    const uint half_ = pc.u[4] / 2u;
    const uint id = linearIndex();
    const uint i = id % half_, h = (id / half_) % pc.u[2], t = id / (half_ * pc.u[2]);
    if (t >= pc.u[1]) return;
    const float ts = pow(PF(5), -2.0 / float(pc.u[4]));
    float theta = float(pos[pc.u[9] + t]);
    for (uint k = 0; k < i; k++) theta *= ts;
    const float f = pc.u[8] != 0u ? ff[i] : 1.0;
    const float th = PF(6) * (theta / f);
    const float c = cos(th), s = sin(th);
    const uint base = pc.u[0] + (t * pc.u[2] + h) * pc.u[3];
    const uint i0 = pc.u[7] != 0u ? base + i : base + 2u * i;
    const uint i1 = pc.u[7] != 0u ? base + i + half_ : base + 2u * i + 1u;
    const float x0 = a[i0], x1 = a[i1];
    a[i0] = x0 * c - x1 * s;
    a[i1] = x0 * s + x1 * c;
}
