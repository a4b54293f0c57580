// Shared by every kernel: the push constants (16 words; each kernel names its own), and the
// linear index of an invocation in a grid of (groups, 1 + groups / 65535) workgroups of 64.
layout(push_constant) uniform Push { uint u[16]; } pc;
#define PF(i) uintBitsToFloat(pc.u[i])

uint linearIndex() {
    return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
}
